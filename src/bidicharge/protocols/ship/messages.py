"""SHIP messages and their framing (SHIP 1.0.1 clauses 13.4.3–13.4.7).

A SHIP message is one websocket binary message: one *type byte* followed by the body.
Type 0 is the Connection Mode Initialisation (CMI, body ``00``), 1 a control message,
2 a data message, 3 the connection close ("end"). Control/data/end bodies are
EEBUS-JSON (UTF-8). ship-go strips trailing NUL bytes because one device appends one;
we do the same on input.

Wire names are written out per field below; nothing is computed from Python names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import Any, Final, TypeAlias

from bidicharge.protocols.ship import eebus_json
from bidicharge.protocols.ship.eebus_json import JsonObject
from bidicharge.protocols.ship.errors import CloseCode, RemoteProtocolError

SHIP_PROTOCOL_ID: Final = "ee1.0"
FORMAT_JSON_UTF8: Final = "JSON-UTF8"
CMI_BODY: Final = b"\x00"
MAX_MESSAGE_BYTES: Final = 1 << 20  # our own bound; SHIP sets none, eebus devices send > 4 kB


class MessageType(IntEnum):
    INIT = 0
    CONTROL = 1
    DATA = 2
    END = 3


class HelloPhase(Enum):
    READY = "ready"
    PENDING = "pending"
    ABORTED = "aborted"


class HandshakeType(Enum):
    ANNOUNCE_MAX = "announceMax"
    SELECT = "select"


class PinState(Enum):
    REQUIRED = "required"
    OPTIONAL = "optional"
    PIN_OK = "pinOk"
    NONE = "none"


class PinInputPermission(Enum):
    BUSY = "busy"
    OK = "ok"


class ClosePhase(Enum):
    ANNOUNCE = "announce"
    CONFIRM = "confirm"


class CloseReason(Enum):
    UNSPECIFIC = "unspecific"
    REMOVED_CONNECTION = "removedConnection"


@dataclass(frozen=True, slots=True, kw_only=True)
class Cmi:
    """Connection Mode Initialisation (13.4.3): ``00 00``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionHello:
    phase: HelloPhase
    waiting_ms: int | None = None
    prolongation_request: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ProtocolHandshake:
    handshake_type: HandshakeType
    version_major: int = 1
    version_minor: int = 0
    formats: tuple[str, ...] = (FORMAT_JSON_UTF8,)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProtocolHandshakeError:
    error: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionPinState:
    pin_state: PinState
    input_permission: PinInputPermission | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionPinInput:
    pin: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionPinError:
    error: int  # 1 = wrong PIN (13.4.4.3.5.2)


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessMethodsRequest:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessMethods:
    ship_id: str
    dns_sd_mdns: bool = False
    dns_uri: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Data:
    """A data message; ``payload`` is plain JSON of the carried protocol (SPINE datagram)."""

    payload: JsonObject = field(hash=False)
    protocol_id: str = SHIP_PROTOCOL_ID


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionClose:
    phase: ClosePhase
    max_time_ms: int | None = None
    reason: CloseReason | None = None


ShipMessage: TypeAlias = (Cmi | ConnectionHello | ProtocolHandshake | ProtocolHandshakeError
                          | ConnectionPinState | ConnectionPinInput | ConnectionPinError
                          | AccessMethodsRequest | AccessMethods | Data | ConnectionClose)


# --- encoding ------------------------------------------------------------------------

def _control_plain(message: ShipMessage) -> JsonObject:
    if isinstance(message, ConnectionHello):
        body: JsonObject = {"phase": message.phase.value}
        if message.waiting_ms is not None:
            body["waiting"] = message.waiting_ms
        if message.prolongation_request is not None:
            body["prolongationRequest"] = message.prolongation_request
        return {"connectionHello": body}
    if isinstance(message, ProtocolHandshake):
        return {"messageProtocolHandshake": {
            "handshakeType": message.handshake_type.value,
            "version": {"major": message.version_major, "minor": message.version_minor},
            "formats": {"format": list(message.formats)},
        }}
    if isinstance(message, ProtocolHandshakeError):
        return {"messageProtocolHandshakeError": {"error": message.error}}
    if isinstance(message, ConnectionPinState):
        pin: JsonObject = {"pinState": message.pin_state.value}
        if message.input_permission is not None:
            pin["inputPermission"] = message.input_permission.value
        return {"connectionPinState": pin}
    if isinstance(message, ConnectionPinInput):
        return {"connectionPinInput": {"pin": message.pin}}
    if isinstance(message, ConnectionPinError):
        return {"connectionPinError": {"error": message.error}}
    if isinstance(message, AccessMethodsRequest):
        return {"accessMethodsRequest": {}}
    if isinstance(message, AccessMethods):
        methods: JsonObject = {"id": message.ship_id}
        if message.dns_sd_mdns:
            methods["dnsSd_mDns"] = {}
        if message.dns_uri is not None:
            methods["dns"] = {"uri": message.dns_uri}
        return {"accessMethods": methods}
    if isinstance(message, ConnectionClose):
        close: JsonObject = {"phase": message.phase.value}
        if message.max_time_ms is not None:
            close["maxTime"] = message.max_time_ms
        if message.reason is not None:
            close["reason"] = message.reason.value
        return {"connectionClose": close}
    raise TypeError(f"not a control message: {message!r}")


def encode_json(message: ShipMessage) -> str:
    """The EEBUS-JSON body of a control, data or end message."""
    if isinstance(message, Data):
        # SHIP 13.4.5.2: the payload value is the carried document itself, not an array.
        header: list[Any] = [{"header": [{"protocolId": message.protocol_id}]}]
        wire = {"data": [*header, {"payload": eebus_json.document_from_plain(message.payload)}]}
        return eebus_json.dumps(wire)
    return eebus_json.encode_document(_control_plain(message))


