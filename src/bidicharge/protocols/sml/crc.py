"""CRC16 of SML, the X.25 / CRC-16/IBM-SDLC checksum (SML 1.04 clause 7.1, RFC 1662 C.2).

Polynomial 0x1021 reflected (0x8408), initial value 0xFFFF, final XOR 0xFFFF. SML sends the
16-bit result least significant byte first, both in the message CRC and in the end of a
transport file (the same order as the HDLC FCS it was taken from).
"""

from __future__ import annotations

from typing import Final


def _table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x8408 if crc & 1 else 0)
        table.append(crc)
    return tuple(table)


_TABLE: Final = _table()


def crc16_x25(data: bytes) -> int:
    """The CRC-16/X-25 of `data` as a number (check value of b"123456789" is 0x906E)."""
    crc = 0xFFFF
    for octet in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ octet) & 0xFF]
    return crc ^ 0xFFFF


def crc16_wire(data: bytes) -> bytes:
    """The CRC of `data` as the two bytes SML puts on the wire (least significant first)."""
    return crc16_x25(data).to_bytes(2, "little")
