"""SHIP 1.0.1 (Smart Home IP, IEC 63380-2 transport of EEBUS): sans-I/O connection core.

Carries SPINE between HEMS, wallbox, control box and meter side (I-03, I-08, I-09, I-47).
The TLS/websocket/mDNS adapter lives in :mod:`bidicharge.transports.ship_websocket`.
"""

from bidicharge.architecture.registry import ProtocolSpec
from bidicharge.protocols.ship.connection import (
    TRANSITIONS,
    Closed,
    DataReceived,
    HandshakeComplete,
    MessageDropped,
    Role,
    ShipConfig,
    ShipConnection,
    ShipEvent,
    ShipState,
)
from bidicharge.protocols.ship.errors import CloseCode, LocalProtocolError, RemoteProtocolError
from bidicharge.protocols.ship.identity import Ski, normalise_ski, ski_of_certificate_der, ski_of_public_key

PROTOCOL = ProtocolSpec(
    name="SHIP 1.0.1",
    package=__name__,
    interfaces=("I-03", "I-08", "I-09", "I-47"),
    standard="EEBUS SHIP Specification 1.0.1 (IEC 63380-2)",
)

__all__ = [
    "PROTOCOL", "TRANSITIONS", "CloseCode", "Closed", "DataReceived", "HandshakeComplete",
    "LocalProtocolError", "MessageDropped", "RemoteProtocolError", "Role", "ShipConfig",
    "ShipConnection", "ShipEvent", "ShipState", "Ski", "normalise_ski", "ski_of_certificate_der",
    "ski_of_public_key",
]
