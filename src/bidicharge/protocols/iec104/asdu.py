"""Application service data units (ASDU) of IEC 60870-5-101 clause 7 as used by -104.

Layout over TCP (IEC 60870-5-104 clause 9: COT 2 octets, common address 2 octets,
information object address 3 octets, all little-endian)::

    type id (1) | VSQ: SQ bit 7, number of objects 0..127 (1)
    | COT: cause bits 0-5, P/N bit 6, T bit 7 (1) | originator address (1)
    | common address (2) | objects: IOA (3) + elements [+ CP56Time2a], IOA only once if SQ = 1

Each supported type identification has one row in :data:`.elements.ELEMENT_CODECS`; a type id
without a row is answered with a mirror carrying cause 44 (7.2.3, "unknown type
identification"), which :func:`decode_asdu` hands over inside the error.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from .codes import Cause, TypeId
from .cp56time import CP56_SIZE, Cp56Time2a
from .elements import ELEMENT_CODECS
from .errors import LocalProtocolError, RemoteProtocolError
from .objects import InformationObject

HEADER_SIZE: Final = 6
IOA_SIZE: Final = 3
#: An APDU is at most 255 octets: start, length, four control octets, ASDU (104 5.1).
MAX_ASDU_SIZE: Final = 249
PN_BIT: Final = 0x40
TEST_BIT: Final = 0x80


@dataclass(frozen=True, slots=True, kw_only=True)
class Asdu:
    """One ASDU: header fields and its information objects."""

    type_id: TypeId
    cause: Cause
    common_address: int
    objects: tuple[InformationObject, ...]
    negative: bool = False  # P/N bit: negative confirmation
    test: bool = False  # T bit
    originator: int = 0
    sequence: bool = False  # SQ = 1: objects at consecutive IOAs, one address on the wire


_HEADER: Final = struct.Struct("<BBBBH")  # type id, VSQ, COT, originator, common address
_IOA: Final = struct.Struct("<HB")
# Enum construction is slow on the hot path; decoded codes are looked up instead.
_TYPE_IDS: Final = {int(t): t for t in TypeId}
_CAUSES: Final = {int(c): c for c in Cause}


def _time_of(obj: InformationObject) -> Cp56Time2a | None:
    return getattr(obj, "time", None)


# --- ASDU codec ----------------------------------------------------------------------


def encode_asdu(asdu: Asdu) -> bytes:
    """The ASDU's octets; LocalProtocolError if it is not a valid ASDU."""
    codec = ELEMENT_CODECS.get(asdu.type_id)
    if codec is None:
        raise LocalProtocolError(f"type id {asdu.type_id} is not supported")
    objects = asdu.objects
    count = len(objects)
    if not 1 <= count <= 127:
        raise LocalProtocolError(f"an ASDU carries 1..127 objects, not {count}")
    if not 0 <= asdu.common_address <= 0xFFFF or not 0 <= asdu.originator <= 0xFF:
        raise LocalProtocolError("common address or originator address out of range")
    sequence = asdu.sequence
    cot = int(asdu.cause) | (PN_BIT if asdu.negative else 0) | (TEST_BIT if asdu.test else 0)
    parts = [
        _HEADER.pack(
            asdu.type_id, count | (0x80 if sequence else 0), cot, asdu.originator, asdu.common_address
        )
    ]
    cls, timed, encode = codec.cls, codec.timed, codec.encode
    first_ioa = objects[0].ioa
    for index, obj in enumerate(objects):
        if type(obj) is not cls:
            raise LocalProtocolError(f"{type(obj).__name__} cannot travel in {asdu.type_id.name}")
        ioa = obj.ioa
        time = _time_of(obj)
        if (time is not None) is not timed:
            raise LocalProtocolError(f"{asdu.type_id.name} {'needs' if timed else 'takes no'} time tag")
        if not sequence or index == 0:
            if not 0 <= ioa <= 0xFFFFFF:
                raise LocalProtocolError(f"IOA {ioa} out of 0..16777215")
            parts.append(_IOA.pack(ioa & 0xFFFF, ioa >> 16))
        elif ioa != first_ioa + index:
            raise LocalProtocolError("SQ = 1 needs consecutive information object addresses")
        parts.append(encode(obj))
        if time is not None:
            parts.append(time.encode())
    out = b"".join(parts)
    if len(out) > MAX_ASDU_SIZE:
        raise LocalProtocolError(f"ASDU of {len(out)} octets exceeds {MAX_ASDU_SIZE}")
    return out


def mirror(raw: bytes, cause: Cause) -> bytes:
    """The negative mirror of a received ASDU: same octets, COT = cause, P/N = 1 (7.2.3)."""
    answer = bytearray(raw)
    answer[2] = (raw[2] & TEST_BIT) | PN_BIT | int(cause)
    return bytes(answer)


def decode_asdu(raw: bytes) -> Asdu:
    """Decode an ASDU; RemoteProtocolError carries the standard's answer to bad input."""
    if len(raw) < HEADER_SIZE:
        raise RemoteProtocolError(
            f"ASDU of {len(raw)} octets is shorter than its header", close_connection=True
        )
    type_code, vsq, cot = raw[0], raw[1], raw[2]
    try:
        type_id = _TYPE_IDS[type_code]
        codec = ELEMENT_CODECS[type_id]
    except KeyError:
        raise RemoteProtocolError(
            f"unknown type identification {type_code}", wire_answer=mirror(raw, Cause.UNKNOWN_TYPE_ID)
        ) from None
    try:
        cause = _CAUSES[cot & 0x3F]
    except KeyError:
        raise RemoteProtocolError(
            f"unknown cause of transmission {cot & 0x3F}", wire_answer=mirror(raw, Cause.UNKNOWN_CAUSE)
        ) from None
    count, sequence = vsq & 0x7F, bool(vsq & 0x80)
    element_size = codec.size + (CP56_SIZE if codec.timed else 0)
    expected = HEADER_SIZE + (
        IOA_SIZE + count * element_size if sequence else count * (IOA_SIZE + element_size)
    )
    if count == 0 or len(raw) != expected:
        raise RemoteProtocolError(
            f"{type_id.name} with {count} objects must be {expected} octets, got {len(raw)}",
            close_connection=True,
        )
    view = memoryview(raw)
    objects: list[InformationObject] = []
    offset = HEADER_SIZE
    ioa = 0
    for index in range(count):
        if not sequence or index == 0:
            ioa = raw[offset] | (raw[offset + 1] << 8) | (raw[offset + 2] << 16)
            offset += IOA_SIZE
        else:
            ioa += 1
        time = Cp56Time2a.decode(view[offset + codec.size : offset + element_size]) if codec.timed else None
        objects.append(codec.decode(ioa, view[offset : offset + codec.size], time))
        offset += element_size
    return Asdu(
        type_id=type_id,
        cause=cause,
        negative=bool(cot & PN_BIT),
        test=bool(cot & TEST_BIT),
        originator=raw[3],
        common_address=raw[4] | (raw[5] << 8),
        objects=tuple(objects),
        sequence=sequence,
    )
