"""SML type-length fields (SML 1.04 clause 6.3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bidicharge.protocols.sml import LocalProtocolError, RemoteProtocolError, crc16_x25, tlv
from bidicharge.protocols.sml.tlv import SInt, UInt


@pytest.mark.parametrize(
    ("node", "wire"),
    [
        (None, "01"),  # optional field not set
        (b"\x01\x00\x01\x08\x00\xff", "07 0100010800ff"),  # an OBIS code
        (UInt(0x0101, 2), "63 0101"),  # PublicOpen.Res tag as meters send it
        (SInt(-1, 1), "52 ff"),  # scaler -1
        (SInt(-3210), "53 f376"),  # smallest width that holds it
        (UInt(0x8000, 0), "63 8000"),
        (True, "42 01"),
        (b"x" * 20, "8106" + "78" * 20),  # 20 bytes + 2 TL bytes = 0x16 in two nibbles
        ((UInt(1, 1), b""), "72 6201 01"),
    ],
)
def test_encode_matches_the_wire_form_of_the_spec(node: tlv.Node, wire: str) -> None:
    assert tlv.encode(node) == bytes.fromhex(wire.replace(" ", ""))


def test_long_list_uses_a_second_tl_byte() -> None:
    node = tuple(UInt(i, 1) for i in range(20))
    wire = tlv.encode(node)
    assert wire[:2] == bytes.fromhex("f104")
    assert tlv.decode(wire) == (node, len(wire))


def test_crc_check_value() -> None:
    assert crc16_x25(b"123456789") == 0x906E  # CRC-16/X-25 catalogue check value


def test_integer_wider_than_64_bits_is_our_error() -> None:
    with pytest.raises(LocalProtocolError):
        tlv.encode(SInt(2**63))


@pytest.mark.parametrize(
    "wire",
    [
        "",  # nothing
        "65 0000",  # integer shorter than announced
        "80",  # TL says more follows, nothing does
        "8f 7f",  # follow-up TL byte with a type
        "59 0102030405060708 09",  # fine, but the next one is cut
        "5a 010203040506070809",  # 9-byte integer
        "43 0101",  # 2-byte boolean
        "3f",  # type 011 does not exist
        "7f" * 20,  # list of 15 lists of 15 lists ... deeper than any meter sends
    ],
)
def test_malformed_input_is_the_peers_error(wire: str) -> None:
    data = bytes.fromhex(wire.replace(" ", ""))
    with pytest.raises(RemoteProtocolError):
        node, end = tlv.decode(data)
        tlv.decode(data, end)


scalar = st.one_of(
    st.none(),
    st.binary(min_size=1, max_size=300),
    st.booleans(),
    st.builds(SInt, st.integers(-(2**31), 2**31 - 1), st.sampled_from([4, 8])),
    st.builds(UInt, st.integers(0, 2**32 - 1), st.sampled_from([4, 8])),
)
nodes = st.recursive(scalar, lambda children: st.lists(children, max_size=20).map(tuple), max_leaves=40)


@given(nodes)
def test_decode_inverts_encode(node: tlv.Node) -> None:
    wire = tlv.encode(node)
    assert tlv.decode(wire) == (node, len(wire))
