"""OCPP-J 2.0.1 and 2.1 (I-04 EVSE–CPO backend, I-05 EVSE–EVSE backend, I-14 aggregator–CPO).

Sans-I/O: ``rpc.RpcConnection`` frames CALL/CALLRESULT/CALLERROR and 2.1's SEND and
CALLRESULTERROR; ``connection.OcppConnection`` adds schema validation (fastjsonschema) and the
typed message classes generated from the official schemas (``v2_0_1``, ``v2_1``);
``router.Router`` maps request classes to handlers. The asyncio WebSocket adapter lives in
``bidicharge.transports.ocpp_websocket``.
"""

from bidicharge.architecture.registry import ProtocolSpec

from ._generated import v2_0_1, v2_1
from .connection import (
    CallFailed,
    MessageReceived,
    OcppConnection,
    OcppEvent,
    RequestReceived,
    ResponseReceived,
    ResponseRejected,
)
from .errors import CallErrorReply, ErrorCode, LocalProtocolError, OcppError, RemoteProtocolError
from .ids import counter_ids
from .router import Router
from .rpc import FloodLimit, MessageType, RpcConnection
from .versions import OcppVersion, action_table

PROTOCOL = ProtocolSpec(
    name="OCPP-J 2.0.1/2.1",
    package=__name__,
    interfaces=("I-04", "I-05", "I-14"),
    standard="OCPP 2.0.1 and OCPP 2.1 Edition 1, Part 4 (OCPP-J) and Part 2 (messages, JSON schemas)",
)

__all__ = [
    "PROTOCOL",
    "CallErrorReply",
    "CallFailed",
    "ErrorCode",
    "FloodLimit",
    "LocalProtocolError",
    "MessageReceived",
    "MessageType",
    "OcppConnection",
    "OcppError",
    "OcppEvent",
    "OcppVersion",
    "RemoteProtocolError",
    "RequestReceived",
    "ResponseReceived",
    "ResponseRejected",
    "Router",
    "RpcConnection",
    "action_table",
    "counter_ids",
    "v2_0_1",
    "v2_1",
]
