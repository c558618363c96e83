"""Only the GWA configures the gateway: signed, fresh, newer, for this gateway, consistent."""

from __future__ import annotations

from dataclasses import replace

import pytest
from smgw_world import (
    GATEWAY_ID,
    T0,
    Household,
    deliver,
    drive,
    evaluation,
    gateway,
    inbox,
    make_pki,
    profile,
)

from bidicharge.protocols.tr03109 import (
    ProfileApplied,
    ProfileRefused,
    RemoteProtocolError,
    Taf,
    TariffSwitch,
    check_profile,
    decode_profile,
    encode_profile,
    sign_profile,
)


def _refusal(core, data: bytes, now: float = T0) -> str:  # type: ignore[no-untyped-def]
    before = core.profile
    assert core.apply_profile_update(data, now=now) is False
    assert core.profile == before  # the running profile stays
    (event,) = list(core.events())
    assert isinstance(event, ProfileRefused)
    return str(event.reason)


def test_profile_json_round_trip() -> None:
    p = profile(evaluation("taf7", Taf.TAF7), evaluation("taf2", Taf.TAF2), evaluation("taf14", Taf.TAF14))
    assert decode_profile(encode_profile(p)) == p


def test_gwa_signed_newer_profile_is_applied() -> None:
    pki = make_pki()
    core = gateway(evaluation("taf7", Taf.TAF7))
    newer = profile(evaluation("taf10", Taf.TAF10, emt_id="dso"), version=2)
    assert core.apply_profile_update(sign_profile(newer, pki.gwa.signer, now=T0 + 10), now=T0 + 20)
    assert [type(e) for e in core.events()] == [ProfileApplied]
    assert core.profile == newer


def test_unsigned_profile_is_refused() -> None:
    core = gateway(evaluation("taf7", Taf.TAF7))
    assert _refusal(core, encode_profile(profile(version=2))) == "bad-der"


def test_profile_signed_by_an_emt_is_refused() -> None:
    pki = make_pki()
    core = gateway(evaluation("taf7", Taf.TAF7))
    assert _refusal(core, sign_profile(profile(version=2), pki.pemp.signer, now=T0)) == "not-gwa"


def test_profile_signed_outside_the_sm_pki_is_refused() -> None:
    stranger = make_pki(seed=11)
    core = gateway(evaluation("taf7", Taf.TAF7))
    assert _refusal(core, sign_profile(profile(version=2), stranger.gwa.signer, now=T0)) == "untrusted-certificate"


def test_tampered_profile_is_refused() -> None:
    pki = make_pki()
    core = gateway(evaluation("taf7", Taf.TAF7))
    signed = sign_profile(profile(evaluation("taf7", Taf.TAF7, emt_id="pemp"), version=2), pki.gwa.signer, now=T0)
    tampered = signed.replace(b'"emt_id":"pemp"', b'"emt_id":"dso\x00"')
    assert len(tampered) == len(signed) and tampered != signed
    assert _refusal(core, tampered) == "bad-signature"


def test_replayed_and_old_profiles_are_refused() -> None:
    pki = make_pki()
    core = gateway(evaluation("taf7", Taf.TAF7))
    update = sign_profile(profile(version=2), pki.gwa.signer, now=T0 + 1)
    assert core.apply_profile_update(update, now=T0 + 2)
    list(core.events())
    assert _refusal(core, update, now=T0 + 3) == "replayed"
    assert _refusal(core, sign_profile(profile(version=1), pki.gwa.signer, now=T0 + 4), now=T0 + 5) == "replayed"


def test_stale_profile_update_is_refused() -> None:
    pki = make_pki()
    core = gateway(evaluation("taf7", Taf.TAF7))
    update = sign_profile(profile(version=2), pki.gwa.signer, now=T0)
    assert _refusal(core, update, now=T0 + 3600) == "expired"


@pytest.mark.parametrize(
    "wrong",
    [
        profile(version=2, gateway_id="EDNT0099999999"),
        profile(evaluation("taf7", Taf.TAF7, interval_s=600), version=2),
        profile(evaluation("taf7", Taf.TAF7, emt_id="nobody"), version=2),
        profile(evaluation("taf7", Taf.TAF7, meter_id="0a0000"), version=2),
        profile(evaluation("taf1", Taf.TAF1, interval_s=86_400), version=2),
        profile(evaluation("taf2", Taf.TAF2, tariff_table=(TariffSwitch(start_minute=60, stage="HT"),)), version=2),
        profile(evaluation("a", Taf.TAF7), evaluation("a", Taf.TAF10), version=2),
    ],
    ids=["other-gateway", "taf7-not-15-min", "unknown-emt", "unbound-meter", "taf1-not-monthly", "taf2-bad-table",
         "duplicate-id"],
)
def test_wrong_profile_is_refused(wrong) -> None:  # type: ignore[no-untyped-def]
    pki = make_pki()
    core = gateway(evaluation("taf7", Taf.TAF7))
    assert _refusal(core, sign_profile(wrong, pki.gwa.signer, now=T0)) == "bad-profile"
    with pytest.raises(RemoteProtocolError):
        check_profile(wrong, gateway_id=GATEWAY_ID)


def test_unchanged_evaluation_keeps_its_series_across_a_profile_update() -> None:
    pki = make_pki()
    taf7 = evaluation("taf7", Taf.TAF7, send_interval_s=3600)
    core = gateway(taf7)
    house = Household(power_W=800)
    drive(core, house, start=T0, end=T0 + 1800, step_s=60)
    update = profile(taf7, evaluation("taf10", Taf.TAF10, emt_id="dso"), version=2)
    assert core.apply_profile_update(sign_profile(update, pki.gwa.signer, now=T0 + 1800), now=T0 + 1830)
    drive(core, house, start=T0 + 1860, end=T0 + 3600, step_s=60)
    box = inbox()
    deliver(core, box, now=T0 + 3600)
    (doc,) = box.documents
    assert [v.captured_at for v in doc.values if v.obis.startswith("1-0:1.8.0")] == [T0 + 900 * k for k in range(1, 5)]
    assert replace(doc, values=()).period_start == T0
