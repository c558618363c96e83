"""Only the gateway's own GWA configures it: every other profile is refused, logged, and the
profile in force stays.

    gwa ───────┐
               ├─I-17─► smgw_1_1 (ProfileGuard)      smgw_1_2
    rogue_gwa ─┘
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_s14a_world import World, home, world_spec

from bidicharge.components.interfaces.i15_lmn import Octets
from bidicharge.components.interfaces.i17_gwa import InventoryRequest, ProfileUpdate
from bidicharge.protocols.tr03109 import EvaluationProfile, Taf, sign_profile


@pytest.fixture
def w() -> World:
    rogue = {"rogue_gwa": {"component": "gwa", "connect": {"gateways": ["smgw_1_1.admin"]}}}
    return World(world_spec([home("loadbus_1_1"), home("loadbus_1_2", car=False)], controller=False, extra=rogue))


def _send(w: World, gateway: str, cms: bytes) -> object:
    return w[gateway].handle("admin", ProfileUpdate(cms=Octets(cms)), link=None)


def test_a_profile_signed_by_another_administrator_is_refused(w: World) -> None:
    assert w["rogue_gwa"].results[w["smgw_1_1"].config.gateway_id].reason == "not-gwa"
    assert w["smgw_1_1"].core.profile.version == 1  # the GWA's profile is the one in force
    assert ("ProfileRefused" in [type(e).__name__ for _, e in w["smgw_1_1"].events])
    refusals = [r for r in w.messages("I-17", "ProfileUpdateResult") if r.target == "rogue_gwa"]
    assert refusals and '"applied":false' in refusals[0].summary


def test_replayed_expired_and_foreign_profiles_are_refused(w: World) -> None:
    gwa, gateway = w["gwa"], w["smgw_1_1"]
    inventory = gateway.handle("admin", InventoryRequest(), link=None)
    now = w.t
    replayed = sign_profile(gwa.profile_for(inventory, 1), gwa.identity.signer, now=now)
    assert _send(w, "smgw_1_1", replayed).reason == "replayed"
    expired = sign_profile(gwa.profile_for(inventory, 5), gwa.identity.signer, now=now - 3600)
    assert _send(w, "smgw_1_1", expired).reason == "expired"
    other = w["smgw_1_2"].handle("admin", InventoryRequest(), link=None)
    foreign = sign_profile(gwa.profile_for(other, 6), gwa.identity.signer, now=now)
    assert _send(w, "smgw_1_1", foreign).reason == "bad-profile"
    good = gwa.profile_for(inventory, 7)
    wrong_taf7 = replace(good, evaluations=(*good.evaluations, EvaluationProfile(
        profile_id="bad", taf=Taf.TAF7, meter_id=inventory.meter_ids[0], emt_id="pemp", interval_s=60,
        send_interval_s=60)))
    assert _send(w, "smgw_1_1", sign_profile(wrong_taf7, gwa.identity.signer, now=now)).reason == "bad-profile"
    assert gateway.core.profile.version == 1
    # and the GWA's next update is taken
    assert gwa.provision(next(lk for lk in gwa.peers("gateways") if lk.peer is gateway), now).applied
    assert gateway.core.profile.version == 2
