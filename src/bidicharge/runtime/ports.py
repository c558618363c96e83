"""Ports and links: how components declare and use the catalogue's interfaces.

A component class declares `Port`s by catalogue interface id: the ones it *provides*
(others may connect to them) and the ones it *requires* (it connects to a peer's provided
port). The scenario wires a requiring port to `peer.port`; wiring is checked before start.

A `Link` is one wired connection. Messages on it are recorded in the trace. Until a
protocol issue lands, a link carries its messages in memory (`protocol="in-memory"`); the
protocol name on the port says what is on the wire when it has landed. Physical links
(`protocol="electrical"`) carry power flows, which are time series, not messages, and are
not traced.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bidicharge.runtime.trace import TraceRecorder

if TYPE_CHECKING:
    from bidicharge.runtime.component import Component

ELECTRICAL = "electrical"


class Direction(enum.Enum):
    PROVIDES = "provides"
    REQUIRES = "requires"


@dataclass(frozen=True, slots=True, kw_only=True)
class Port:
    name: str
    interface: str  # catalogue id, e.g. "I-03"
    direction: Direction
    protocol: str  # what carries it today: "in-memory", "electrical", "OCPP 2.1", …
    wire_protocol: str = ""  # the standard the seed names, when `protocol` is not it yet
    many: bool = False  # a requiring port that takes a list of peers
    optional: bool = False  # a requiring port that may stay unconnected
    one_of: str = ""  # requiring ports sharing this group name: exactly one of them is connected
    description: str = ""


def provides(name: str, interface: str, protocol: str, **kw: Any) -> Port:
    return Port(name=name, interface=interface, direction=Direction.PROVIDES, protocol=protocol, **kw)


def requires(name: str, interface: str, protocol: str, **kw: Any) -> Port:
    return Port(name=name, interface=interface, direction=Direction.REQUIRES, protocol=protocol, **kw)


class Link:
    """One wired connection from a requiring port to a peer's providing port."""

    __slots__ = ("interface", "local", "local_port", "peer", "peer_port", "protocol", "_trace")

    def __init__(
        self,
        *,
        local: Component,
        local_port: Port,
        peer: Component,
        peer_port: Port,
        trace: TraceRecorder,
    ) -> None:
        self.interface = local_port.interface
        self.local = local
        self.local_port = local_port
        self.peer = peer
        self.peer_port = peer_port
        self.protocol = local_port.protocol
        self._trace = trace

    @property
    def traced(self) -> bool:
        return self.protocol != ELECTRICAL and self._trace.enabled

    def request(self, message: object) -> Any:
        """Send `message` to the peer's port and return its answer; both are traced."""
        now = self.local.now
        traced = self.traced
        if traced:
            self._trace.record(
                time_s=now,
                interface=self.interface,
                source=self.local.name,
                target=self.peer.name,
                protocol=self.protocol,
                message=type(message).__name__,
                payload=message,
            )
        answer = self.peer.handle(self.peer_port.name, message, self)
        if traced and answer is not None:
            self._trace.record(
                time_s=now,
                interface=self.interface,
                source=self.peer.name,
                target=self.local.name,
                protocol=self.protocol,
                message=type(answer).__name__,
                payload=answer,
            )
        return answer

    def __repr__(self) -> str:
        return f"Link({self.local.name}.{self.local_port.name} -> {self.peer.name}.{self.peer_port.name} [{self.interface}])"
