"""SPINE over SHIP: one local SPINE node and its SHIP connections, still sans-I/O.

The transport gives each accepted or dialled websocket a peer id (the peer's SKI) and
moves bytes; this class runs the SHIP handshake per connection, starts SPINE discovery
when a connection reaches the data phase (SHIP 13.4.6: SPINE only after access methods),
and routes datagrams between the node and the right connection. A broken or closed
connection only removes that peer; the node and the other connections go on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from bidicharge.protocols.ship.connection import (
    Closed,
    DataReceived,
    HandshakeComplete,
    MessageDropped,
    Role,
    ShipConfig,
    ShipConnection,
)
from bidicharge.protocols.ship.errors import CloseCode
from bidicharge.protocols.spine.node import SpineNode
from bidicharge.protocols.spine.trace import Tracer, TraceRecord, describe


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerConnected:
    peer: str
    remote_ship_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerDisconnected:
    peer: str
    close_code: CloseCode
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ShipMessageDropped:
    peer: str
    reason: str


StackEvent = PeerConnected | PeerDisconnected | ShipMessageDropped


class EebusStack:
    """A SPINE node reachable over any number of SHIP connections."""

    def __init__(self, node: SpineNode, *, local_ship_id: str, tracer: Tracer | None = None) -> None:
        self.node = node
        self.local_ship_id = local_ship_id
        self.tracer = tracer  # every frame in and out, summarised (architecture traces)
        self._now = 0.0
        self.connections: dict[str, ShipConnection] = {}
        self._events: list[StackEvent] = []

    def open(self, peer: str, role: Role, now: float, *, trusted: bool,
             expected_remote_ship_id: str | None = None, local_pin: str | None = None,
             remote_pin: str | None = None) -> ShipConnection:
        """A websocket to ``peer`` is up: start SHIP on it."""
        config = ShipConfig(local_ship_id=self.local_ship_id, trusted=trusted,
                            expected_remote_ship_id=expected_remote_ship_id,
                            local_pin=local_pin, remote_pin=remote_pin)
        connection = ShipConnection(role, config)
        self.connections[peer] = connection
        self._now = now
        connection.start(now)
        return connection

    def receive_bytes(self, peer: str, frame: bytes, now: float) -> None:
        connection = self.connections.get(peer)
        if connection is None:
            return
        self._now = now
        self._trace(peer, "rx", frame)
        connection.receive_bytes(frame, now)
        self._drain(peer, connection, now)

    def connection_lost(self, peer: str, reason: str = "connection lost") -> None:
        """The websocket is gone (closed by us after PeerDisconnected, or dropped)."""
        connection = self.connections.pop(peer, None)
        if connection is not None and not connection.closed:
            self.node.disconnect(peer)
            self._events.append(PeerDisconnected(peer=peer, close_code=CloseCode.PROTOCOL_ERROR, reason=reason))

    def close(self, peer: str, now: float) -> None:
        connection = self.connections.get(peer)
        if connection is not None:
            connection.close(now)

    def approve(self, peer: str, now: float) -> None:
        """The user paired the pending peer (hello ``pending`` -> ``ready``)."""
        connection = self.connections.get(peer)
        if connection is not None:
            connection.approve(now)
            self._drain(peer, connection, now)

    def handle_timeout(self, now: float) -> None:
        self._now = now
        for peer, connection in list(self.connections.items()):
            deadline = connection.next_deadline()
            if deadline is not None and deadline <= now:
                connection.handle_timeout(now)
                self._drain(peer, connection, now)
        deadline = self.node.next_deadline()
        if deadline is not None and deadline <= now:
            self.node.handle_timeout(now)

    def next_deadline(self) -> float | None:
        times = [c.next_deadline() for c in self.connections.values()] + [self.node.next_deadline()]
        present = [t for t in times if t is not None]
        return min(present) if present else None

    def bytes_to_send(self) -> list[tuple[str, bytes]]:
        """Frames per peer, after routing everything the node wants to send."""
        for peer, document in self.node.datagrams_to_send():
            connection = self.connections.get(peer)
            if connection is not None and not connection.closed:
                connection.send_data(document)
        out: list[tuple[str, bytes]] = []
        for peer, connection in list(self.connections.items()):
            for frame in connection.data_to_send():
                self._trace(peer, "tx", frame)
                out.append((peer, frame))
        return out

    def _trace(self, peer: str, direction: str, frame: bytes) -> None:
        if self.tracer is not None:
            protocol, kind, summary = describe(frame)
            self.tracer(TraceRecord(peer=peer, direction=direction, protocol=protocol, message_type=kind,
                                    summary=summary, now=max(self._now, self.node.now)))

    def events(self) -> Iterator[StackEvent]:
        while self._events:
            yield self._events.pop(0)

    def _drain(self, peer: str, connection: ShipConnection, now: float) -> None:
        for event in connection.events():
            if isinstance(event, HandshakeComplete):
                self._events.append(PeerConnected(peer=peer, remote_ship_id=event.remote_ship_id))
                self.node.connect(peer, now)
            elif isinstance(event, DataReceived):
                self.node.receive(peer, event.payload, now)
            elif isinstance(event, MessageDropped):
                self._events.append(ShipMessageDropped(peer=peer, reason=event.reason))
            elif isinstance(event, Closed):
                self.node.disconnect(peer)
                self._events.append(PeerDisconnected(peer=peer, close_code=event.close_code, reason=event.reason))
