"""Home-charged cars in the technical aggregator's pool, through their HEMS backend (I-14).

    commercial ──I-23──► tech_agg ──I-14──► cpo ──I-04──► park (20 EVSEs) ──I-01──► 20 cars
                            │  └──I-13──► oem ◄──I-02── cars
                            └──I-14──► homes (HEMS backend, CPO role for 3 home wallboxes)
                                          ▲ I-06: the HEMSs' states; their owners' settings
                                          │ (departure 07:30, target, min SoC, V2G consent)
                                       3 home sites (test stand-in: a HEMS that follows the
                                       aggregator's schedule, car battery integrated here)

The home cars are in the envelope and get schedules back the same way as the park's; each
leaves at 07:30 with its target, no car without V2G consent is ever asked to discharge, and
no discharge goes below the owner's minimum SoC.
"""

from __future__ import annotations

import copy
from importlib import resources
from typing import Any

import pytest
import yaml

from bidicharge.components.hems_backend import HemsBackend
from bidicharge.components.hems_backend.aggregator_desk import AggregatorDesk, next_departure_s, setpoint_at
from bidicharge.components.interfaces.i06_hems_backend import HemsSettings, HemsState
from bidicharge.components.interfaces.i14_hems_aggregator import HomeCarRegistration
from bidicharge.runtime.scenario import parse_scenario
from bidicharge.runtime.study import StudyResult, run_study

# site: (capacity Wh, power W, SoC at noon, target, min SoC for discharge, V2G consent)
HOMES: dict[str, tuple[float, float, float, float, float, bool]] = {
    "home-a": (60e3, 11_000.0, 0.50, 0.80, 0.40, True),
    "home-b": (40e3, 7_400.0, 0.60, 0.90, 0.50, True),
    "home-c": (77e3, 11_000.0, 0.35, 0.80, 0.30, False),
}
ETA = 0.92


class HomeSites:
    """What the three HEMSs and their cars do: report, follow the aggregator's setpoint, leave at 07:30."""

    def __init__(self) -> None:
        self.soc = {site: spec[2] for site, spec in HOMES.items()}
        self.plugged = dict.fromkeys(HOMES, True)
        self.departure_soc: dict[str, float] = {}
        self.lowest_discharging_soc = dict.fromkeys(HOMES, 1.0)
        self.discharged_Wh = dict.fromkeys(HOMES, 0.0)
        self.schedules_seen = dict.fromkeys(HOMES, 0)
        self.rejected: list[tuple[str, str]] = []

    def start(self, backend: HemsBackend, now: float) -> None:
        for site, (cap, power, _, target, floor, consent) in HOMES.items():
            backend.handle("aggregator", HomeCarRegistration(
                site=site, vin=f"car-{site}", aggregator="tech_agg", capacity_Wh=cap,
                max_charge_power_W=power, max_discharge_power_W=power), None)  # type: ignore[arg-type]
            backend.store.put_settings(site, HemsSettings(departure_time="07:30", target_soc=target,
                                                          min_soc_v2h=floor, v2g_consent=consent))
            self.report(backend, site, now, 0.0)

    def report(self, backend: HemsBackend, site: str, now: float, power_W: float) -> None:
        backend.handle("hems", HemsState(site=site, time_s=now, grid_W=power_W, ev_connected=self.plugged[site],
                                         ev_W=power_W, ev_soc=self.soc[site]), None)  # type: ignore[arg-type]

    def step(self, backend: HemsBackend, now: float, dt_s: float) -> None:
        for site, (cap, _, _, _, _, _) in HOMES.items():
            if not self.plugged[site]:
                continue
            if now >= next_departure_s("07:30", backend.context.start_s, "Europe/Berlin"):
                self.plugged[site] = False
                self.departure_soc[site] = self.soc[site]
                self.report(backend, site, now, 0.0)
                continue
            sched = backend.desk.schedule(site)
            power = 0.0
            if sched is not None:
                self.schedules_seen[site] += 1
                power = setpoint_at(sched, now) or 0.0
            stored = (power * ETA if power >= 0 else power / ETA) * dt_s / 3600.0
            self.soc[site] = min(max(self.soc[site] + stored / cap, 0.0), 1.0)
            if power < 0:
                self.discharged_Wh[site] += -stored
                self.lowest_discharging_soc[site] = min(self.lowest_discharging_soc[site], self.soc[site])
            self.report(backend, site, now + dt_s, power)


@pytest.fixture(scope="module")
def homes_result() -> tuple[StudyResult, HomeSites]:
    raw = yaml.safe_load((resources.files("bidicharge.scenarios") / "fleet_v2g.yaml").read_text())
    raw["components"]["cars"]["config"]["n_cars"] = 20
    raw["components"]["cars"]["config"]["deviations"] = {}
    raw["components"]["homes"] = {"component": "hems_backend", "config": {"db_url": "sqlite:///:memory:"}}
    raw["components"]["tech_agg"]["connect"]["homes"] = ["homes.aggregator"]
    sc = parse_scenario(copy.deepcopy(raw), file="fleet_v2g.yaml", base_dir=".")
    sites = HomeSites()
    start, step, accept = HemsBackend.start, HemsBackend.step, AggregatorDesk.accept

    def started(self: HemsBackend, now: float) -> None:
        start(self, now)
        sites.start(self, now)

    def stepped(self: HemsBackend, now: float, dt_s: float) -> None:
        step(self, now, dt_s)
        sites.step(self, now, dt_s)

    def accepted(self: AggregatorDesk, *args: Any) -> Any:
        result, ok = accept(self, *args)
        sites.rejected.extend(result.rejected)
        return result, ok

    HemsBackend.start, HemsBackend.step = started, stepped  # type: ignore[method-assign]
    AggregatorDesk.accept = accepted  # type: ignore[method-assign]
    try:
        return run_study(sc), sites
    finally:
        HemsBackend.start, HemsBackend.step = start, step  # type: ignore[method-assign]
        AggregatorDesk.accept = accept  # type: ignore[method-assign]


def test_home_cars_are_pooled_and_scheduled_through_their_hems_backend(homes_result: tuple[StudyResult, HomeSites]) -> None:
    result, sites = homes_result
    report = result.reports["tech_agg"]
    assert report["cars"] == 23  # 20 at the park, 3 at home
    assert {report["evse_of"][f"car-{s}"] for s in HOMES} == {f"home.{s}" for s in HOMES}
    to_homes = [r for r in result.trace.select(interface="I-14", message="SetChargingSchedules")
                if r.target == "homes"]
    assert to_homes, "schedules go back through the HEMS backend"
    assert all(n > 0 for n in sites.schedules_seen.values())
    assert sites.rejected == []  # the aggregator never asked for what the HEMS backend refuses


def test_home_cars_leave_with_their_target(homes_result: tuple[StudyResult, HomeSites]) -> None:
    _, sites = homes_result
    for site, (_, _, _, target, _, _) in HOMES.items():
        assert sites.departure_soc[site] >= target - 1e-3, site


def test_home_cars_are_never_discharged_without_consent_or_below_their_minimum(
        homes_result: tuple[StudyResult, HomeSites]) -> None:
    _, sites = homes_result
    for site, (_, _, _, _, floor, consent) in HOMES.items():
        if not consent:
            assert sites.discharged_Wh[site] == 0.0, site
        assert sites.lowest_discharging_soc[site] >= floor - 1e-6, site
    assert sum(sites.discharged_Wh[s] for s, spec in HOMES.items() if spec[5]) > 0, "the consenting cars do take part"
