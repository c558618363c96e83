"""Home-charged cars in the technical aggregator's pool, through their real HEMS (I-14, I-06).

    commercial ──I-23──► tech_agg ──I-14──► cpo ──I-04──► park (20 EVSEs) ──I-01──► 20 cars
                            │  └──I-13──► oem ◄──I-02── cars
                            └──I-14──► homes (HEMS backend, CPO role for 3 home wallboxes)
                                          │ I-06: schedules down (retained), states up
                                          ▼
                          3 × hems ──I-03──► wallbox ──I-01──► ev (bev: home 11:00–07:30)
                                │ ──I-47──► meter ◄── house, gcp

Each home is the real thing: the HEMS (``mpc`` at one, ``rules`` at two) runs its strategy,
an aggregator's schedule overrides the EV part within the owner's limits; the owners' settings
(departure 07:30, target, min SoC, V2G consent) sit in the HEMS backend as set in the app.
Every car leaves at 07:30 with its target, the car without consent never discharges, none goes
below its owner's minimum, and the cars follow their schedules wherever the HEMS reports no
reason not to. A day at 15-minute steps.
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import numpy as np
import pytest
import yaml

from bidicharge.components.interfaces.i06_hems_backend import AggregatorSchedule
from bidicharge.runtime.scenario import parse_scenario
from bidicharge.runtime.study import StudyResult, run_study

ETA = 0.96 * 0.94  # the wallbox's stage and the car's own conversion, each way
# site: (capacity kWh, wallbox W, SoC at noon, target, min SoC for discharge, V2G consent, strategy)
HOMES: dict[str, tuple[float, float, float, float, float, bool, str]] = {
    "home-a": (60.0, 11_000.0, 0.50, 0.80, 0.40, True, "mpc"),
    "home-b": (40.0, 7_400.0, 0.60, 0.90, 0.50, True, "rules"),
    "home-c": (77.0, 11_000.0, 0.35, 0.80, 0.30, False, "rules"),
}
TOLERANCE_W = 150.0


def home_components(site: str) -> dict[str, Any]:
    cap, power, soc, target, floor, _, strategy = HOMES[site]
    p = site.replace("-", "_")
    return {
        f"{p}_house": {"component": "household_load", "config": {"annual_energy_kWh": 3500, "profile": "H0"}},
        f"{p}_meter": {"component": "mmu", "connect": {"plants": [f"{p}_house.grid"]}},
        f"{p}_gcp": {"component": "gcp", "config": {"fuse_A": 35},
                     "connect": {"chargers": [f"{p}_wallbox.grid"], "meter": f"{p}_meter.gcp"}},
        f"{p}_ev": {"component": "bev", "config": {
            "capacity_kWh": cap, "initial_soc": soc, "departure_soc": target, "min_soc": floor,
            "trips": [{"days": ["mon", "tue", "wed", "thu", "fri"], "depart": "07:30", "arrive": "11:00",
                       "distance_km": 40}]}},
        f"{p}_wallbox": {"component": "evse", "config": {"max_power_W": power, "bidirectional": True,
                                                         "efficiency": 0.96},
                         "connect": {"vehicle": f"{p}_ev.charger"}},
        f"{p}_hems": {"component": "hems", "config": {
            "strategy": strategy, "site": site, "control_period_s": 900, "publish_period_s": 900},
            "connect": {"chargers": [f"{p}_wallbox.energy_manager"], "meter": f"{p}_meter.han",
                        "backend": "homes.hems"}},
    }


def scenario_raw() -> dict[str, Any]:
    raw = yaml.safe_load((resources.files("bidicharge.scenarios") / "fleet_v2g.yaml").read_text())
    raw["step"] = "15min"
    raw["components"]["cars"]["config"]["n_cars"] = 20
    raw["components"]["cars"]["config"]["deviations"] = {}
    raw["components"]["tech_agg"]["connect"]["homes"] = ["homes.aggregator"]
    homes: dict[str, Any] = {}
    for site in HOMES:  # listed before the aggregator: their states are measured before it reads them
        homes.update(home_components(site))
    homes["homes"] = {"component": "hems_backend", "config": {
        "db_url": "sqlite:///:memory:",
        "settings": {site: {"departure_time": "07:30", "target_soc": target, "min_soc_v2h": floor,
                            "v2g_consent": consent}
                     for site, (_, _, _, target, floor, consent, _) in HOMES.items()},
        "home_cars": [{"site": site, "vin": f"car-{site}", "aggregator": "tech_agg", "capacity_Wh": cap * 1e3,
                       # the wallbox's limits at its meter: it gives 96 % of its rating back
                       "max_charge_power_W": power, "max_discharge_power_W": power * 0.96,
                       "charge_efficiency": ETA, "discharge_efficiency": ETA}
                      for site, (cap, power, *_rest) in HOMES.items()]}}
    raw["components"] = {**homes, **raw["components"]}
    return raw


@pytest.fixture(scope="module")
def homes_result() -> StudyResult:
    return run_study(parse_scenario(copy.deepcopy(scenario_raw()), file="fleet_v2g.yaml", base_dir="."))


def series(result: StudyResult, site: str, name: str) -> np.ndarray:
    return result.column(f"{site.replace('-', '_')}_{name}")


def requested_W(result: StudyResult, site: str) -> np.ndarray:
    """What the aggregator's schedules ask of the home car at every step (NaN: none in force)."""
    asked = np.full(len(result.times_s), np.nan)
    schedules = [(r.time_s, AggregatorSchedule.model_validate_json(r.summary))
                 for r in result.trace.select(interface="I-06", message="AggregatorSchedule")]
    schedules = [(t, s) for t, s in schedules if s.site == site]
    for i, t in enumerate(result.times_s):
        in_force = [s for sent, s in schedules if sent <= t]
        if in_force:
            value = in_force[-1].setpoint_at(t)
            asked[i] = np.nan if value is None else value
    return asked


