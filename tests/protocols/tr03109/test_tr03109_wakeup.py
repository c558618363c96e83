"""The GWA's signed wake-up: accepted once, within its validity, from this gateway's GWA only."""

from __future__ import annotations

import pytest
from smgw_world import GATEWAY_ID, T0, make_pki

from bidicharge.protocols.tr03109 import RemoteProtocolError, WakeUp, WakeUpGuard, sign_wakeup


def _guard() -> WakeUpGuard:
    pki = make_pki()
    return WakeUpGuard(gateway_id=GATEWAY_ID, gwa_certificate=pki.gwa.certificate, roots=(pki.pki.root,))


def _reason(guard: WakeUpGuard, data: bytes, now: float) -> str:
    with pytest.raises(RemoteProtocolError) as err:
        guard.accept(data, now=now)
    return err.value.reason


def test_wakeup_from_the_gwa_is_accepted_once() -> None:
    pki = make_pki()
    guard = _guard()
    packet = sign_wakeup(WakeUp(gateway_id=GATEWAY_ID, issued_at=T0, nonce="n-1"), pki.gwa.signer, now=T0)
    assert guard.accept(packet, now=T0 + 2).nonce == "n-1"
    assert _reason(guard, packet, T0 + 3) == "replayed"


def test_late_foreign_or_misaddressed_wakeups_are_refused() -> None:
    pki = make_pki()
    guard = _guard()
    late = sign_wakeup(WakeUp(gateway_id=GATEWAY_ID, issued_at=T0, nonce="n-2"), pki.gwa.signer, now=T0)
    assert _reason(guard, late, T0 + 301) == "expired"
    by_emt = sign_wakeup(WakeUp(gateway_id=GATEWAY_ID, issued_at=T0, nonce="n-3"), pki.pemp.signer, now=T0)
    assert _reason(guard, by_emt, T0) == "not-gwa"
    other_gw = sign_wakeup(WakeUp(gateway_id="EDNT0000000001", issued_at=T0, nonce="n-4"), pki.gwa.signer, now=T0)
    assert _reason(guard, other_gw, T0) == "bad-wakeup"
    assert _reason(guard, b"WAKE UP", T0) == "bad-der"
