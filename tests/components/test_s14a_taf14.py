"""TAF 14 (high-frequency values to an authorised EMT, BSI TR-03109-1) configured by the GWA.

    sml_meter ─I-15─ smgw ─I-16─► emt_hf     (granted TAF 14 by the GWA: every reading)
                      │    └─I-16─► emt_other (wired, not granted: nothing)
                     gwa ─I-17 (signed profile)

Only the GWA's signed profile can set it: a profile granting TAF 14 that the would-be EMT signs
itself is refused by the gateway (``not-gwa``) and the old profile stays.
"""

from __future__ import annotations

from dataclasses import replace

from test_s14a_world import World, home, world_spec

from bidicharge.components.interfaces.i15_lmn import Octets
from bidicharge.components.interfaces.i17_gwa import InventoryRequest, ProfileUpdate
from bidicharge.protocols.tr03109 import Taf, sign_profile
from bidicharge.protocols.tr03109.taf import OBIS_POWER


def taf14_world() -> World:
    spec = world_spec([home("loadbus_1_1"), home("loadbus_1_2", car=False)], controller=False, duration="3min")
    spec["step"] = "10s"
    comps = spec["components"]
    comps["emt_hf"] = {"component": "pemp"}
    comps["emt_other"] = {"component": "pemp"}
    for k in ("1_1", "1_2"):
        comps[f"smgw_{k}"]["connect"]["emts"] += ["emt_hf.meter_data", "emt_other.meter_data"]
    gateway = comps["smgw_1_1"]["config"]["gateway_id"]
    comps["gwa"]["config"] = {"taf14": [{"emt": "emt_hf", "send_interval_s": 10, "gateways": [gateway]}]}
    return World(spec)


def test_the_authorised_emt_gets_every_reading_and_no_one_else_does() -> None:
    w = taf14_world()
    w.step(12)  # two minutes of 10 s readings
    granted = w["smgw_1_1"]
    docs = [d for d in w["emt_hf"].documents if d.taf is Taf.TAF14]
    assert docs and {d.gateway_id for d in docs} == {granted.config.gateway_id}
    times = [v.captured_at for d in docs for v in d.values if v.obis == OBIS_POWER]
    assert times == sorted(set(times)) and len(times) >= 10  # each 10 s reading once, in order
    assert all(v.value is not None and float(v.value) > 0 for d in docs for v in d.values if v.obis == OBIS_POWER)
    assert w["emt_other"].documents == []  # wired to both gateways, never named in a profile
    assert not any(d.taf is Taf.TAF14 for d in w["pemp"].documents)  # the pEMP keeps TAF 7/10 only
    # the gateway without the grant sends no TAF 14 at all
    assert [e.taf for e in w["smgw_1_2"].core.profile.evaluations if e.taf is Taf.TAF14] == []


def test_a_profile_granting_taf14_signed_by_anyone_but_the_gwa_is_refused() -> None:
    w = taf14_world()
    smgw = w["smgw_1_2"]
    before = smgw.core.profile
    inventory = smgw.handle("admin", InventoryRequest(), None)
    honest = w["gwa"].profile_for(inventory, before.version + 1)
    # the would-be receiver gives itself TAF 14 and signs the profile with its own SM-PKI key
    taf14 = replace(honest.evaluations[0], profile_id="taf14-emt_other", taf=Taf.TAF14, emt_id="pemp",
                    interval_s=0, send_interval_s=1)
    self_made = replace(honest, evaluations=(*honest.evaluations, taf14))
    cms = sign_profile(self_made, w["gwa"].world.identity("emt_other").signer, now=w.t)
    result = smgw.handle("admin", ProfileUpdate(cms=Octets(cms)), None)
    assert not result.applied and result.reason == "not-gwa"
    assert smgw.core.profile == before
    w.step(3)
    assert w["emt_other"].documents == [] and not any(d.taf is Taf.TAF14 for d in w["pemp"].documents)
