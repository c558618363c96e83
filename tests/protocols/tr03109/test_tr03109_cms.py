"""CMS meter data: signed by the gateway, enveloped for one EMT, refused when anything is off."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from smgw_world import GATEWAY_ID, T0, make_pki, seeded

from bidicharge.protocols.tr03109 import (
    CURVES,
    DemoSmPki,
    RemoteProtocolError,
    decrypt,
    envelope,
    open_meter_data,
    sign,
    verify,
)
from bidicharge.protocols.tr03109.der import decode


@pytest.mark.parametrize("curve", sorted(CURVES))
def test_signed_and_enveloped_round_trip_on_every_sm_pki_curve(curve: str) -> None:
    pki = make_pki(curve)
    signed = sign(b'{"meter":"values"}', pki.gateway.signer, now=T0)
    sealed = envelope(signed, pki.pemp.certificate, random_bytes=seeded(3))
    assert b"values" not in sealed
    opened = verify(decrypt(sealed, pki.pemp.recipient), roots=(pki.pki.root,), now=T0 + 60)
    assert opened.content == b'{"meter":"values"}'
    assert opened.signer == pki.gateway.certificate
    assert opened.signing_time == T0


def test_changed_content_breaks_the_signature() -> None:
    pki = make_pki()
    signed = bytearray(sign(b"import 1000 Wh", pki.gateway.signer, now=T0))
    at = signed.index(b"1000")
    signed[at] = ord("9")
    with pytest.raises(RemoteProtocolError) as err:
        verify(bytes(signed), roots=(pki.pki.root,), now=T0)
    assert err.value.reason == "bad-signature"


def test_signer_from_another_pki_is_untrusted() -> None:
    mine, other = make_pki(), make_pki(seed=8)
    signed = sign(b"x", other.gateway.signer, now=T0)
    with pytest.raises(RemoteProtocolError) as err:
        verify(signed, roots=(mine.pki.root,), now=T0)
    assert err.value.reason == "untrusted-certificate"


def test_expired_signer_certificate_is_refused() -> None:
    pki = DemoSmPki(random_bytes=seeded(5), now=T0 - 86_400)
    short = pki.issue("short-lived gateway", not_after=T0)
    signed = sign(b"x", short.signer, now=T0 - 10)
    assert verify(signed, roots=(pki.root,), now=T0 - 5).content == b"x"
    with pytest.raises(RemoteProtocolError) as err:
        verify(signed, roots=(pki.root,), now=T0 + 5)
    assert err.value.reason == "certificate-expired"


def test_only_the_addressed_emt_can_decrypt() -> None:
    pki = make_pki()
    sealed = envelope(b"secret", pki.pemp.certificate, random_bytes=seeded(3))
    with pytest.raises(RemoteProtocolError) as err:
        decrypt(sealed, pki.dso.recipient)
    assert err.value.reason == "not-for-us"


def test_meter_data_signed_by_a_stranger_gateway_is_refused() -> None:
    pki = make_pki()
    # a valid SM-PKI certificate, but not the one the EMT knows for this gateway id
    doc = sign(b'{"format":"bidicharge-meterdata/1"}', pki.aemp.signer, now=T0)
    sealed = envelope(doc, pki.pemp.certificate, random_bytes=seeded(3))
    with pytest.raises(RemoteProtocolError):
        open_meter_data(sealed, recipient=pki.pemp.recipient, roots=(pki.pki.root,),
                        gateways={GATEWAY_ID: pki.gateway.certificate}, now=T0)


@pytest.mark.parametrize("data", [b"", b"\x30", b"\x30\x80\x00\x00", b"\x30\x81\x05abcde", b"\x30\x03\x02\x01\x01extra",
                                  b"\x04\x00", bytes(100)])
def test_malformed_der_is_a_remote_error(data: bytes) -> None:
    pki = make_pki()
    with pytest.raises(RemoteProtocolError):
        verify(data, roots=(pki.pki.root,), now=T0)
    with pytest.raises(RemoteProtocolError):
        decrypt(data, pki.pemp.recipient)


def test_der_length_forms() -> None:
    long = decode(b"\x04\x82\x01\x00" + bytes(256))
    assert long.as_octets() == bytes(256)
    with pytest.raises(RemoteProtocolError, match="minimal"):
        decode(b"\x04\x81\x05abcde")


_SEALED = envelope(sign(b'{"values":[1,2,3]}', make_pki().gateway.signer, now=T0), make_pki().pemp.certificate,
                   random_bytes=seeded(4))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(min_value=0, max_value=len(_SEALED) - 1), flip=st.integers(min_value=1, max_value=255))
def test_any_flipped_byte_is_refused_as_remote_error(index: int, flip: int) -> None:
    pki = make_pki()
    broken = bytearray(_SEALED)
    broken[index] ^= flip
    with pytest.raises(RemoteProtocolError):
        verify(decrypt(bytes(broken), pki.pemp.recipient), roots=(pki.pki.root,), now=T0)
