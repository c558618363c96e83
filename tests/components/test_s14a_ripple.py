"""The legacy path: a home without a control unit is dimmed by ripple control, later.

    grid_controller ─I-27─► control_relays (group rs-1, 90 s switching delay) ─I-28─► home_1_2
          │ I-31
         dso ─I-20─► cls_management ─I-29─► aemp ─I-10─► smgw_1_1 ─I-10─► cu_1_1 ─I-09─► home_1_1
"""

from __future__ import annotations

from test_s14a_world import World, home, world_spec


def test_ripple_controlled_home_switches_after_the_receiver_delay_and_keeps_4_2_kw() -> None:
    w = World(world_spec([home("loadbus_1_1"), home("loadbus_1_2", route="ripple")], duration="12min"))
    w.step(8)
    telegrams = w.messages("I-27", "RippleTelegram")
    assert telegrams and telegrams[0].target == "ripple_rs1" and '"step":1' in telegrams[0].summary
    contacts = w.messages("I-28", "ContactState")
    assert contacts and contacts[0].target == "home_1_2" and contacts[0].summary == '{"step":1}'
    assert contacts[0].time_s >= telegrams[0].time_s + 90.0  # the receivers' delay
    assert w["home_1_2"].car_power_W == 4200.0  # the contact step: 4.2 kW, the guaranteed minimum
    # the CLS-controlled neighbour was dimmed at once through its control unit
    limits = [r for r in w.messages("I-09", "PowerLimit") if r.target == "home_1_1"]
    assert limits and limits[0].time_s == telegrams[0].time_s
    # the DSO logged the ripple command too (it has no CLS route)
    assert any(e["outcome"] == "ripple" and e["unit_id"] == "unit-loadbus_1_2" for e in w["dso"].events)
