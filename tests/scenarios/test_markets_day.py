"""markets_day: plants, trading and a car pool bid into the day-ahead auction; the awards
become 15-minute schedules; the frequency follows the imbalance and the TSO's aFRR restores it.

    plant_op, gas_op ──I-48──► trading ──I-54──► market ◄──I-44── aggregator
       │ runs      ▲ I-51/I-52 IEC 104                               │
       ▼           │                                                  ▼
    nuclear, coal, gas ──I-50──► hv (frequency) ◄───────────────── the pool
                   tso ──I-24──► aggregator;  tso ──I-21──► dso ──I-52──► gas_op
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest
import yaml

from bidicharge.runtime.scenario import parse_scenario
from bidicharge.runtime.study import StudyResult, run_study


@pytest.fixture(scope="module")
def day() -> StudyResult:
    raw = yaml.safe_load((resources.files("bidicharge.scenarios") / "markets_day.yaml").read_text())
    raw["duration"] = "90min"
    raw["components"]["dso"]["config"]["redispatch"] = [{"start_h": 1.0, "end_h": 1.4, "limit_MW": 600}]
    return run_study(parse_scenario(raw, file="markets_day.yaml", base_dir="."))


def test_bids_go_in_results_come_back_and_become_schedules(day: StudyResult) -> None:
    t = day.trace
    assert [r.message for r in t.select(interface="I-48")][:4] == [
        "AvailabilityRequest", "PlantAvailability", "AvailabilityRequest", "PlantAvailability"]
    assert len(t.select(interface="I-54", message="SubmitDayAheadBids")) == 1
    assert '"rejected":[]' in t.select(interface="I-54", message="BidReceipt")[0].summary
    assert t.select(interface="I-44", message="SubmitCapacityBids") and t.select(interface="I-44", message="SubmitDayAheadBids")
    acks = t.select(interface="I-48", message="ScheduleAck")
    assert len(acks) == 2 and all('"accepted":true' in a.summary for a in acks)
    assert day.reports["trading"]["rejections"] == [] and day.reports["aggregator"]["rejections"] == []
    # merit order: the cheap plants sell first, and the schedules cover the area's demand
    sold = day.series["trading.sold_MW"][60:]
    load = day.series["hv.load_MW"][60:]
    assert np.all(sold > 6500) and abs(np.mean(sold) - np.mean(load)) < 100
    assert np.allclose(day.series["nuclear.schedule_MW"][60:], 3000.0)
    price = day.series["market.day_ahead_price_EUR_per_MWh"][60:]
    assert set(np.unique(price)) == {60.0}  # gas is the marginal plant all night


def test_frequency_follows_the_imbalance_and_the_tso_restores_it(day: StudyResult) -> None:
    f = day.series["hv.frequency_Hz"]
    assert np.abs(f - 50.0).max() < 0.2 and 0.003 < f.std() < 0.05
    assert abs(f[600:].mean() - 50.0) < 0.005  # aFRR brings 50 Hz back on average
    afrr = day.series["tso.afrr_MW"]
    assert afrr.min() < 0 < afrr.max()
    # a quarter-hour where the schedules step: the set-point walks at the ramp rate, the frequency answers
    gas = day.series["gas.schedule_MW"]
    steps = np.flatnonzero(np.abs(np.diff(gas)) > 20)
    assert len(steps) >= 3
    hv = day.reports["hv"]
    assert hv["kinetic_change_MWh"] == pytest.approx(hv["balance_MWh"], abs=1e-6)
    gen = sum(day.reports[p]["energy_MWh"] for p in ("nuclear", "coal", "gas"))
    assert hv["injection_MWh"] == pytest.approx(gen + 0.0, rel=1e-3)  # the pool's share is tiny


def test_tso_and_dso_speak_iec_104_on_every_link(day: StudyResult) -> None:
    t = day.trace
    for iface in ("I-21", "I-24", "I-51", "I-52"):
        records = t.select(interface=iface)
        assert records and {r.protocol for r in records} == {"IEC 60870-5-104"}
    afrr = t.select(interface="I-51", message="C_SE_NC_1 act")
    assert {r.target for r in afrr} == {"plant_op", "gas_op"}
    limits = t.select(interface="I-52", message="C_SE_NC_1 act")
    assert [r.summary for r in limits] == ["CA=62 2101=600", "CA=62 2101=-1"]
    hours = (day.times_s - day.times_s[0]) / 3600.0
    gas = day.series["gas.generation_MW"]
    assert gas[(hours > 0.9) & (hours < 1.0)].min() > 650.0  # the schedule before the limit
    limited = (hours > 1.05) & (hours < 1.4)
    assert day.series["gas.setpoint_MW"][limited].max() <= 600.0 + 1e-6  # schedule and aFRR capped
    assert gas[limited].mean() < 620.0  # the droop (the grid's, up to its 150 MW reserve) still acts
