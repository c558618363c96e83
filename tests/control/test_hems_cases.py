"""HEMS LP on the bigger cases of ``cases/hems_*.yaml``, each also played by the fallback rule.

A case file holds the problem (one value per step, or one value for all steps) and a list
of expectations a user would check on the plan. ``plan_minus_rule_cost_EUR`` steps
:func:`fallback_rule` through the same (perfectly known) day and compares what both cost,
counting import, feed-in, wear, the value of the energy left stored and missed departures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from bidicharge.control.hems_mpc import BatteryProblem, Departure, EvProblem, HemsPlan, HemsProblem, plan
from bidicharge.control.hems_rules import BatteryState, EvState, RuleSettings, SiteState, fallback_rule

CASES = sorted((Path(__file__).parent / "cases").glob("hems_*.yaml"))


def _series(value: Any, n: int) -> np.ndarray:
    if isinstance(value, dict):
        out = np.full(n, float(value["default"]))
        out[value["steps"]] = float(value["value"])
        return out
    return np.broadcast_to(np.asarray(value, dtype=float), (n,)).copy()


def load_case(path: Path) -> tuple[HemsProblem, dict[str, Any]]:
    raw = yaml.safe_load(path.read_text())
    n = int(raw.get("steps", len(raw["pv_W"]) if isinstance(raw["pv_W"], list) else 0))
    ev = None
    if "ev" in raw:
        spec = dict(raw["ev"])
        plugged = np.array([c == "1" for c in spec.pop("plugged")])
        away_Wh = float(spec.pop("trip_energy_Wh_while_away", 0.0))
        departures = tuple(Departure(**d) for d in spec.pop("departures", []))
        ev = EvProblem(plugged=plugged, trip_energy_Wh=np.where(plugged, 0.0, away_Wh), departures=departures,
                       **spec)
    battery = BatteryProblem(**raw["battery"]) if "battery" in raw else None
    optional = {k: raw[k] for k in ("grid_import_limit_W", "export_limit_W", "terminal_value_EUR_per_kWh")
                if k in raw}
    problem = HemsProblem(
        step_s=float(raw["step_s"]), pv_W=_series(raw["pv_W"], n), load_W=_series(raw["load_W"], n),
        import_price_EUR_per_MWh=_series(raw["import_price_EUR_per_MWh"], n),
        export_price_EUR_per_MWh=_series(raw["export_price_EUR_per_MWh"], n),
        import_limit_14a_W=_series(raw.get("import_limit_14a_W", math.inf), n), ev=ev, battery=battery, **optional)
    return problem, raw


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What a day cost, counted the same way for the plan and for the rule."""

    cost_EUR: float


def _outcome(problem: HemsProblem, import_W: np.ndarray, export_W: np.ndarray, wear_EUR: float,
             stored_end_Wh: float, shortfall_Wh: float) -> Outcome:
    dt_h = problem.step_s / 3600.0
    energy = float(np.sum(import_W * problem.import_price_EUR_per_MWh
                          - export_W * problem.export_price_EUR_per_MWh) * dt_h / 1e6)
    terminal = problem.terminal_value_EUR_per_kWh or 0.0
    penalty = problem.shortfall_penalty_EUR_per_kWh * shortfall_Wh / 1000.0
    return Outcome(cost_EUR=energy + wear_EUR - terminal * stored_end_Wh / 1000.0 + penalty)


def _plan_outcome(problem: HemsProblem, result: HemsPlan) -> Outcome:
    return _outcome(problem, result.grid_import_W, result.grid_export_W, result.wear_cost_EUR,
                    result.ev_energy_Wh[-1] + result.battery_energy_Wh[-1], result.departure_shortfall_Wh)


