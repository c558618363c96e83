"""Only the aEMP the GWA named reaches the control unit through the gateway's CLS channel;
an unreachable control unit makes the DSO retry until the command gets through.

    aemp ──────┐
               ├─I-10─► smgw_1_1 (cls.decide) ─I-10─► cu_1_1 ─I-09─► home_1_1
    rogue ─────┘   (rogue: a valid SM-PKI certificate the profile does not name)
"""

from __future__ import annotations

from test_s14a_world import T0, World, home, world_spec

from bidicharge.components.interfaces.i10_cls import DimmingCommand
from bidicharge.components.interfaces.i20_dso import ControlOrder


def _order(w: World, *, channel: str = "cls.cu_1_1", command_id: str = "x1") -> ControlOrder:
    return ControlOrder(order_id=command_id, unit_id="unit-loadbus_1_1", gateway_id=w["smgw_1_1"].config.gateway_id,
                        channel_id=channel, payload=DimmingCommand(command_id=command_id, unit_id="unit-loadbus_1_1",
                                                                   limit_W=4200.0, start_s=w.t, duration_s=900.0))


def test_an_aemp_the_profile_does_not_name_is_refused_and_logged() -> None:
    rogue = {"rogue": {"component": "aemp", "connect": {"gateways": ["smgw_1_1.cls"]}}}
    w = World(world_spec([home("loadbus_1_1")], controller=False, extra=rogue))
    w.step()
    out = w["rogue"].send(_order(w))
    assert not out.delivered and out.reason == "not-permitted" and out.status is None
    assert w["cu_1_1"].active is None and w["home_1_1"].limit_W is None
    assert w["smgw_1_1"].cls_log[-1][2:] == ("rogue", "not-permitted")
    answers = w.messages("I-10", "ClsResponse")
    assert answers[-1].source == "smgw_1_1" and '"allowed":false' in answers[-1].summary
    assert not [r for r in w.messages("I-10", "DimmingCommand") if r.source == "smgw_1_1"]
    # the permitted aEMP gets through on the same channel
    assert w["aemp"].send(_order(w, command_id="x2")).status.accepted


def test_an_unknown_channel_is_refused() -> None:
    w = World(world_spec([home("loadbus_1_1")], controller=False))
    w.step()
    out = w["aemp"].send(_order(w, channel="cls.somebody_else"))
    assert not out.delivered and out.reason == "unknown-channel"


def test_an_unreachable_control_unit_makes_the_dso_retry_until_it_is_back() -> None:
    spec = world_spec([home("loadbus_1_1"), home("loadbus_1_2"), home("loadbus_1_3")], other_W=7000.0,
                      duration="15min")
    # cu_1_1 is unreachable from 18:00 to 18:04 (its CLS side drops)
    spec["components"]["cu_1_1"]["config"]["offline"] = [["2024-01-17T18:00:00+01:00", "2024-01-17T18:04:00+01:00"]]
    w = World(spec)
    w.step(8)
    outcomes = [r for r in w.messages("I-10", "ClsResponse") if r.source == "smgw_1_1"]
    assert any('"reason":"cls-unreachable"' in r.summary for r in outcomes)
    commands = [r for r in w.messages("I-10", "DimmingCommand") if r.target == "cu_1_1"]
    assert commands and commands[0].time_s >= T0 + 4 * 60  # delivered once it was back
    assert w["dso"].queue == []
    assert w["home_1_1"].limit_W is not None and w["home_1_1"].limit_W >= 4200.0
    assert any(e["outcome"] == "applied" and e["unit_id"] == "unit-loadbus_1_1" for e in w["dso"].events)
