"""CLS channel decisions and the EMT inbox's duplicate and gap handling."""

from __future__ import annotations

import pytest
from smgw_world import (
    T0,
    Household,
    drive,
    evaluation,
    fingerprint,
    gateway,
    inbox,
    make_pki,
    profile,
    seeded,
)
from smgw_world import der as der_of

from bidicharge.protocols.tr03109 import DemoSmPki, EmtInbox, RemoteProtocolError, Taf, cls


def test_configured_aemp_reaches_its_channel() -> None:
    pki = make_pki()
    decision = cls.decide(profile(), channel_id="cu1.cls", client_certificate_der=der_of(pki.aemp),
                          roots=(pki.pki.root,), intermediates=(pki.pki.sub_ca,), now=T0)
    assert decision.allowed and decision.permission is not None
    assert decision.permission.aemp_certificate_sha256 == fingerprint(pki.aemp)


def test_everyone_else_is_refused_with_a_reason() -> None:
    pki = make_pki()
    stranger = make_pki(seed=21)
    p = profile()
    cases = {
        "not-permitted": (pki.dso, "cu1.cls", pki),  # a valid SM-PKI EMT, but not the configured aEMP
        "unknown-channel": (pki.aemp, "cu2.cls", pki),
        "untrusted-certificate": (stranger.aemp, "cu1.cls", pki),
    }
    for reason, (who, channel, trust) in cases.items():
        decision = cls.decide(p, channel_id=channel, client_certificate_der=der_of(who), roots=(trust.pki.root,),
                              intermediates=(trust.pki.sub_ca,), now=T0)
        assert (decision.allowed, decision.reason) == (False, reason)
    anonymous = cls.decide(p, channel_id="cu1.cls", client_certificate_der=None, roots=(pki.pki.root,), now=T0)
    assert anonymous.reason == "no-client-certificate"
    assert cls.decide(None, channel_id="cu1.cls", client_certificate_der=der_of(pki.aemp), roots=(pki.pki.root,),
                      now=T0).reason == "unknown-channel"


def test_expired_aemp_certificate_is_refused() -> None:
    demo = DemoSmPki(random_bytes=seeded(31), now=T0 - 86_400)
    aemp = demo.issue("aEMP", not_after=T0)
    p = profile()
    p = type(p)(gateway_id=p.gateway_id, version=1, meters=p.meters,
                cls=(type(p.cls[0])(channel_id="cu1.cls", aemp_id="aemp", aemp_certificate_sha256=fingerprint(aemp),
                                    target_host="127.0.0.1", target_port=1),))
    ok = cls.decide(p, channel_id="cu1.cls", client_certificate_der=der_of(aemp), roots=(demo.root,),
                    intermediates=(demo.sub_ca,), now=T0 - 1)
    late = cls.decide(p, channel_id="cu1.cls", client_certificate_der=der_of(aemp), roots=(demo.root,),
                      intermediates=(demo.sub_ca,), now=T0 + 1)
    assert ok.allowed and (late.allowed, late.reason) == (False, "certificate-expired")


def test_inbox_stores_a_resent_message_once_and_reports_gaps() -> None:
    core = gateway(evaluation("taf10", Taf.TAF10, emt_id="dso"))
    drive(core, Household(power_W=5), start=T0, end=T0 + 240, step_s=30)
    first, second, third, fourth = core.pending("dso")
    box = inbox("dso")
    assert not box.receive(first.cms, now=T0 + 240).duplicate
    assert box.receive(first.cms, now=T0 + 240).duplicate  # the ack got lost; the gateway resent
    assert box.receive(third.cms, now=T0 + 240).missing_before == (2,)
    assert [d.sequence_no for d in box.documents] == [1, 3]
    del second, fourth


def test_inbox_refuses_what_is_not_for_it_or_not_from_a_known_gateway() -> None:
    pki = make_pki()
    core = gateway(evaluation("taf10", Taf.TAF10, emt_id="dso"))
    drive(core, Household(power_W=5), start=T0, end=T0 + 60, step_s=30)
    message = core.pending("dso")[0]
    with pytest.raises(RemoteProtocolError) as err:
        inbox("pemp").receive(message.cms, now=T0 + 60)
    assert err.value.reason == "not-for-us"
    unaware = EmtInbox(emt_id="dso", recipient=pki.dso.recipient, roots=(pki.pki.root,), gateways={})
    with pytest.raises(RemoteProtocolError) as err:
        unaware.receive(message.cms, now=T0 + 60)
    assert err.value.reason == "unknown-gateway"
