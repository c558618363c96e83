"""APCI framing of IEC 60870-5-104 clause 5: I, S and U format APDUs over a byte stream.

``APDU = 0x68 | L | CF1 CF2 CF3 CF4 | ASDU``, ``L`` = 4 + ASDU length, 4..253 (5.1).

* I format (CF1 bit 0 = 0): N(S) in CF1/CF2 and N(R) in CF3/CF4, each shifted left by
  one, 15 bits, modulo 32768 (5.1, figure 6);
* S format (CF1 = 0x01, CF2 = 0): N(R) only, acknowledges I frames (figure 7);
* U format (CF1 = 0x03 | one function bit, CF2..CF4 = 0): STARTDT, STOPDT, TESTFR
  activation or confirmation (figure 8); exactly one function may be active.

Anything else is a framing error, and a framing error is answered by closing the
connection: the stream cannot be resynchronised (5.1 / 5.2).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from .errors import LocalProtocolError, RemoteProtocolError

START: Final = 0x68
MAX_LENGTH: Final = 253
SEQ_MODULO: Final = 32768


class UFunction(IntEnum):
    """CF1 of the six U format APDUs (104 5.3)."""

    STARTDT_ACT = 0x07
    STARTDT_CON = 0x0B
    STOPDT_ACT = 0x13
    STOPDT_CON = 0x23
    TESTFR_ACT = 0x43
    TESTFR_CON = 0x83


@dataclass(frozen=True, slots=True, kw_only=True)
class IFrame:
    send_seq: int
    recv_seq: int
    asdu: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class SFrame:
    recv_seq: int


@dataclass(frozen=True, slots=True, kw_only=True)
class UFrame:
    function: UFunction


Apdu = IFrame | SFrame | UFrame


def encode_i(send_seq: int, recv_seq: int, asdu: bytes) -> bytes:
    if not 1 <= len(asdu) <= MAX_LENGTH - 4:
        raise LocalProtocolError(f"ASDU of {len(asdu)} octets does not fit an APDU")
    ns, nr = (send_seq % SEQ_MODULO) << 1, (recv_seq % SEQ_MODULO) << 1
    return bytes((START, 4 + len(asdu), ns & 0xFF, ns >> 8, nr & 0xFF, nr >> 8)) + asdu


def encode_s(recv_seq: int) -> bytes:
    nr = (recv_seq % SEQ_MODULO) << 1
    return bytes((START, 4, 0x01, 0x00, nr & 0xFF, nr >> 8))


def encode_u(function: UFunction) -> bytes:
    return bytes((START, 4, int(function), 0, 0, 0))


def encode_apdu(apdu: Apdu) -> bytes:
    if isinstance(apdu, IFrame):
        return encode_i(apdu.send_seq, apdu.recv_seq, apdu.asdu)
    if isinstance(apdu, SFrame):
        return encode_s(apdu.recv_seq)
    return encode_u(apdu.function)


def decode_apdu(frame: bytes) -> Apdu:
    """Decode exactly one complete APDU (start octet and length included)."""
    if len(frame) < 6 or frame[0] != START or frame[1] != len(frame) - 2:
        raise RemoteProtocolError(f"malformed APDU {frame[:8].hex(' ')}", close_connection=True)
    cf1, cf2, cf3, cf4 = frame[2], frame[3], frame[4], frame[5]
    if cf1 & 0x01 == 0:
        if len(frame) == 6:
            raise RemoteProtocolError("I format APDU without ASDU", close_connection=True)
        return IFrame(
            send_seq=(cf1 | (cf2 << 8)) >> 1, recv_seq=(cf3 | (cf4 << 8)) >> 1, asdu=bytes(frame[6:])
        )
    if len(frame) != 6:
        raise RemoteProtocolError("S or U format APDU with an ASDU", close_connection=True)
    if cf1 & 0x03 == 0x01:
        if cf1 != 0x01 or cf2 != 0:
            raise RemoteProtocolError("S format APDU with reserved bits set", close_connection=True)
        return SFrame(recv_seq=(cf3 | (cf4 << 8)) >> 1)
    if cf2 or cf3 or cf4 or cf1 not in UFunction._value2member_map_:
        raise RemoteProtocolError(f"undefined U format control field {cf1:#04x}", close_connection=True)
    return UFrame(function=UFunction(cf1))


class ApduReader:
    """Cuts a TCP byte stream into APDUs; partial frames wait for more bytes."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> Iterator[Apdu]:
        """Yield every complete APDU in the stream so far, in order.

        Raises RemoteProtocolError at the first octet that cannot start a valid APDU,
        after yielding the frames before it (their effects stand, 5.2).
        """
        self._buffer += data
        buf = self._buffer
        pos = 0
        try:
            while len(buf) - pos >= 2:
                if buf[pos] != START:
                    raise RemoteProtocolError(
                        f"expected start octet 0x68, got {buf[pos]:#04x}", close_connection=True
                    )
                length = buf[pos + 1]
                if not 4 <= length <= MAX_LENGTH:
                    raise RemoteProtocolError(f"APDU length {length} out of 4..253", close_connection=True)
                end = pos + 2 + length
                if end > len(buf):
                    break
                frame = bytes(buf[pos:end])
                pos = end
                yield decode_apdu(frame)
        finally:
            del buf[:pos]

    @property
    def buffered(self) -> int:
        """Octets of an incomplete APDU held back."""
        return len(self._buffer)
