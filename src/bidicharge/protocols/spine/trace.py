"""One-line summaries of SHIP/SPINE frames for the architecture's message traces.

``describe(frame)`` turns the bytes of one SHIP message into what a trace shows:
the SHIP message (``connectionHello ready``) or, for data, the SPINE classifier, function
and addresses (``write loadControlLimitListData [1]/1 -> [1]/2 #12``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bidicharge.protocols.ship import messages as m
from bidicharge.protocols.ship.errors import RemoteProtocolError as ShipError
from bidicharge.protocols.spine.errors import RemoteProtocolError as SpineError
from bidicharge.protocols.spine.model import Address, decode_datagram


@dataclass(frozen=True, slots=True, kw_only=True)
class TraceRecord:
    peer: str
    direction: str  # "rx" | "tx"
    protocol: str  # "SHIP" | "SPINE"
    message_type: str  # e.g. "connectionHello", "write loadControlLimitListData"
    summary: str
    now: float


Tracer = Callable[[TraceRecord], None]


def _addr(address: Address) -> str:
    return f"{list(address.entity)}/{address.feature}"


def describe(frame: bytes) -> tuple[str, str, str]:
    """(protocol, message type, summary) of one SHIP message; never raises."""
    try:
        message = m.decode(frame)
    except ShipError as exc:
        return "SHIP", "invalid", exc.reason
    if isinstance(message, m.Data):
        try:
            datagram = decode_datagram(message.payload)
        except SpineError as exc:
            return "SPINE", "invalid", exc.description
        header = datagram.header
        kind = f"{header.cmd_classifier.value} {datagram.cmd.function}"
        reference = "" if header.msg_counter_reference is None else f" ref {header.msg_counter_reference}"
        summary = (f"{kind} {_addr(header.address_source)} -> {_addr(header.address_destination)} "
                   f"#{header.msg_counter}{reference}" + (" partial" if datagram.cmd.partial else ""))
        return "SPINE", kind, summary
    name = type(message).__name__
    detail = ""
    if isinstance(message, m.ConnectionHello):
        detail = message.phase.value
    elif isinstance(message, m.ProtocolHandshake):
        detail = f"{message.handshake_type.value} {message.version_major}.{message.version_minor}"
    elif isinstance(message, m.ConnectionPinState):
        detail = message.pin_state.value
    elif isinstance(message, m.AccessMethods):
        detail = message.ship_id
    elif isinstance(message, m.ConnectionClose):
        detail = message.phase.value
    return "SHIP", name, f"{name} {detail}".strip()