def test_home_cars_are_pooled_and_their_schedules_reach_the_hems(homes_result: StudyResult) -> None:
    result = homes_result
    report = result.reports["tech_agg"]
    assert report["cars"] == 23  # 20 at the park, 3 at home
    assert {report["evse_of"][f"car-{s}"] for s in HOMES} == {f"home.{s}" for s in HOMES}
    to_homes = [r for r in result.trace.select(interface="I-14", message="SetChargingSchedules")
                if r.target == "homes"]
    assert to_homes, "schedules go to the HEMS backend"
    answers = [json.loads(r.summary) for r in result.trace.select(interface="I-14",
                                                                   message="SetChargingSchedulesResult")
               if r.source == "homes"]
    assert answers and all(a["accepted"] > 0 and not a.get("rejected") for a in answers)
    pushed = result.trace.select(interface="I-06", message="AggregatorSchedule")
    assert {r.target for r in pushed} == {f"{s.replace('-', '_')}_hems" for s in HOMES}
    assert {AggregatorSchedule.model_validate_json(r.summary).aggregator for r in pushed} == {"tech_agg"}
    for site in HOMES:
        assert result.reports[f"{site.replace('-', '_')}_hems"]["aggregator"]["cycles_in_force"] > 0, site


def test_home_cars_leave_with_their_target(homes_result: StudyResult) -> None:
    for site, (_, _, _, target, _, _, _) in HOMES.items():
        plugged = series(homes_result, site, "ev.plugged_in")
        soc = series(homes_result, site, "ev.soc")
        leaves = int(np.nonzero(np.diff(plugged) < 0)[0][0])  # the last step plugged in
        left_at = homes_result.times_s[leaves + 1]
        assert left_at == pytest.approx(homes_result.scenario.start_s + 19.5 * 3600), site  # Thu 07:30
        assert soc[leaves] >= target - 1e-3, site


def test_home_cars_are_never_discharged_without_consent_or_below_their_minimum(homes_result: StudyResult) -> None:
    for site, (_, _, _, _, floor, consent, _) in HOMES.items():
        grid = series(homes_result, site, "wallbox.grid_power_W")
        soc = series(homes_result, site, "ev.soc")
        discharging = grid < -1.0
        if not consent:
            assert not discharging.any(), site
            assert np.nanmin(requested_W(homes_result, site)) >= 0.0, "the aggregator never asks it to"
        assert np.all(soc[discharging] >= floor - 1e-3), site
    assert any((series(homes_result, s, "wallbox.grid_power_W") < -1.0).any() for s, spec in HOMES.items()
               if spec[5]), "the consenting cars do take part"


def test_home_cars_follow_their_schedules_where_the_owners_rules_allow(homes_result: StudyResult) -> None:
    for site in HOMES:
        name = site.replace("-", "_")
        asked = requested_W(homes_result, site)
        grid = series(homes_result, site, "wallbox.grid_power_W")
        soc = series(homes_result, site, "ev.soc")
        vehicle = homes_result.column(f"{name}_hems.ev_setpoint_W")
        commanded = np.where(vehicle >= 0, vehicle / 0.96, vehicle * 0.96)  # the wallbox's 96 % stage
        in_force = ~np.isnan(asked) & (series(homes_result, site, "ev.plugged_in") > 0)
        request = np.nan_to_num(asked)
        tolerance = TOLERANCE_W + 0.02 * np.abs(request)
        hems = homes_result.reports[f"{name}_hems"]["aggregator"]
        # the HEMS commands what is asked except where it reported a reason (counted per cycle)
        hems_off = in_force & (np.abs(commanded - request) > tolerance)
        assert hems_off.sum() <= sum(hems["clipped"].values()), (site, hems)
        # the car takes what the HEMS commands, except its own acceptance falling near full
        taper = (soc > 0.85) & (grid >= -1.0) & (grid < commanded)
        assert not (in_force & (np.abs(grid - commanded) > tolerance) & ~taper).any(), site
        # and most of the time that is the schedule itself
        followed = in_force & (np.abs(grid - request) <= tolerance)
        assert followed.sum() >= 0.75 * in_force.sum(), (site, followed.sum(), in_force.sum(), hems)


def test_what_the_hems_cannot_follow_is_reported_with_the_reason(homes_result: StudyResult) -> None:
    events = [r for r in homes_result.trace.select(interface="I-06", message="HemsEvent")
              if "aggregator schedule asks" in r.summary]
    clipped = {site for site in HOMES if homes_result.reports[f"{site.replace('-', '_')}_hems"]["aggregator"]["clipped"]}
    assert clipped, "the aggregator does ask for things the homes cannot do (AC minimum current, limits)"
    assert {r.source for r in events} == {f"{s.replace('-', '_')}_hems" for s in clipped}
    states = [str(json.loads(r.summary)) for r in homes_result.trace.select(interface="I-06", message="HemsState")]
    assert any("aggregator_deviation='" in s and "aggregator_deviation=''" not in s for s in states)
