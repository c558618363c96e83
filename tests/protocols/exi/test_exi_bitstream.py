"""The bit-packed channel and the value representations of EXI 1.0 §7.1."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bidicharge.protocols.exi import values as V
from bidicharge.protocols.exi.bitstream import BitReader, BitWriter
from bidicharge.protocols.exi.errors import LocalProtocolError, RemoteProtocolError


@pytest.mark.parametrize(
    ("value", "octets"),
    [(0, "00"), (127, "7f"), (128, "8001"), (16383, "ff7f"), (16384, "808001")],
)
def test_unsigned_integer_is_little_endian_7_bit_groups(value: int, octets: str) -> None:
    w = BitWriter()
    w.write_uint(value)
    assert w.getvalue().hex() == octets


def test_values_are_packed_without_alignment_and_padded_at_the_end() -> None:
    w = BitWriter()
    w.write(1, 1)
    w.write(0b011, 3)
    w.write(0xFF, 8)
    assert w.getvalue() == bytes([0b1011_1111, 0b1111_0000])


def test_negative_integer_is_sign_bit_then_magnitude_minus_one() -> None:
    w = BitWriter()
    V.integer(None, None).encode(w, -1)
    assert w.getvalue() == bytes([0b1000_0000, 0])


def test_string_is_length_plus_two_then_code_points() -> None:
    w = BitWriter()
    V.string(None, None).encode(w, "aé")
    assert w.getvalue() == bytes([4, ord("a"), 0xE9, 0x01])


ITEMS = st.one_of(
    st.tuples(
        st.just("bits"), st.integers(1, 70).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, 2**n - 1)))
    ),
    st.tuples(st.just("uint"), st.integers(0, 2**90)),
    st.tuples(st.just("bytes"), st.binary(max_size=40)),
)


@given(st.lists(ITEMS, max_size=60))
def test_reader_reads_what_the_writer_wrote(items: list[tuple[str, object]]) -> None:
    w = BitWriter()
    for kind, item in items:
        if kind == "bits":
            n, v = item  # type: ignore[misc]
            w.write(v, n)
        elif kind == "uint":
            w.write_uint(item)  # type: ignore[arg-type]
        else:
            w.write_bytes(item)  # type: ignore[arg-type]
    r = BitReader(w.getvalue())
    for kind, item in items:
        if kind == "bits":
            n, v = item  # type: ignore[misc]
            assert r.read(n) == v
        elif kind == "uint":
            assert r.read_uint(max_octets=16) == item
        else:
            assert r.read_bytes(len(item)) == item  # type: ignore[arg-type]


@given(st.integers(-128, 127))
def test_bounded_integer_takes_n_bits_offset_from_the_minimum(value: int) -> None:
    codec = V.nbit(-128, 127)  # xs:byte: 256 values -> 8 bits
    w = BitWriter()
    codec.encode(w, value)
    data = w.getvalue()
    assert data == bytes([value + 128])
    assert codec.decode(BitReader(data)) == value


def test_out_of_range_values_are_rejected_on_both_sides() -> None:
    codec = V.nbit(0, 100)  # 7 bits, so 101..127 are representable but invalid
    with pytest.raises(LocalProtocolError):
        codec.encode(BitWriter(), 101)
    with pytest.raises(RemoteProtocolError):
        codec.decode(BitReader(bytes([127 << 1])))


def test_reading_past_the_end_is_the_peers_fault() -> None:
    with pytest.raises(RemoteProtocolError):
        BitReader(b"\x80").read_uint()
