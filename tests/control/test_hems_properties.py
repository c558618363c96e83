"""Property tests: whatever the forecasts, prices and settings, a plan keeps every limit and SoC bound."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bidicharge.control.hems_mpc import BatteryProblem, Departure, EvProblem, HemsProblem, plan
from bidicharge.control.hems_rules import (
    BatteryState,
    EvState,
    RuleSettings,
    SiteState,
    fallback_rule,
)

TOL_W = 1e-2
TOL_WH = 1e-2
power = st.floats(0.0, 12_000.0)
fraction = st.floats(0.0, 1.0)
efficiency = st.floats(0.8, 1.0)


@st.composite
def ev_problems(draw: st.DrawFn, n: int) -> EvProblem:
    soc_min = draw(st.floats(0.0, 0.3))
    soc_max = draw(st.floats(0.7, 1.0))
    plugged = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    trip = np.where(plugged, 0.0, np.array(draw(st.lists(st.floats(0, 6_000), min_size=n, max_size=n))))
    departures = tuple(Departure(step=s, target_soc=t) for s, t in
                       draw(st.lists(st.tuples(st.integers(0, n + 2), fraction), max_size=3)))
    v2h = draw(st.booleans())
    return EvProblem(capacity_Wh=draw(st.floats(10_000, 100_000)), soc_initial=draw(fraction), plugged=plugged,
                     max_charge_power_W=draw(power), max_discharge_power_W=draw(power),
                     charge_efficiency=draw(efficiency), discharge_efficiency=draw(efficiency),
                     soc_min=soc_min, soc_max=soc_max, reserve_soc=draw(st.floats(soc_min, soc_max)),
                     trip_energy_Wh=trip, departures=departures, v2h_allowed=v2h,
                     v2g_allowed=v2h and draw(st.booleans()), wear_cost_EUR_per_kWh=draw(st.floats(0, 0.2)))


@st.composite
def problems(draw: st.DrawFn) -> HemsProblem:
    n = draw(st.integers(1, 24))

    def series(lo: float, hi: float) -> np.ndarray:
        return np.array(draw(st.lists(st.floats(lo, hi), min_size=n, max_size=n)))

    load = series(0, 8_000)
    limit_14a = np.where(np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n))), np.inf,
                         series(0, 11_000))
    battery = None
    if draw(st.booleans()):
        soc_min = draw(st.floats(0.0, 0.2))
        battery = BatteryProblem(capacity_Wh=draw(st.floats(2_000, 20_000)), soc_initial=draw(fraction),
                                 max_charge_power_W=draw(power), max_discharge_power_W=draw(power),
                                 charge_efficiency=draw(efficiency), discharge_efficiency=draw(efficiency),
                                 soc_min=soc_min, soc_max=draw(st.floats(0.8, 1.0)),
                                 wear_cost_EUR_per_kWh=draw(st.floats(0, 0.2)))
    return HemsProblem(step_s=draw(st.sampled_from([900.0, 3600.0])), pv_W=series(0, 12_000), load_W=load,
                       import_price_EUR_per_MWh=series(-200, 600), export_price_EUR_per_MWh=series(-100, 300),
                       grid_import_limit_W=draw(st.floats(float(load.max()), 40_000)),
                       import_limit_14a_W=limit_14a, export_limit_W=draw(st.floats(0, 20_000)),
                       ev=draw(st.none() | ev_problems(n)), battery=battery)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_plan_never_violates_limits_or_soc_bounds(problem: HemsProblem) -> None:
    result = plan(problem)
    assert result.ok, result.message
    dt_h = problem.step_s / 3600.0
    flows = [result.ev_charge_W, result.ev_discharge_W, result.battery_charge_W, result.battery_discharge_W,
             result.grid_import_W, result.grid_export_W, result.pv_curtailment_W]
    assert all(np.all(f >= 0.0) for f in flows)
    balance = (result.grid_import_W - result.grid_export_W + problem.pv_W - result.pv_curtailment_W
               + result.ev_discharge_W + result.battery_discharge_W
               - problem.load_W - result.ev_charge_W - result.battery_charge_W)
    assert np.all(np.abs(balance) <= TOL_W)
    assert problem.import_limit_14a_W is not None
    import_limit = np.minimum(problem.grid_import_limit_W, problem.load_W + problem.import_limit_14a_W)
    assert np.all(result.grid_import_W <= import_limit + TOL_W)
    assert np.all(result.grid_export_W <= problem.export_limit_W + TOL_W)
    assert np.all(result.pv_curtailment_W <= problem.pv_W + TOL_W)
    if problem.ev is not None:
        _check_ev(problem, problem.ev, result.ev_charge_W, result.ev_discharge_W, result.ev_energy_Wh, dt_h,
                  result.trip_shortfall_Wh)
    if problem.battery is not None:
        bat = problem.battery
        assert np.all(result.battery_charge_W <= bat.max_charge_power_W + TOL_W)
        assert np.all(result.battery_discharge_W <= bat.max_discharge_power_W + TOL_W)
        _check_energy(result.battery_energy_Wh, bat.capacity_Wh, bat.soc_initial, bat.soc_min, bat.soc_max)
        step = (result.battery_charge_W * bat.charge_efficiency
                - result.battery_discharge_W / bat.discharge_efficiency) * dt_h
        assert np.allclose(np.diff(result.battery_energy_Wh), step, atol=TOL_WH)


def _check_energy(energy_Wh: np.ndarray, capacity_Wh: float, soc0: float, soc_min: float, soc_max: float) -> None:
    assert energy_Wh[0] == soc0 * capacity_Wh
    assert np.all(energy_Wh >= min(soc_min, soc0) * capacity_Wh - TOL_WH)
    assert np.all(energy_Wh <= max(soc_max, soc0) * capacity_Wh + TOL_WH)


def _check_ev(problem: HemsProblem, ev: EvProblem, charge_W: np.ndarray, discharge_W: np.ndarray,
              energy_Wh: np.ndarray, dt_h: float, trip_shortfall_Wh: float) -> None:
    assert np.all(charge_W <= ev.max_charge_power_W * ev.plugged + TOL_W)
    assert np.all(discharge_W <= ev.max_discharge_power_W * ev.plugged * ev.v2h_allowed + TOL_W)
    if not ev.v2g_allowed:
        assert np.all(discharge_W <= np.maximum(problem.load_W - problem.pv_W, 0.0) + TOL_W)
    _check_energy(energy_Wh, ev.capacity_Wh, ev.soc_initial, ev.soc_min, ev.soc_max)
    assert ev.trip_energy_Wh is not None
    expected = (charge_W * ev.charge_efficiency - discharge_W / ev.discharge_efficiency) * dt_h - ev.trip_energy_Wh
    bought_on_the_road = np.diff(energy_Wh) - expected
    assert np.all(bought_on_the_road >= -TOL_WH)
    assert np.all(bought_on_the_road <= ev.trip_energy_Wh + TOL_WH)
    assert math.isclose(bought_on_the_road.sum(), trip_shortfall_Wh, abs_tol=TOL_WH * len(energy_Wh))


@st.composite
def sites(draw: st.DrawFn) -> SiteState:
    load = draw(st.floats(0, 8_000))
    car = None
    if draw(st.booleans()):
        v2h = draw(st.booleans())
        car = EvState(plugged=draw(st.booleans()), soc=draw(fraction), capacity_Wh=draw(st.floats(10_000, 100_000)),
                      max_charge_power_W=draw(st.floats(1_400, 22_000)), min_charge_power_W=draw(st.floats(0, 1_400)),
                      max_discharge_power_W=draw(power), target_soc=draw(fraction), reserve_soc=draw(fraction),
                      departure_s=draw(st.none() | st.floats(0, 86_400)), v2h_allowed=v2h,
                      v2g_allowed=v2h and draw(st.booleans()))
    battery = None
    if draw(st.booleans()):
        battery = BatteryState(soc=draw(fraction), capacity_Wh=draw(st.floats(2_000, 20_000)),
                               max_charge_power_W=draw(power), max_discharge_power_W=draw(power),
                               soc_min=draw(st.floats(0, 0.2)))
    return SiteState(pv_W=draw(st.floats(0, 12_000)), load_W=load,
                     import_price_EUR_per_MWh=draw(st.floats(-100, 600)),
                     export_price_EUR_per_MWh=draw(st.floats(-100, 600)),
                     grid_import_limit_W=draw(st.floats(load, 40_000)),
                     import_limit_14a_W=draw(st.sampled_from([math.inf, 4_200.0, 0.0])),
                     export_limit_W=draw(st.floats(0, 20_000)), ev=car, battery=battery)


@settings(max_examples=300, deadline=None)
@given(sites(), st.sampled_from([None, 250.0]), st.sampled_from([None, 100.0]))
def test_fallback_rule_respects_limits_consent_and_soc(site: SiteState, discharge_price: float | None,
                                                       v2g_price: float | None) -> None:
    rule = RuleSettings(discharge_min_price_EUR_per_MWh=discharge_price, v2g_min_price_EUR_per_MWh=v2g_price)
    out = fallback_rule(site, rule, now_s=0.0)
    values = [out.ev_charge_W, out.ev_discharge_W, out.battery_charge_W, out.battery_discharge_W,
              out.pv_curtailment_W]
    assert all(v >= 0 for v in values)
    assert out.grid_import_W(site) <= min(site.grid_import_limit_W, site.load_W + site.import_limit_14a_W) + TOL_W
    assert out.grid_export_W(site) <= site.export_limit_W + TOL_W
    dt_h = rule.step_s / 3600.0
    if site.ev is not None:
        ev = site.ev
        if not ev.plugged or not ev.v2h_allowed:
            assert out.ev_discharge_W == 0.0
        if not ev.plugged:
            assert out.ev_charge_W == 0.0
        assert out.ev_charge_W <= ev.max_charge_power_W + TOL_W
        assert out.ev_discharge_W <= ev.max_discharge_power_W + TOL_W
        soc_after = ev.soc + (out.ev_charge_W * ev.charge_efficiency
                              - out.ev_discharge_W / ev.discharge_efficiency) * dt_h / ev.capacity_Wh
        assert soc_after <= ev.soc_max + 1e-9
        if out.ev_discharge_W > 0:
            assert soc_after >= ev.reserve_soc - 1e-9
            if not ev.v2g_allowed:
                assert out.grid_export_W(site) <= TOL_W or out.ev_discharge_W <= TOL_W
    if site.battery is not None:
        bat = site.battery
        soc_after = bat.soc + (out.battery_charge_W * bat.charge_efficiency
                               - out.battery_discharge_W / bat.discharge_efficiency) * dt_h / bat.capacity_Wh
        assert min(bat.soc_min, bat.soc) - 1e-9 <= soc_after <= max(bat.soc_max, bat.soc) + 1e-9