def _rule_outcome(problem: HemsProblem, rule: RuleSettings) -> Outcome:
    """Step the fallback rule through the case with plain energy bookkeeping."""
    ev, bat, dt_h = problem.ev, problem.battery, problem.step_s / 3600.0
    assert problem.import_limit_14a_W is not None
    ev_soc = ev.soc_initial if ev else 0.0
    bat_soc = bat.soc_initial if bat else 0.0
    imports, exports = np.zeros(problem.n_steps), np.zeros(problem.n_steps)
    wear = shortfall = 0.0
    for k in range(problem.n_steps):
        ev_state = bat_state = None
        if ev is not None:
            assert ev.trip_energy_Wh is not None
            upcoming = [d for d in ev.departures if d.step > k]
            ev_state = EvState(plugged=bool(ev.plugged[k]), soc=ev_soc, capacity_Wh=ev.capacity_Wh,
                               max_charge_power_W=ev.max_charge_power_W,
                               max_discharge_power_W=ev.max_discharge_power_W,
                               charge_efficiency=ev.charge_efficiency, discharge_efficiency=ev.discharge_efficiency,
                               soc_max=ev.soc_max, reserve_soc=ev.reserve_soc,
                               target_soc=upcoming[0].target_soc if upcoming else ev.soc_max,
                               departure_s=upcoming[0].step * problem.step_s if upcoming else None,
                               v2h_allowed=ev.v2h_allowed, v2g_allowed=ev.v2g_allowed)
        if bat is not None:
            bat_state = BatteryState(soc=bat_soc, capacity_Wh=bat.capacity_Wh, max_charge_power_W=bat.max_charge_power_W,
                                     max_discharge_power_W=bat.max_discharge_power_W, soc_min=bat.soc_min,
                                     soc_max=bat.soc_max, charge_efficiency=bat.charge_efficiency,
                                     discharge_efficiency=bat.discharge_efficiency)
        site = SiteState(pv_W=float(problem.pv_W[k]), load_W=float(problem.load_W[k]),
                         import_price_EUR_per_MWh=float(problem.import_price_EUR_per_MWh[k]),
                         export_price_EUR_per_MWh=float(problem.export_price_EUR_per_MWh[k]),
                         grid_import_limit_W=problem.grid_import_limit_W,
                         import_limit_14a_W=float(problem.import_limit_14a_W[k]),
                         export_limit_W=problem.export_limit_W, ev=ev_state, battery=bat_state)
        out = fallback_rule(site, rule, now_s=k * problem.step_s)
        imports[k], exports[k] = out.grid_import_W(site), out.grid_export_W(site)
        if ev is not None:
            assert ev.trip_energy_Wh is not None
            cell_in = out.ev_charge_W * ev.charge_efficiency * dt_h
            cell_out = out.ev_discharge_W / ev.discharge_efficiency * dt_h
            wear += ev.wear_cost_EUR_per_kWh * (cell_in + cell_out) / 1000.0
            ev_soc = max(0.0, ev_soc + (cell_in - cell_out - ev.trip_energy_Wh[k]) / ev.capacity_Wh)
            shortfall += sum(max(0.0, d.target_soc - ev_soc) * ev.capacity_Wh for d in ev.departures
                             if d.step == k + 1)
        if bat is not None:
            cell_in = out.battery_charge_W * bat.charge_efficiency * dt_h
            cell_out = out.battery_discharge_W / bat.discharge_efficiency * dt_h
            wear += bat.wear_cost_EUR_per_kWh * (cell_in + cell_out) / 1000.0
            bat_soc += (cell_in - cell_out) / bat.capacity_Wh
    stored = (ev_soc * ev.capacity_Wh if ev else 0.0) + (bat_soc * bat.capacity_Wh if bat else 0.0)
    return _outcome(problem, imports, exports, wear, stored, shortfall)


def _measure(result: HemsPlan, problem: HemsProblem, check: dict[str, Any]) -> Any:
    what = check["what"]
    if what == "status":
        return result.status.value
    if what in ("departure_shortfall_Wh", "trip_shortfall_Wh"):
        return getattr(result, what)
    series = (result.grid_import_W - problem.load_W if what == "controllable_import_W"
              else getattr(result, what))
    if "step" in check:
        return series[check["step"]]
    if "steps" in check:
        first, last = check["steps"]
        series = series[first:last + 1]
    if "energy_at_least_Wh" in check or "energy_at_most_Wh" in check:
        return float(series.sum() * problem.step_s / 3600.0)
    return series


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(path: Path) -> None:
    problem, raw = load_case(path)
    result = plan(problem)
    for check in raw["expect"]:
        if check["what"] == "plan_minus_rule_cost_EUR":
            planned = _plan_outcome(problem, result).cost_EUR
            ruled = _rule_outcome(problem, RuleSettings(step_s=problem.step_s, **raw.get("rule", {}))).cost_EUR
            assert planned - ruled <= check["at_most"], f"{path.stem}: plan {planned:.2f} €, rule {ruled:.2f} €"
            continue
        value = _measure(result, problem, check)
        label = f"{path.stem}: {check}"
        if "equals" in check:
            assert value == check["equals"], label
        if "approx" in check:
            assert value == pytest.approx(check["approx"], abs=0.05), label
        for key, bound in check.items():
            if key in ("max", "at_most", "energy_at_most_Wh"):
                assert np.all(np.asarray(value) <= bound), label
            if key in ("min", "at_least", "energy_at_least_Wh"):
                assert np.all(np.asarray(value) >= bound), label
