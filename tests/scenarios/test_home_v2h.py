"""home_v2h end to end in study mode.

    tariff ──I-45──► hems ──I-03 EEBUS (OPEV/EVCC/EVCEM/EVSOC/CEVC)──► wallbox ──I-01──► ev
                      │ ──I-08──► battery, pv
                      └ ──I-47 EEBUS (MGCP)──► meter (mMU) ◄─I-40── gcp ◄─I-41── wallbox
                                                  └─I-39─► house, pv, battery

One week of March 2018 with the optimising HEMS (the scenario as shipped) and with the first
rule-based HEMS, which lets the car carry the house in the evening (V2H) when the home
battery cannot; every departure leaves with >= 80 %.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bidicharge.runtime.kpis import home_kpis
from bidicharge.runtime.scenario import load_scenario
from bidicharge.runtime.study import StudyResult, run_study


def _run(strategy: str | None) -> StudyResult:
    from importlib import resources

    sc = load_scenario(str(resources.files("bidicharge.scenarios") / "home_v2h.yaml"))
    if strategy is not None:
        hems = sc.components["hems"]
        sc.components["hems"] = type(hems)(name="hems", kind="hems", config=hems.config.model_copy(update={"strategy": strategy}))
    result = run_study(sc)
    result.kpis = home_kpis(result)
    return result


@pytest.fixture(scope="module")
def week() -> StudyResult:
    return _run(None)


@pytest.fixture(scope="module")
def week_rules() -> StudyResult:
    return _run("rules")


def test_the_shipped_scenario_uses_the_optimiser(week: StudyResult) -> None:
    rep = week.reports["hems"]
    assert rep["plans"] >= 7 * 96 - 1 and rep["plan_failures"] == 0
    assert week.kpis["energy_cost_EUR"] < week_cost_of("none")


def week_cost_of(strategy: str) -> float:
    return float(_run(strategy).kpis["energy_cost_EUR"])


def _kWh(series: np.ndarray, dt_s: float) -> float:
    return float(series.sum() * dt_s / 3.6e6)


@pytest.mark.parametrize("which", ["week", "week_rules"])
def test_every_departure_leaves_with_its_target(which: str, request: pytest.FixtureRequest) -> None:
    result: StudyResult = request.getfixturevalue(which)
    deps = result.reports["ev"]["departures"]
    assert len(deps) == 6  # five commutes and the Saturday trip
    assert all(d["met"] and d["soc"] >= d["target_soc"] - 1e-3 for d in deps)
    assert result.kpis["departures_met"] == 6


@pytest.mark.parametrize("which", ["week", "week_rules"])
def test_the_car_is_never_discharged_below_the_reserve(which: str, request: pytest.FixtureRequest) -> None:
    s = request.getfixturevalue(which).series
    discharging = s["ev.power_W"] < -1.0
    if discharging.any():
        assert s["ev.soc"][discharging].min() >= 0.5 - 0.01


def test_the_rules_let_the_car_discharge_for_the_house(week_rules: StudyResult) -> None:
    s = week_rules.series
    discharging = s["ev.power_W"] < -1.0
    assert discharging.any(), "V2H never happened in the week"
    assert s["ev.soc"][discharging].min() >= 0.5 - 0.01
    # V2H without V2G consent: while the car discharges the house does not export its energy
    export_while_discharging = np.clip(-s["gcp.grid_power_W"][discharging], 0, None)
    car_out = -s["wallbox.grid_power_W"][discharging]
    assert np.all(export_while_discharging <= car_out * 0.05 + 50)


def _spine_write(record: object) -> dict[str, object] | None:
    """The data of a SPINE write as traced (``"write {...}"``), None for any other command."""
    kind, _, payload = getattr(record, "summary", "").partition(" ")
    return json.loads(payload) if kind == "write" else None


def test_trace_shows_the_command_then_the_discharge(week_rules: StudyResult) -> None:
    week = week_rules
    # the HEMS asks for V2H with the discharge extension's setpoint (SPINE write on I-03) ...
    setpoints = [r for r in week.trace.select(interface="I-03", message="setpointListData")
                 if r.protocol == "EEBUS SPINE" and (data := _spine_write(r)) is not None
                 and data["setpointData"][0]["isSetpointActive"]]  # type: ignore[index]
    transfers = [r for r in week.trace.select(interface="I-01", message="EnergyTransferResult") if json.loads(r.summary)["power_W"] < 0]
    assert setpoints and transfers
    assert (setpoints[0].source, setpoints[0].target) == ("hems", "wallbox")
    assert (transfers[0].source, transfers[0].target) == ("ev", "wallbox")
    assert setpoints[0].time_s <= transfers[0].time_s
    # ... and charges with OPEV obligations; nothing of I-03 or I-47 goes in memory
    assert [r for r in week.trace.select(interface="I-03", message="loadControlLimitListData")
            if r.source == "hems" and _spine_write(r) is not None]
    assert not [r for r in week.trace if r.interface in ("I-03", "I-47") and r.protocol != "EEBUS SPINE"]
    assert week.trace.select(interface="I-45", message="PriceSchedule")
    # the grid power comes from the meter as MGCP notifications (acPowerTotal, measurementId 0)
    notes = [r for r in week.trace.select(interface="I-47", message="measurementListData")
             if r.source == "meter" and r.summary.startswith("notify")]
    assert notes and notes[0].target == "hems" and '"measurementId":0' in notes[-1].summary


def test_energy_balances_to_the_watt_hour(week: StudyResult) -> None:
    dt = week.scenario.step_s
    s = week.series
    nodes = s["house.power_W"] + s["pv.power_W"] + s["battery.power_W"] + s["wallbox.grid_power_W"]
    assert _kWh(s["gcp.grid_power_W"], dt) == pytest.approx(_kWh(nodes, dt), abs=1e-3)
    ev = week.reports["ev"]
    # what the wallbox delivered at the inlet is what the car's battery took at its terminals
    assert _kWh(s["wallbox.ev_power_W"], dt) == pytest.approx((ev["charged_Wh"] - ev["discharged_Wh"]) / 1000, abs=1e-3)
    # stored energy change = in − out − losses − driving
    e0 = 0.6 * 77_000
    e1 = s["ev.energy_Wh"][-1]
    assert e1 - e0 == pytest.approx(ev["charged_Wh"] - ev["discharged_Wh"] - ev["losses_Wh"] - ev["driven_Wh"], abs=1.0)
    # the wallbox's conversion losses are what the grid side gave beyond the inlet
    assert _kWh(s["wallbox.grid_power_W"] - s["wallbox.ev_power_W"], dt) * 1000 == pytest.approx(
        week.reports["wallbox"]["losses_Wh"], abs=1.0)
    imp = week.kpis["grid_import_kWh"] - week.kpis["grid_export_kWh"]
    assert imp == pytest.approx(_kWh(s["gcp.grid_power_W"], dt), abs=1e-6)


def test_kpis_are_plausible_for_a_march_week(week: StudyResult) -> None:
    k = week.kpis
    assert 0 < k["self_consumption"] <= 1 and 0 < k["self_sufficiency"] <= 1
    assert k["household_kWh"] == pytest.approx(4000 / 365 * 7, rel=0.25)
    assert k["ev_driven_kWh"] == pytest.approx((5 * 60 + 80) * 0.18)
    assert k["overload_steps"] == 0


def test_same_seed_same_result() -> None:
    from importlib import resources

    path = str(resources.files("bidicharge.scenarios") / "home_v2h.yaml")
    a = run_study(load_scenario(path, overrides={"duration": "1d", "trace": "off"}))
    b = run_study(load_scenario(path, overrides={"duration": "1d", "trace": "off"}))
    assert all(np.array_equal(a.series[k], b.series[k]) for k in a.series)


def test_no_control_charges_at_full_power_on_arrival(tmp_path: Path) -> None:
    from importlib import resources

    path = str(resources.files("bidicharge.scenarios") / "home_v2h.yaml")
    sc = load_scenario(path, overrides={"duration": "2d", "trace": "off"})
    hems = sc.components["hems"]
    sc.components["hems"] = type(hems)(name="hems", kind="hems", config=hems.config.model_copy(update={"strategy": "none"}))
    r = run_study(sc)
    p = r.series["ev.power_W"]
    assert p.max() == pytest.approx(11_000, rel=0.01) and p.min() >= 0


def test_an_unreachable_departure_is_reported_and_the_car_charged_flat_out() -> None:
    """A 60 kWh trip and a near-empty car: 80 % by the first departure cannot be reached."""
    from importlib import resources

    sc = load_scenario(str(resources.files("bidicharge.scenarios") / "home_v2h.yaml"),
                       overrides={"duration": "1d", "trace": "off", "start": "2018-03-05T05:00:00+01:00"})
    ev = sc.components["ev"]
    sc.components["ev"] = type(ev)(name="ev", kind="bev", config=ev.config.model_copy(update={"initial_soc": 0.05}))
    r = run_study(sc)
    assert "departure target unreachable" in r.reports["hems"]["faults"]["plan"]
    first = r.reports["ev"]["departures"][0]
    assert not first["met"]
    before = r.times_s < first["depart_s"]
    assert r.series["ev.power_W"][before][-30:].min() > 10_000  # flat out until it leaves
