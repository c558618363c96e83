"""The fast CRC-16/X-25 (binascii over bit-reversed octets) equals the table loop for any input."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bidicharge.protocols.sml.crc import crc16_x25, crc16_x25_table


@given(st.binary(max_size=2048))
def test_fast_crc_equals_the_table_loop(data: bytes) -> None:
    assert crc16_x25(data) == crc16_x25_table(data)


def test_catalogue_check_values() -> None:
    assert crc16_x25(b"") == crc16_x25_table(b"") == 0x0000
    assert crc16_x25(b"123456789") == crc16_x25_table(b"123456789") == 0x906E
    assert crc16_x25(bytearray(b"123456789")) == 0x906E  # buffers as the stream decoder hands them
