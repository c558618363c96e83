"""§14a over EEBUS in a home, in study mode: the HEMS is the CEM of the wallbox (I-03) and the
Controllable System of an Energy Guard (I-09).

    guard ──EEBUS LPC (I-09)──► hems ──EEBUS OPEV/EVCC/EVCEM/EVSOC/CEVC (I-03)──► wallbox ──I-01──► ev
    (test-only Energy Guard)     │ ──I-45──► tariff                                  │
                                 └ ──I-47──► meter (mMU) ◄─I-40── gcp ◄─I-41─────────┘
                                                └─I-39─► house

The HEMS (rule-based) pairs with both in memory, subscribes, gets the EV's data (SoC, demand, measurements),
and limits the charging with OPEV obligations. The guard sets an LPC limit of 4.2 kW for 2 h
and the wallbox follows within one control cycle; the limit ends and the car charges at full
power again; the guard's heartbeat stops and 120 s later the HEMS falls to its failsafe limit.
Asserted on the trace of SPINE messages across I-03 and I-09 and on the wallbox's power.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from pydantic import Field

from bidicharge.protocols.spine import LocalDevice, SpineNode
from bidicharge.protocols.spine.usecases import Direction, EnergyGuard
from bidicharge.runtime.component import (
    COMPONENT_TYPES,
    Component,
    ComponentConfig,
    Phase,
    RunContext,
    component_type,
)
from bidicharge.runtime.ports import provides
from bidicharge.runtime.scenario import parse_scenario
from bidicharge.runtime.study import StudyResult, run_study

GUARD_KIND = "test_eebus_home_guard"
LIMIT_AT_S = 10 * 60.0
LIMIT_S = 2 * 3600.0
HEARTBEAT_STOPS_AT_S = 150 * 60.0
DEPARTS_AT_MIN = 210
STANDBY_W = 5.0  # the wallbox's own draw: base load, not the controllable charging (§14a)


class GuardConfig(ComponentConfig):
    limit_W: float = Field(4200.0, ge=0)
    limit_at_s: float = LIMIT_AT_S  # after the start
    limit_duration_s: float = LIMIT_S
    heartbeat_stops_at_s: float = HEARTBEAT_STOPS_AT_S


class EnergyGuardBox(Component):
    """A minimal control unit: an EEBUS Energy Guard (LPC) on a provided I-09 port."""

    kind = GUARD_KIND
    catalogue_id = "C-CU"
    Config = GuardConfig
    PORTS = (provides("grid_guard", "I-09", "EEBUS SPINE"),)
    phase = Phase.ENVIRONMENT
    OBSERVABLES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.device = LocalDevice("d:_i:99999_ControlBox", "ElectricitySupplySystem")
        self.node = SpineNode(self.device)
        self.guard = EnergyGuard(self.node, self.device.add_entity("GridGuard"), now=context.start_s)
        self.written = False

    def eebus_node(self) -> SpineNode:
        return self.node

    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        cfg = self.config
        since = now - self.context.start_s
        if since >= cfg.heartbeat_stops_at_s:
            self.guard.stop_heartbeat()
        self.guard.step(now)
        peer = next(iter(self.guard.systems), None)
        if not self.written and since >= cfg.limit_at_s and peer is not None and self.guard.ready(peer):
            self.guard.write_limit(peer, Direction.CONSUME, cfg.limit_W, now, duration_s=cfg.limit_duration_s)
            self.written = True


@pytest.fixture(scope="module")
def guard_kind() -> Iterator[str]:
    component_type(EnergyGuardBox)
    yield GUARD_KIND
    COMPONENT_TYPES.pop(GUARD_KIND, None)  # a test-only kind must not reach other tests' registries


def _scenario(guard: str) -> dict[str, Any]:
    return {
        "name": "eebus_home",
        "start": "2018-03-05T20:00:00+01:00",
        "duration": "4h",
        "step": "1min",
        "seed": 7,
        "trace": "full",
        "components": {
            "tariff": {"component": "energy_provider_backend", "config": {"prices": "bundled:de-day-ahead-2018"}},
            "house": {"component": "household_load", "config": {"annual_energy_kWh": 4000, "profile": "H0"}},
            # 20 % at 20:00, leaves at 23:30 with 90 % of 100 kWh: the HEMS must charge flat out
            "ev": {"component": "bev", "config": {
                "capacity_kWh": 100, "initial_soc": 0.2, "departure_soc": 0.9, "min_soc": 0.1,
                "trips": [{"days": ["mon"], "depart": "23:30", "arrive": "23:55", "distance_km": 10}]}},
            "wallbox": {"component": "evse", "config": {"max_power_W": 11000, "dc": True, "efficiency": 0.96,
                                                           "standby_W": STANDBY_W},
                        "connect": {"vehicle": "ev.charger"}},
            "meter": {"component": "mmu", "connect": {"plants": ["house.grid"]}},
            "gcp": {"component": "gcp", "config": {"fuse_A": 35},
                    "connect": {"chargers": ["wallbox.grid"], "meter": "meter.gcp"}},
            "guard": {"component": guard},
            "hems": {"component": "hems",
                     "config": {"strategy": "rules", "ev": {"charge_efficiency": 0.9, "wallbox_efficiency": 0.96}},
                     "connect": {"chargers": ["wallbox.eebus"], "meter": "meter.han", "tariff": "tariff.tariff",
                                 "grid_guard": "guard.grid_guard"}},
        },
    }


@pytest.fixture(scope="module")
def run(guard_kind: str) -> StudyResult:
    return run_study(parse_scenario(_scenario(guard_kind), file="eebus_home.yaml", base_dir="."))


def _minute(result: StudyResult, t: float) -> int:
    return round((t - result.scenario.start_s) / result.scenario.step_s)


def _spine(result: StudyResult, interface: str, message: str, source: str) -> list[Any]:
    return [r for r in result.trace.select(interface=interface, message=message)
            if r.source == source and r.protocol == "EEBUS SPINE"]


def test_the_hems_pairs_subscribes_and_gets_the_evs_data(run: StudyResult) -> None:
    functions = {(r.interface, r.source, r.message) for r in run.trace if r.protocol == "EEBUS SPINE"}
    for interface, peer in (("I-03", "wallbox"), ("I-09", "guard")):
        assert (interface, "hems", "nodeManagementDetailedDiscoveryData") in functions
        assert (interface, peer, "nodeManagementDetailedDiscoveryData") in functions
        assert (interface, "hems", "nodeManagementUseCaseData") in functions or \
            (interface, peer, "nodeManagementUseCaseData") in functions
    assert ("I-03", "hems", "nodeManagementSubscriptionRequestCall") in functions
    assert ("I-03", "hems", "nodeManagementBindingRequestCall") in functions
    # the EV's data come from the wallbox: measurements with the SoC (EVCEM, EVSOC), demand (CEVC)
    soc_notes = [r for r in _spine(run, "I-03", "measurementListData", "wallbox") if '"measurementId":9' in r.summary]
    assert soc_notes and soc_notes[0].target == "hems"
    assert _spine(run, "I-03", "timeSeriesListData", "wallbox")
    # ... and nothing of I-03 went in memory
    assert not [r for r in run.trace if r.interface == "I-03" and r.protocol != "EEBUS SPINE"]


def test_the_hems_limits_charging_with_opev(run: StudyResult) -> None:
    writes = [r for r in _spine(run, "I-03", "loadControlLimitListData", "hems") if r.summary.startswith("write")]
    assert writes and all(r.target == "wallbox" for r in writes)
    first = json.loads(writes[0].summary.split(" ", 1)[1])["loadControlLimitData"]
    assert [item["limitId"] for item in first] == [1, 2, 3]  # OPEV: one obligation per phase
    s = run.series
    i = _minute(run, writes[0].time_s)
    # what the HEMS asked for is what the wallbox does, within one control cycle
    assert s["wallbox.ev_power_W"][i] == pytest.approx(s["hems.ev_setpoint_W"][i], abs=1.0)
    assert s["wallbox.grid_power_W"][i + 1: round(LIMIT_AT_S / 60)].min() > 10_000  # flat out: the departure needs it


def test_the_wallbox_follows_the_lpc_limit_within_one_control_cycle(run: StudyResult) -> None:
    (limit,) = [r for r in _spine(run, "I-09", "loadControlLimitListData", "guard") if r.summary.startswith("write")]
    assert limit.target == "hems"
    item = json.loads(limit.summary.split(" ", 1)[1])["loadControlLimitData"][0]
    assert item["value"] == {"number": 4200, "scale": 0} and item["timePeriod"]["endTime"] == "PT2H"
    accepted = [r for r in _spine(run, "I-09", "resultData", "hems") if r.time_s == limit.time_s]
    assert accepted and '"errorNumber":0' in accepted[0].summary
    grid = run.series["wallbox.grid_power_W"] - STANDBY_W  # what the car draws through the wallbox
    i = _minute(run, limit.time_s)
    assert grid[i - 1] > 10_000
    # the next OPEV write to the wallbox carries the lower current, in the same control cycle
    opev = [r for r in _spine(run, "I-03", "loadControlLimitListData", "hems") if r.time_s == limit.time_s]
    assert opev and json.loads(opev[0].summary.split(" ", 1)[1])["loadControlLimitData"][0]["value"]["number"] < 7000
    end = i + round(LIMIT_S / 60)
    assert grid[i:end].max() <= 4200.0
    assert grid[i:end].min() > 3500.0  # and uses what it may
    # the limit ends after 2 h: full power again
    assert grid[end + 1: end + 10].min() > 10_000


def test_heartbeat_loss_falls_back_to_the_failsafe_limit(run: StudyResult) -> None:
    stop = run.scenario.start_s + HEARTBEAT_STOPS_AT_S
    beats = _spine(run, "I-09", "deviceDiagnosisHeartbeatData", "guard")
    assert beats and max(r.time_s for r in beats) < stop
    grid = run.series["wallbox.grid_power_W"] - STANDBY_W
    i = _minute(run, stop)
    assert grid[i:i + 2].min() > 10_000  # 120 s of grace
    failsafe_from = i + 3  # > 120 s without heartbeat, plus one control cycle
    assert grid[failsafe_from:DEPARTS_AT_MIN].max() <= 4200.0 and grid[failsafe_from:DEPARTS_AT_MIN].min() > 3500.0
    assert run.reports["hems"]["decisions"].get("limited_14a", 0) >= round(LIMIT_S / 60) - 1


def _home_week(eebus: bool, strategy: str) -> StudyResult:
    """The shipped home_v2h week: over EEBUS as shipped (I-03 to the wallbox, I-47 MGCP to the
    meter, the owner's `ev:` settings for what EEBUS does not carry), or rewired in memory."""
    from importlib import resources

    import yaml

    from bidicharge.runtime.kpis import home_kpis

    raw = yaml.safe_load((resources.files("bidicharge.scenarios") / "home_v2h.yaml").read_text())
    raw["components"]["hems"]["config"]["strategy"] = strategy
    assert raw["components"]["hems"]["connect"]["chargers"] == ["wallbox.eebus"]
    if not eebus:
        raw["components"]["hems"]["connect"].update(chargers=["wallbox.energy_manager"], meter="meter.han")
    result = run_study(parse_scenario(raw, file="home_v2h.yaml", base_dir="."))
    result.kpis = home_kpis(result)
    return result


@pytest.mark.parametrize("strategy", ["mpc", "rules"])
def test_the_home_week_over_eebus_is_as_good_as_in_memory(strategy: str) -> None:
    memory, eebus = _home_week(False, strategy), _home_week(True, strategy)
    assert eebus.kpis["departures_met"] == memory.kpis["departures_met"] == 6
    assert eebus.kpis["energy_cost_EUR"] <= memory.kpis["energy_cost_EUR"] + 0.02
    assert eebus.kpis["overload_steps"] == 0
    assert not [r for r in eebus.trace if r.interface in ("I-03", "I-47") and r.protocol != "EEBUS SPINE"]
    assert eebus.trace.select(interface="I-03", message="loadControlLimitListData")
    assert eebus.trace.select(interface="I-47", message="measurementListData")
    assert memory.trace.select(interface="I-47", message="MeterReading")
