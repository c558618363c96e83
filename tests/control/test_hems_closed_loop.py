"""The MPC in a closed loop: noisy forecasts, a re-plan every 15 minutes, the plan's first step
applied to the *measured* household through ``follow_plan``, two days.

  PV ──┐
       ├── house bus ── meter ── grid (dynamic tariff, §14a dimming 17-19 h, 7 kW feed-in cap)
 load ─┤
 EV ───┤  60 kWh, 11 kW bidirectional, V2H consent, no V2G; away 07:30-17:30 on day 1
 batt ─┘  10 kWh, 5 kW

Asserts what a household would check: the car leaves with its target, the §14a limit and the
feed-in cap hold on measured values at every step, the car never feeds the grid, and the
bill is lower than with the fallback rule alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from bidicharge.control.forecast import ForecastMethod, ForecastSettings, forecast
from bidicharge.control.hems_mpc import BatteryProblem, Departure, EvProblem, HemsProblem, plan
from bidicharge.control.hems_rules import (
    BatteryState,
    EvState,
    RuleSettings,
    Setpoints,
    SiteState,
    fallback_rule,
    follow_plan,
)

STEP_S = 900.0
N = 192
HORIZON = 96
HOUR = (np.arange(N) % 96) / 4.0
PV_W = 9_000.0 * np.clip(np.sin(np.pi * (HOUR - 6.0) / 13.0), 0.0, None) * np.repeat([0.9, 0.5], 96)
LOAD_W = 300.0 + 600.0 * np.exp(-((HOUR - 7.5) / 1.0) ** 2) + 1_400.0 * np.exp(-((HOUR - 19.0) / 1.8) ** 2)
PRICE = 330.0 + 60.0 * np.exp(-((HOUR - 8.0) / 1.5) ** 2) + 160.0 * np.exp(-((HOUR - 19.0) / 2.0) ** 2) \
    - 90.0 * np.clip(np.sin(np.pi * (HOUR - 6.0) / 13.0), 0.0, None) - 60.0 * ((HOUR < 5) | (HOUR >= 23))
FEED_IN = 79.0
LIMIT_14A_W = np.where((HOUR >= 17) & (HOUR < 19), 4_200.0, np.inf)
EXPORT_LIMIT_W = 7_000.0
PLUGGED = ~((np.arange(N) >= 30) & (np.arange(N) < 70))
TRIP_WH = np.where(PLUGGED, 0.0, 15_000.0 / 40)
DEPARTURES = (Departure(step=30, target_soc=0.8), Departure(step=N, target_soc=0.6))
EV_KW: dict[str, Any] = dict(capacity_Wh=60_000.0, max_charge_power_W=11_000.0, max_discharge_power_W=11_000.0,
             charge_efficiency=0.92, discharge_efficiency=0.92)
BAT_KW: dict[str, Any] = dict(capacity_Wh=10_000.0, max_charge_power_W=5_000.0, max_discharge_power_W=5_000.0, soc_min=0.05)
RULE = RuleSettings(step_s=STEP_S, discharge_min_price_EUR_per_MWh=420.0)


@dataclass
class Trace:
    ev_soc: float = 0.35
    battery_soc: float = 0.5
    cost_EUR: float = 0.0
    soc_at_departure: dict[int, float] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)


def _site(k: int, trace: Trace) -> SiteState:
    upcoming = [d for d in DEPARTURES if d.step > k]
    ev = EvState(plugged=bool(PLUGGED[k]), soc=trace.ev_soc, reserve_soc=0.3, v2h_allowed=True,
                 target_soc=upcoming[0].target_soc, departure_s=upcoming[0].step * STEP_S, **EV_KW)
    return SiteState(pv_W=float(PV_W[k]), load_W=float(LOAD_W[k]), import_price_EUR_per_MWh=float(PRICE[k]),
                     export_price_EUR_per_MWh=FEED_IN, import_limit_14a_W=float(LIMIT_14A_W[k]),
                     export_limit_W=EXPORT_LIMIT_W, ev=ev, battery=BatteryState(soc=trace.battery_soc, **BAT_KW))


def _mpc(k: int, trace: Trace, rng: np.random.Generator) -> HemsProblem:
    noisy = ForecastSettings(method=ForecastMethod.NOISY, relative_std=0.3)
    pv = forecast(PV_W, start=k, horizon=HORIZON, settings=noisy, rng=rng)
    n = len(pv)
    window = slice(k, k + n)
    ev = EvProblem(soc_initial=trace.ev_soc, plugged=PLUGGED[window], trip_energy_Wh=TRIP_WH[window],
                   departures=tuple(Departure(step=d.step - k, target_soc=d.target_soc) for d in DEPARTURES
                                    if d.step > k),
                   reserve_soc=0.3, v2h_allowed=True, wear_cost_EUR_per_kWh=0.03, **EV_KW)
    return HemsProblem(step_s=STEP_S, pv_W=pv, load_W=forecast(LOAD_W, start=k, horizon=n, settings=noisy, rng=rng),
                       import_price_EUR_per_MWh=PRICE[window], export_price_EUR_per_MWh=np.full(n, FEED_IN),
                       import_limit_14a_W=LIMIT_14A_W[window], export_limit_W=EXPORT_LIMIT_W, ev=ev,
                       battery=BatteryProblem(soc_initial=trace.battery_soc, wear_cost_EUR_per_kWh=0.02, **BAT_KW))


def _apply(k: int, site: SiteState, out: Setpoints, trace: Trace) -> None:
    dt_h = STEP_S / 3600.0
    imported, exported = out.grid_import_W(site), out.grid_export_W(site)
    trace.cost_EUR += (imported * PRICE[k] - exported * FEED_IN) * dt_h / 1e6
    if imported - site.load_W > LIMIT_14A_W[k] + 1e-6:
        trace.violations.append(f"step {k}: §14a draw {imported - site.load_W:.0f} W")
    if exported > EXPORT_LIMIT_W + 1e-6:
        trace.violations.append(f"step {k}: feed-in {exported:.0f} W")
    if out.ev_discharge_W > 1e-6 and exported > 1e-6:
        trace.violations.append(f"step {k}: the car discharges while the house exports")
    trace.ev_soc += ((out.ev_charge_W * 0.92 - out.ev_discharge_W / 0.92) * dt_h - TRIP_WH[k]) / 60_000.0
    trace.battery_soc += (out.battery_charge_W * 0.95 - out.battery_discharge_W / 0.95) * dt_h / 10_000.0
    if not 0.0 <= trace.ev_soc <= 1.0 + 1e-9 or not 0.05 - 1e-9 <= trace.battery_soc <= 1.0 + 1e-9:
        trace.violations.append(f"step {k}: SoC out of range")
    for d in DEPARTURES:
        if d.step == k + 1:
            trace.soc_at_departure[d.step] = trace.ev_soc


def run(controller: str) -> Trace:
    trace, rng = Trace(), np.random.default_rng(11)
    for k in range(N):
        site = _site(k, trace)
        if controller == "mpc":
            out = follow_plan(plan(_mpc(k, trace, rng)), 0, site, RULE)
        else:
            out = fallback_rule(site, RULE, now_s=k * STEP_S)
        _apply(k, site, out, trace)
    return trace


@pytest.fixture(scope="module")
def mpc() -> Trace:
    return run("mpc")


def test_closed_loop_mpc_meets_every_departure(mpc: Trace) -> None:
    assert mpc.soc_at_departure[30] >= 0.8 - 1e-6
    assert mpc.soc_at_departure[N] >= 0.6 - 1e-6


def test_closed_loop_mpc_holds_limits_and_consent_on_measured_values(mpc: Trace) -> None:
    assert mpc.violations == []


def test_closed_loop_mpc_is_cheaper_than_the_fallback_rule(mpc: Trace) -> None:
    rule = run("rule")
    assert rule.violations == []
    assert _net_cost_EUR(mpc) < _net_cost_EUR(rule)


def _net_cost_EUR(trace: Trace) -> float:
    """The bill minus the energy left in the storages at the end, worth 0.30 €/kWh to both."""
    return trace.cost_EUR - 0.30 * (trace.ev_soc * 60.0 + trace.battery_soc * 10.0)
