"""A meter that stops sending and a WAN outage: handled without losing or inventing values.

    meter_1_1 ─I-15─► smgw_1_1 ─I-16─► pemp ─I-35─► dso ─I-31─► grid_controller
    (silent from 18:05)     (WAN down 18:10–18:40)
"""

from __future__ import annotations

from test_s14a_world import T0, World, home, world_spec

from bidicharge.protocols.tr03109 import Taf


def test_a_silent_meter_is_reported_its_values_sent_as_missing_and_the_dso_keeps_the_last_good_one() -> None:
    w = World(world_spec([home("loadbus_1_1", silent_from="2024-01-17T18:05:00+01:00"), home("loadbus_1_2")],
                         duration="15min"))
    w.step(10)
    silent = [e for _, e in w["smgw_1_1"].events if type(e).__name__ == "MeterSilent"]
    assert len(silent) == 1 and silent[0].meter_id == w["meter_1_1"].meter_id
    empty = [r for r in w.messages("I-15", "SmlTelegram") if r.source == "meter_1_1" and r.time_s >= T0 + 300]
    assert empty and all('"data":"<0 bytes>"' in r.summary for r in empty)
    taf10 = [d for d in w["pemp"].documents if d.taf is Taf.TAF10 and d.meter_id == w["meter_1_1"].meter_id]
    late = [v for d in taf10 for v in d.values if v.captured_at >= T0 + 420]
    assert late and all(v.value is None for v in late)  # missing, never invented
    last_good = [float(v.value) for d in taf10 for v in d.values if v.value is not None][-1]
    state = w["dso"].grid_state()
    assert state.stale == ("loadbus_1_1",) and state.household_power_W["loadbus_1_1"] == last_good
    # the controller cycled on with the last good value: both cars dimmed, neither below 4.2 kW
    assert w["home_1_1"].limit_W == 4200.0 and w["home_1_2"].limit_W == 4200.0


def test_taf7_series_is_complete_after_a_wan_outage() -> None:
    spec = world_spec([home("loadbus_1_1")], duration="70min", controller=False,
                      smgw={"wan_outages": [["2024-01-17T18:10:00+01:00", "2024-01-17T18:40:00+01:00"]]})
    w = World(spec)
    w.step(25)
    assert w["smgw_1_1"].core.backlog_size > 0  # held back while the WAN is down
    w.step(45)
    taf7 = [d for d in w["pemp"].documents if d.taf is Taf.TAF7]
    captured = [v.captured_at for d in taf7 for v in d.values if v.obis.startswith("1-0:1.8.0")]
    assert captured == [T0 + 900.0 * k for k in range(1, 5)]  # 18:15 ... 19:00, none lost
    sequence = [d.sequence_no for d in w["pemp"].documents]
    assert sequence == sorted(sequence) and w["pemp"].gaps == []
    assert w["smgw_1_1"].core.backlog_size == 0
    # the pEMP turned the registers into 15-minute energies for the DSO (2 kW base + 11 kW car)
    energies = [wh for _, wh in w["dso"].energy["loadbus_1_1"]]
    assert energies and all(abs(e - 13_000 / 4) < 1.0 for e in energies)
