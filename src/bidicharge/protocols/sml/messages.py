"""SML messages carried by a meter's push telegram (SML 1.04 clauses 5.1, 7.2, 7.3).

A meter on the LMN or INFO interface sends a file of three messages:
`SML_PublicOpen.Res`, `SML_GetList.Res` with its current values (OBIS, unit, scaler,
value) and `SML_PublicClose.Res`. Each message is the list
`[transactionId, groupNo, abortOnError, messageBody, crc16, endOfSmlMsg]`, where the body
is a choice `[tag, content]` and the CRC16 covers the message from its first byte up to
the CRC field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, TypeAlias

from . import tlv
from .crc import crc16_x25
from .errors import LocalProtocolError, RemoteProtocolError
from .obis import Obis
from .tlv import Node, SInt, UInt

TAG_PUBLIC_OPEN_RES: Final = 0x0101
TAG_PUBLIC_CLOSE_RES: Final = 0x0201
TAG_GET_LIST_RES: Final = 0x0701


@dataclass(frozen=True, slots=True, kw_only=True)
class SecIndex:
    """SML_Time choice 1: seconds since the meter was commissioned."""

    seconds: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Timestamp:
    """SML_Time choice 2: UTC seconds since 1970-01-01."""

    unix_s: int


SmlTime: TypeAlias = SecIndex | Timestamp
Value: TypeAlias = int | bytes | bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PublicOpenRes:
    req_file_id: bytes
    server_id: bytes
    codepage: bytes | None = None
    client_id: bytes | None = None
    ref_time: SmlTime | None = None
    sml_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PublicCloseRes:
    global_signature: bytes | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ListEntry:
    """One value of SML_GetList.Res: `value × 10**scaler` in `unit` (a DLMS unit code)."""

    obj_name: Obis
    value: Value
    status: int | None = None
    val_time: SmlTime | None = None
    unit: int | None = None
    scaler: int | None = None
    value_signature: bytes | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GetListRes:
    server_id: bytes
    val_list: tuple[ListEntry, ...]
    client_id: bytes | None = None
    list_name: Obis | None = None
    act_sensor_time: SmlTime | None = None
    list_signature: bytes | None = None
    act_gateway_time: SmlTime | None = None


Body: TypeAlias = PublicOpenRes | PublicCloseRes | GetListRes


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    transaction_id: bytes
    body: Body
    group_no: int = 0
    abort_on_error: int = 0


# ---------------------------------------------------------------- encoding


def _time(value: SmlTime | None) -> Node:
    if value is None:
        return None
    if isinstance(value, SecIndex):
        return (UInt(1, 1), UInt(value.seconds, 4))
    return (UInt(2, 1), UInt(value.unix_s, 4))


def _opt_uint(value: int | None, size: int) -> Node:
    return None if value is None else UInt(value, size)


def _value(value: Value) -> Node:
    if isinstance(value, bool | bytes):
        return value
    # Meters send register values as signed integers of the smallest width (EMH, ISKRA):
    # 16.7.0 is negative when exporting.
    return SInt(value)


def _body(body: Body) -> tuple[int, Node]:
    if isinstance(body, PublicOpenRes):
        content: Node = (
            body.codepage,
            body.client_id,
            body.req_file_id,
            body.server_id,
            _time(body.ref_time),
            _opt_uint(body.sml_version, 1),
        )
        return TAG_PUBLIC_OPEN_RES, content
    if isinstance(body, PublicCloseRes):
        return TAG_PUBLIC_CLOSE_RES, (body.global_signature,)
    entries = tuple(
        (
            entry.obj_name.to_bytes(),
            None if entry.status is None else UInt(entry.status),
            _time(entry.val_time),
            _opt_uint(entry.unit, 1),
            None if entry.scaler is None else SInt(entry.scaler, 1),
            _value(entry.value),
            entry.value_signature,
        )
        for entry in body.val_list
    )
    content = (
        body.client_id,
        body.server_id,
        None if body.list_name is None else body.list_name.to_bytes(),
        _time(body.act_sensor_time),
        entries,
        body.list_signature,
        _time(body.act_gateway_time),
    )
    return TAG_GET_LIST_RES, content


def encode_message(message: Message) -> bytes:
    """One SML message with its CRC16 and end-of-message byte (SML 1.04 clause 5.1)."""
    if not message.transaction_id:
        raise LocalProtocolError("an SML transactionId must not be empty")
    tag, content = _body(message.body)
    head = tlv.encode(
        (
            message.transaction_id,
            UInt(message.group_no, 1),
            UInt(message.abort_on_error, 1),
            (UInt(tag, 2), content),
        )
    )
    # The list TL announces six elements; the CRC covers everything before the CRC field.
    head = b"\x76" + head[1:]
    return head + b"\x63" + crc16_x25(head).to_bytes(2, "little") + tlv.END_OF_MESSAGE


# ---------------------------------------------------------------- decoding


def _fields(node: Node, count: int, what: str) -> tuple[Node, ...]:
    if not isinstance(node, tuple) or len(node) != count:
        raise RemoteProtocolError(f"{what} must be a list of {count} elements")
    return node


def _octets(node: Node, what: str, *, optional: bool = False) -> bytes | None:
    if node is None and optional:
        return None
    if node is None:
        return b""
    if not isinstance(node, bytes):
        raise RemoteProtocolError(f"{what} must be an octet string")
    return node


def _req_octets(node: Node, what: str) -> bytes:
    value = _octets(node, what)
    assert value is not None
    return value


def _unsigned(node: Node, what: str, *, optional: bool = False) -> int | None:
    if node is None and optional:
        return None
    if not isinstance(node, UInt):
        raise RemoteProtocolError(f"{what} must be an unsigned integer")
    return node.value


def _req_unsigned(node: Node, what: str) -> int:
    value = _unsigned(node, what)
    assert value is not None
    return value


def _decode_time(node: Node) -> SmlTime | None:
    if node is None:
        return None
    choice, value = _fields(node, 2, "SML_Time")
    kind = _req_unsigned(choice, "SML_Time choice")
    if kind == 1:
        return SecIndex(seconds=_req_unsigned(value, "secIndex"))
    if kind == 2:
        return Timestamp(unix_s=_req_unsigned(value, "timestamp"))
    raise RemoteProtocolError(f"unsupported SML_Time choice {kind}")


def _decode_obis(node: Node, what: str) -> Obis:
    raw = _req_octets(node, what)
    if len(raw) != 6:
        raise RemoteProtocolError(f"{what} must be a 6-byte OBIS code, got {len(raw)} bytes")
    return Obis.from_bytes(raw)


def _decode_value(node: Node) -> Value:
    if isinstance(node, SInt | UInt):
        return node.value
    if isinstance(node, bool | bytes):
        return node
    if node is None:
        return b""
    raise RemoteProtocolError("SML_Value must be a scalar")


def _decode_entry(node: Node) -> ListEntry:
    name, status, val_time, unit, scaler, value, signature = _fields(node, 7, "SML_ListEntry")
    if scaler is not None and not isinstance(scaler, SInt):
        raise RemoteProtocolError("scaler must be a signed integer")
    return ListEntry(
        obj_name=_decode_obis(name, "objName"),
        status=_unsigned(status, "status", optional=True),
        val_time=_decode_time(val_time),
        unit=_unsigned(unit, "unit", optional=True),
        scaler=None if scaler is None else scaler.value,
        value=_decode_value(value),
        value_signature=_octets(signature, "valueSignature", optional=True),
    )


def _decode_body(tag: int, content: Node) -> Body:
    if tag == TAG_PUBLIC_OPEN_RES:
        codepage, client, file_id, server, ref_time, version = _fields(content, 6, "PublicOpen.Res")
        return PublicOpenRes(
            codepage=_octets(codepage, "codepage", optional=True),
            client_id=_octets(client, "clientId", optional=True),
            req_file_id=_req_octets(file_id, "reqFileId"),
            server_id=_req_octets(server, "serverId"),
            ref_time=_decode_time(ref_time),
            sml_version=_unsigned(version, "smlVersion", optional=True),
        )
    if tag == TAG_PUBLIC_CLOSE_RES:
        (signature,) = _fields(content, 1, "PublicClose.Res")
        return PublicCloseRes(global_signature=_octets(signature, "globalSignature", optional=True))
    if tag == TAG_GET_LIST_RES:
        client, server, name, sensor, values, signature, gateway = _fields(content, 7, "GetList.Res")
        if not isinstance(values, tuple):
            raise RemoteProtocolError("valList must be a list")
        return GetListRes(
            client_id=_octets(client, "clientId", optional=True),
            server_id=_req_octets(server, "serverId"),
            list_name=None if name is None else _decode_obis(name, "listName"),
            act_sensor_time=_decode_time(sensor),
            val_list=tuple(_decode_entry(entry) for entry in values),
            list_signature=_octets(signature, "listSignature", optional=True),
            act_gateway_time=_decode_time(gateway),
        )
    raise RemoteProtocolError(f"unsupported SML message body 0x{tag:04x}")


def decode_message(data: bytes, pos: int = 0) -> tuple[Message, int]:
    """Decode the message at `pos` and check its CRC; returns it and the position after it."""
    if data[pos : pos + 1] != b"\x76":
        raise RemoteProtocolError("SML message must start with a 6-element list (0x76)", offset=pos)
    reader_pos = pos + 1
    items: list[Node] = []
    for _ in range(4):
        node, reader_pos = tlv.decode(data, reader_pos)
        items.append(node)
    crc_end = reader_pos
    crc_node, reader_pos = tlv.decode(data, reader_pos)
    if data[reader_pos : reader_pos + 1] != tlv.END_OF_MESSAGE:
        raise RemoteProtocolError("SML message does not end with 0x00", offset=reader_pos)
    # Unsigned16; a few meters drop a leading zero byte, which libsml and pysml accept too.
    if not isinstance(crc_node, UInt) or crc_node.size > 2:
        raise RemoteProtocolError("SML message CRC must be an Unsigned16", offset=crc_end)
    expected = crc16_x25(data[pos:crc_end])
    if int.from_bytes(crc_node.value.to_bytes(2, "big"), "little") != expected:
        raise RemoteProtocolError("SML message CRC16 mismatch", offset=crc_end)
    transaction_id, group_no, abort_on_error, body = items
    tag_node, content = _fields(body, 2, "SML_MessageBody")
    message = Message(
        transaction_id=_req_octets(transaction_id, "transactionId"),
        group_no=_req_unsigned(group_no, "groupNo"),
        abort_on_error=_req_unsigned(abort_on_error, "abortOnError"),
        body=_decode_body(_req_unsigned(tag_node, "message tag"), content),
    )
    return message, reader_pos + 1
