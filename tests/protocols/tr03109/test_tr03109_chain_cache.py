"""The EMT's chain cache: a gateway's certificate path is checked once, yet nothing that the
uncached check refuses gets through (expiry at `now`, another PKI, a tampered message)."""

from __future__ import annotations

import pytest
from smgw_world import T0, make_pki, seeded

from bidicharge.protocols.tr03109 import ChainCache, DemoSmPki, RemoteProtocolError, sign, verify


def test_a_second_message_of_the_same_signer_reuses_the_checked_path() -> None:
    pki = make_pki()
    cache = ChainCache()
    for k in range(3):
        signed = sign(f"values {k}".encode(), pki.gateway.signer, now=T0 + k)
        assert verify(signed, roots=(pki.pki.root,), now=T0 + k, chain_cache=cache).content == f"values {k}".encode()
    assert (cache.misses, cache.hits) == (1, 2)


def test_a_cached_path_is_still_refused_once_the_certificate_expired() -> None:
    pki = DemoSmPki(random_bytes=seeded(5), now=T0 - 86_400)
    short = pki.issue("short-lived gateway", not_after=T0)
    cache = ChainCache()
    signed = sign(b"x", short.signer, now=T0 - 10)
    assert verify(signed, roots=(pki.root,), now=T0 - 5, chain_cache=cache).content == b"x"
    with pytest.raises(RemoteProtocolError) as err:
        verify(signed, roots=(pki.root,), now=T0 + 5, chain_cache=cache)
    assert err.value.reason == "certificate-expired"


def test_a_signer_of_another_pki_is_untrusted_with_a_warm_cache() -> None:
    mine, other = make_pki(), make_pki(seed=8)
    cache = ChainCache()
    verify(sign(b"ok", mine.gateway.signer, now=T0), roots=(mine.pki.root,), now=T0, chain_cache=cache)
    with pytest.raises(RemoteProtocolError) as err:
        verify(sign(b"x", other.gateway.signer, now=T0), roots=(mine.pki.root,), now=T0, chain_cache=cache)
    assert err.value.reason == "untrusted-certificate"
    assert len(cache._paths) == 1  # a failed path is never stored


def test_a_tampered_message_fails_even_when_its_signer_is_cached() -> None:
    pki = make_pki()
    cache = ChainCache()
    verify(sign(b"import 1000 Wh", pki.gateway.signer, now=T0), roots=(pki.pki.root,), now=T0, chain_cache=cache)
    signed = bytearray(sign(b"import 1000 Wh", pki.gateway.signer, now=T0))
    signed[signed.index(b"1000")] = ord("9")
    with pytest.raises(RemoteProtocolError) as err:
        verify(bytes(signed), roots=(pki.pki.root,), now=T0, chain_cache=cache)
    assert err.value.reason == "bad-signature"


def test_the_cache_is_bounded() -> None:
    pki = DemoSmPki(random_bytes=seeded(6), now=T0 - 86_400)
    cache = ChainCache(max_entries=2)
    for k in range(3):
        gw = pki.issue(f"gateway {k}", not_after=T0 + 86_400)
        verify(sign(b"x", gw.signer, now=T0), roots=(pki.root,), now=T0, chain_cache=cache)
    assert len(cache._paths) == 2 and cache.misses == 3