def message_type(message: ShipMessage) -> MessageType:
    if isinstance(message, Cmi):
        return MessageType.INIT
    if isinstance(message, Data):
        return MessageType.DATA
    if isinstance(message, ConnectionClose):
        return MessageType.END
    return MessageType.CONTROL


def encode(message: ShipMessage) -> bytes:
    """One SHIP message as the bytes of one websocket binary message."""
    if isinstance(message, Cmi):
        return bytes([MessageType.INIT]) + CMI_BODY
    return bytes([message_type(message)]) + encode_json(message).encode("utf-8")


# --- decoding ------------------------------------------------------------------------

def _field(body: JsonObject, name: str, kind: type | tuple[type, ...], *, required: bool = True) -> Any:
    if name not in body:
        if required:
            raise RemoteProtocolError(f"SHIP field {name!r} missing")
        return None
    value = body[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise RemoteProtocolError(f"SHIP field {name!r} has the wrong type")
    return value


def _enum(enum: type[Any], raw: object) -> Any:
    try:
        return enum(raw)
    except ValueError:
        raise RemoteProtocolError(f"SHIP value {raw!r} is not a {enum.__name__}") from None


def _decode_hello(body: JsonObject) -> ConnectionHello:
    return ConnectionHello(phase=_enum(HelloPhase, _field(body, "phase", str)),
                           waiting_ms=_field(body, "waiting", int, required=False),
                           prolongation_request=_field(body, "prolongationRequest", bool, required=False))


def _decode_handshake(body: JsonObject) -> ProtocolHandshake:
    version = _field(body, "version", dict)
    formats = _field(body, "formats", dict)
    names = _field(formats, "format", (list, str))
    if isinstance(names, str):  # a one-element list may arrive as a bare string from lax peers
        names = [names]
    return ProtocolHandshake(handshake_type=_enum(HandshakeType, _field(body, "handshakeType", str)),
                             version_major=_field(version, "major", int),
                             version_minor=_field(version, "minor", int),
                             formats=tuple(str(name) for name in names))


def _decode_pin_state(body: JsonObject) -> ConnectionPinState:
    permission = _field(body, "inputPermission", str, required=False)
    return ConnectionPinState(
        pin_state=_enum(PinState, _field(body, "pinState", str)),
        input_permission=None if permission is None else _enum(PinInputPermission, permission))


def _decode_access_methods(body: JsonObject) -> AccessMethods:
    dns = _field(body, "dns", dict, required=False)
    return AccessMethods(ship_id=_field(body, "id", str), dns_sd_mdns="dnsSd_mDns" in body,
                         dns_uri=None if dns is None else _field(dns, "uri", str, required=False))


def _decode_close(body: JsonObject) -> ConnectionClose:
    reason = _field(body, "reason", str, required=False)
    return ConnectionClose(phase=_enum(ClosePhase, _field(body, "phase", str)),
                           max_time_ms=_field(body, "maxTime", int, required=False),
                           reason=None if reason is None else _enum(CloseReason, reason))


def _decode_data(body: JsonObject) -> Data:
    header = _field(body, "header", dict)
    payload = _field(body, "payload", dict)
    return Data(protocol_id=_field(header, "protocolId", str), payload=payload)


_CONTROL_DECODERS: Final[dict[str, Callable[[JsonObject], ShipMessage]]] = {
    "connectionHello": _decode_hello,
    "messageProtocolHandshake": _decode_handshake,
    "messageProtocolHandshakeError": lambda b: ProtocolHandshakeError(error=_field(b, "error", int)),
    "connectionPinState": _decode_pin_state,
    "connectionPinInput": lambda b: ConnectionPinInput(pin=_field(b, "pin", str)),
    "connectionPinError": lambda b: ConnectionPinError(error=_field(b, "error", int)),
    "accessMethodsRequest": lambda b: AccessMethodsRequest(),
    "accessMethods": _decode_access_methods,
}
_ALLOWED_KEYS: Final = {
    MessageType.CONTROL: frozenset(_CONTROL_DECODERS),
    MessageType.DATA: frozenset({"data"}),
    MessageType.END: frozenset({"connectionClose"}),
}


def decode(frame: bytes) -> ShipMessage:
    """Bytes of one websocket message -> SHIP message; raises :class:`RemoteProtocolError`."""
    if len(frame) > MAX_MESSAGE_BYTES:
        raise RemoteProtocolError("SHIP message too big", close_code=CloseCode.MESSAGE_TOO_BIG)
    if len(frame) < 2:
        raise RemoteProtocolError("SHIP message shorter than 2 bytes")
    try:
        kind = MessageType(frame[0])
    except ValueError:
        raise RemoteProtocolError(f"unknown SHIP message type {frame[0]}") from None
    if kind is MessageType.INIT:
        if frame[1:] != CMI_BODY:
            raise RemoteProtocolError("CMI body must be 0x00")
        return Cmi()
    body = frame[1:].rstrip(b"\x00")
    try:
        document = eebus_json.decode_document(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise RemoteProtocolError("SHIP message is not UTF-8") from None
    ((key, value),) = document.items()
    if key not in _ALLOWED_KEYS[kind]:
        raise RemoteProtocolError(f"unknown SHIP message {key!r} for type {kind.name}")
    if not isinstance(value, dict):
        raise RemoteProtocolError(f"SHIP message {key!r} must be an object")
    if kind is MessageType.DATA:
        return _decode_data(value)
    if kind is MessageType.END:
        return _decode_close(value)
    decoded: ShipMessage = _CONTROL_DECODERS[key](value)
    return decoded
