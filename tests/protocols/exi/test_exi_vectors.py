"""Byte-exact agreement with independent encoders.

* ``vectors/josev_*.json``: produced by Josev's EXIficient-based ``EXICodec.jar``
  (iso15118 0.31.2, Apache-2.0) with ``tools/make_exi_vectors.py``: every ISO 15118-20
  request/response of CommonMessages, AC and DC and both SupportedAppProtocol messages.
* The libcbv2g (EVerest cbexigen, Apache-2.0) -20 unit-test vector for SessionSetupReq, as
  quoted in docs/exi.md; Josev's jar produces the same 40 bytes.
"""

from __future__ import annotations

from typing import Any

import pytest
from exi_vector_fixtures import load_signed_element_vectors, load_vectors

from bidicharge.protocols.exi import (
    DEFAULT_CODEC,
    NS_COMMON_MESSAGES,
    NS_XMLDSIG,
    decode,
    decode_element,
    encode,
    encode_fragment,
    from_wire_dict,
    to_wire_dict,
)
from bidicharge.protocols.exi.messages import common_messages as cm
from bidicharge.protocols.exi.messages import common_types as ct

VECTORS = load_vectors()
SIGNED = load_signed_element_vectors()


@pytest.mark.parametrize(("name", "namespace", "wire", "exi_hex"), VECTORS, ids=[v[0] for v in VECTORS])
def test_encoding_matches_josev_byte_for_byte(
    name: str, namespace: str, wire: dict[str, Any], exi_hex: str
) -> None:
    message = from_wire_dict(wire, namespace)
    assert encode(message, namespace, element=next(iter(wire))).hex() == exi_hex


@pytest.mark.parametrize(("name", "namespace", "wire", "exi_hex"), VECTORS, ids=[v[0] for v in VECTORS])
def test_decoding_josev_bytes_gives_the_message(
    name: str, namespace: str, wire: dict[str, Any], exi_hex: str
) -> None:
    message = decode(bytes.fromhex(exi_hex), namespace)
    assert to_wire_dict(message, namespace) == wire


@pytest.mark.parametrize(
    ("name", "namespace", "wire", "exi_hex", "fragment"), SIGNED, ids=[v[0] for v in SIGNED]
)
def test_signed_elements_match_josev(
    name: str, namespace: str, wire: dict[str, Any], exi_hex: str, fragment: bool
) -> None:
    """PnC digests are taken over the EXI encoding of the signed element alone: Josev writes
    an EXI fragment for a local element and an EXI document for a global one."""
    element = next(iter(wire))
    message = from_wire_dict(wire, namespace, fragment=True)
    if fragment:
        assert encode_fragment(message, namespace, element=element).hex() == exi_hex
    else:
        assert encode(message, namespace, element=element).hex() == exi_hex
    assert decode_element(bytes.fromhex(exi_hex), namespace, fragment=fragment) == (element, message)


def test_vectors_cover_every_request_and_response() -> None:
    """Every message of the schema sets Josev's jar can encode (it has no WPT/ACDP grammar)."""
    from bidicharge.protocols.exi import NS_AC, NS_APP_PROTOCOL, NS_DC

    messages = {
        local
        for ns in (NS_APP_PROTOCOL, NS_COMMON_MESSAGES, NS_AC, NS_DC)
        for local, _g in DEFAULT_CODEC.roots(ns)
        if local.endswith(("Req", "Res"))
    }
    covered = {next(iter(wire)) for _n, _ns, wire, _hex in VECTORS}
    assert messages - covered == set()


def test_session_setup_req_matches_the_libcbv2g_vector() -> None:
    message = cm.SessionSetupReq(
        header=ct.MessageHeader(session_id=bytes.fromhex("3030303030303030"), time_stamp=1707896956850052),
        evccid="PIXV12345678901231",
    )
    expected = bytes.fromhex(
        "808c0418181818181818180849fb4fbabaa840320a2824ac2b1899199a1a9b1b9c1c981899199880"
    )
    assert encode(message) == expected
    assert decode(expected, NS_COMMON_MESSAGES) == message


@pytest.mark.parametrize(
    ("namespace", "element", "libcbv2g_event"),
    [
        # event numbers of encode_iso20_exiFragment / encode_iso20_xmldsigFragment in libcbv2g
        # (EVerest, lib/cbv2g/iso_20/iso20_CommonMessages_Encoder.c), an independent generator
        (NS_COMMON_MESSAGES, "TimeStamp", 253),
        (NS_COMMON_MESSAGES, "Transform", 254),
        (NS_COMMON_MESSAGES, "VehicleCheckInReq", 258),
        (NS_COMMON_MESSAGES, "X448_EncryptedPrivateKey", 264),
        (NS_COMMON_MESSAGES, "shortValue", 280),
        (NS_XMLDSIG, "CanonicalizationMethod", 0),
        (NS_XMLDSIG, "RSAKeyValue", 21),
        (NS_XMLDSIG, "SignedInfo", 32),
        (NS_XMLDSIG, "Y", 44),
    ],
)
def test_fragment_event_codes_match_libcbv2g(namespace: str, element: str, libcbv2g_event: int) -> None:
    """libcbv2g ends a CommonMessages fragment with event 282 in 9 bits and an xmldsig fragment
    with event 46 in 6 bits; its element events must be ours."""
    data = encode_fragment(_any_instance(namespace, element), namespace, element=element)
    nbits, end = (9, 282) if namespace == NS_COMMON_MESSAGES else (6, 46)
    bits = int.from_bytes(data, "big")
    total = 8 * len(data)
    assert (bits >> (total - 8 - nbits)) & ((1 << nbits) - 1) == libcbv2g_event
    assert end == len(DEFAULT_CODEC._fragments[namespace].globals) + 1  # ED follows the SE codes


def _any_instance(namespace: str, element: str) -> object:
    """A small valid value of an element of the fragment grammar."""
    from bidicharge.protocols.exi.grammar import Grammar
    from bidicharge.protocols.exi.samples import sample_message, sample_value

    g = next(g for _u, loc, g in DEFAULT_CODEC._fragments[namespace].globals if loc == element)
    if isinstance(g, Grammar):
        return sample_message(g, lambda n: 0)
    return sample_value(g, lambda n: n - 1)
