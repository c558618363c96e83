"""V2G Transfer Protocol (V2GTP) framing (ISO 15118-20 / ISO 15118-2).

Every message on the wire is one V2GTP frame: an 8-byte header (protocol version ``0x01``,
inverse version ``0xFE``, payload type, payload length; big-endian) followed by the
payload. The payload type says which schema set decodes the EXI payload (Table 12 of
ISO 15118-20, as in Josev ``ISOV20PayloadTypes``). `FrameReader` is an incremental parser
for a TCP byte stream: feed bytes, take whole frames.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from bidicharge.protocols.exi import NS_AC, NS_APP_PROTOCOL, NS_COMMON_MESSAGES, NS_DC

from .errors import RemoteProtocolError

VERSION: Final = 0x01
INVERSE_VERSION: Final = 0xFE
HEADER_LENGTH: Final = 8
# A -20 message with certificate chains stays well below this; anything larger is garbage or
# an attack on our memory (the limit is the implementation's choice; such a frame closes the
# connection).
MAX_PAYLOAD_LENGTH: Final = 64 * 1024

_HEADER = struct.Struct(">BBHI")


class PayloadType(IntEnum):
    """V2GTP payload types (ISO 15118-20 Table 12)."""

    SAP = 0x8001  # SupportedAppProtocol (and -2/DIN EXI)
    MAIN = 0x8002  # -20 CommonMessages
    AC_MAIN = 0x8003
    DC_MAIN = 0x8004
    ACDP_MAIN = 0x8005
    WPT_MAIN = 0x8006
    SCHEDULE_RENEGOTIATION = 0x8101
    METERING_CONFIRMATION = 0x8102
    ACDP_SYSTEM_STATUS = 0x8103
    PARKING_STATUS = 0x8104
    SDP_REQUEST = 0x9000
    SDP_RESPONSE = 0x9001
    SDP_REQUEST_WIRELESS = 0x9002
    SDP_RESPONSE_WIRELESS = 0x9003


NAMESPACE_OF_PAYLOAD: Final[dict[int, str]] = {
    PayloadType.SAP: NS_APP_PROTOCOL,
    PayloadType.MAIN: NS_COMMON_MESSAGES,
    PayloadType.AC_MAIN: NS_AC,
    PayloadType.DC_MAIN: NS_DC,
    # Renegotiation and metering confirmation travel in CommonMessages documents.
    PayloadType.SCHEDULE_RENEGOTIATION: NS_COMMON_MESSAGES,
    PayloadType.METERING_CONFIRMATION: NS_COMMON_MESSAGES,
}
PAYLOAD_OF_NAMESPACE: Final[dict[str, PayloadType]] = {
    NS_APP_PROTOCOL: PayloadType.SAP,
    NS_COMMON_MESSAGES: PayloadType.MAIN,
    NS_AC: PayloadType.AC_MAIN,
    NS_DC: PayloadType.DC_MAIN,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Frame:
    payload_type: int
    payload: bytes


def encode_frame(payload_type: int, payload: bytes) -> bytes:
    """One V2GTP frame."""
    return _HEADER.pack(VERSION, INVERSE_VERSION, payload_type, len(payload)) + payload


def decode_header(header: bytes) -> tuple[int, int]:
    """(payload type, payload length) of an 8-byte header; RemoteProtocolError if invalid."""
    version, inverse, payload_type, length = _HEADER.unpack(header)
    if version != VERSION or inverse != INVERSE_VERSION:
        # V2GTP header check: a wrong version means the stream is not V2GTP
        raise RemoteProtocolError(f"V2GTP version {version:#04x}/{inverse:#04x} is not 0x01/0xFE")
    if length > MAX_PAYLOAD_LENGTH:
        raise RemoteProtocolError(f"V2GTP payload length {length} exceeds {MAX_PAYLOAD_LENGTH}")
    return payload_type, length


def decode_frame(data: bytes) -> Frame:
    """Exactly one whole frame (a UDP datagram)."""
    if len(data) < HEADER_LENGTH:
        raise RemoteProtocolError(f"V2GTP frame of {len(data)} bytes is shorter than its header")
    payload_type, length = decode_header(data[:HEADER_LENGTH])
    if len(data) != HEADER_LENGTH + length:
        raise RemoteProtocolError(f"V2GTP length {length} does not match {len(data) - HEADER_LENGTH} bytes")
    return Frame(payload_type=payload_type, payload=bytes(data[HEADER_LENGTH:]))


class FrameReader:
    """Incremental V2GTP parser for a byte stream."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def frames(self) -> Iterator[Frame]:
        """Whole frames received so far; raises RemoteProtocolError on a bad header."""
        buf = self._buffer
        while len(buf) >= HEADER_LENGTH:
            payload_type, length = decode_header(bytes(buf[:HEADER_LENGTH]))
            end = HEADER_LENGTH + length
            if len(buf) < end:
                return
            frame = Frame(payload_type=payload_type, payload=bytes(buf[HEADER_LENGTH:end]))
            del buf[:end]
            yield frame

    @property
    def buffered(self) -> int:
        return len(self._buffer)
