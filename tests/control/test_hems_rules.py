"""HEMS rules: fallback, evcc-style PV surplus and no control, from hand-checked tables."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from bidicharge.control.hems_mpc import HemsPlan, PlanStatus
from bidicharge.control.hems_rules import (
    BatteryState,
    EvccSettings,
    EvccState,
    EvMode,
    EvState,
    RuleSettings,
    Setpoints,
    SiteState,
    evcc_pv_rule,
    fallback_rule,
    follow_plan,
    no_control_rule,
)

CAR = EvState(plugged=True, soc=0.5, capacity_Wh=50_000, max_charge_power_W=11_000, min_charge_power_W=1_400,
              max_discharge_power_W=11_000, charge_efficiency=1.0, discharge_efficiency=1.0, target_soc=0.8,
              reserve_soc=0.3, v2h_allowed=True)
BATTERY = BatteryState(soc=0.5, capacity_Wh=10_000, max_charge_power_W=1_500, max_discharge_power_W=1_500,
                       charge_efficiency=1.0, discharge_efficiency=1.0)
PEAK = RuleSettings(discharge_min_price_EUR_per_MWh=300.0)


def site(**kwargs: object) -> SiteState:
    values: dict[str, object] = dict(pv_W=0.0, load_W=500.0, import_price_EUR_per_MWh=250.0,
                                     export_price_EUR_per_MWh=80.0, ev=CAR)
    values.update(kwargs)
    return SiteState(**values)  # type: ignore[arg-type]


# Departure guarantee: 30 kWh at 11 kW = 9 818 s at full power; with one 900 s step and a
# 1 800 s margin, idling is no longer possible once fewer than 12 518 s are left.
@pytest.mark.parametrize(("name", "state", "expected"), [
    ("pv surplus goes into the car", site(pv_W=6_000, load_W=1_000),
     Setpoints(ev_charge_W=5_000, ev_mode=EvMode.PV_SURPLUS)),
    ("surplus below the wallbox minimum goes into the battery", site(pv_W=2_000, load_W=1_000, battery=BATTERY),
     Setpoints(battery_charge_W=1_000)),
    ("departure just reachable: full power", site(ev=replace(CAR, soc=0.2, reserve_soc=0.0, departure_s=12_000.0)),
     Setpoints(ev_charge_W=11_000, ev_mode=EvMode.DEPARTURE)),
    ("departure with time to spare: wait", site(ev=replace(CAR, soc=0.2, reserve_soc=0.0, departure_s=13_000.0)),
     Setpoints(ev_mode=EvMode.IDLE)),
    ("below the owner's reserve: full power", site(ev=replace(CAR, soc=0.1)),
     Setpoints(ev_charge_W=11_000, ev_mode=EvMode.RESERVE)),
    ("evening peak: the car covers the house", site(load_W=2_000, import_price_EUR_per_MWh=400.0),
     Setpoints(ev_discharge_W=2_000, ev_mode=EvMode.V2H)),
    ("evening peak: battery first, the car the rest",
     site(load_W=2_000, import_price_EUR_per_MWh=400.0, battery=BATTERY),
     Setpoints(battery_discharge_W=1_500, ev_discharge_W=500, ev_mode=EvMode.V2H)),
    ("off-peak: storage waits", site(load_W=2_000, battery=BATTERY), Setpoints()),
    ("no V2H consent: no discharge", site(load_W=2_000, import_price_EUR_per_MWh=400.0,
                                          ev=replace(CAR, v2h_allowed=False)), Setpoints()),
    ("at the reserve: no discharge", site(load_W=2_000, import_price_EUR_per_MWh=400.0, ev=replace(CAR, soc=0.3)),
     Setpoints()),
    # 2 700 s = one step + the margin: nothing left to recharge a discharge before leaving
    ("a close departure keeps the energy in the car",
     site(load_W=2_000, import_price_EUR_per_MWh=400.0, ev=replace(CAR, soc=0.8, departure_s=2_700.0)),
     Setpoints()),
    ("§14a dimming cuts the departure charge to 4.2 kW",
     site(import_limit_14a_W=4_200.0, ev=replace(CAR, soc=0.2, departure_s=9_000.0)),
     Setpoints(ev_charge_W=4_200, ev_mode=EvMode.LIMITED)),
    ("feed-in limit: curtail what nobody takes", site(pv_W=10_000, load_W=0.0, export_limit_W=6_000, ev=None),
     Setpoints(pv_curtailment_W=4_000)),
    ("v2g price reached, consent given: export", site(export_price_EUR_per_MWh=150.0,
                                                      ev=replace(CAR, v2g_allowed=True)),
     Setpoints(ev_discharge_W=11_000, ev_mode=EvMode.V2G)),
    ("v2g price reached, no consent: house load only", site(export_price_EUR_per_MWh=150.0, load_W=700.0),
     Setpoints(ev_discharge_W=700, ev_mode=EvMode.V2H)),
])
def test_fallback_rule(name: str, state: SiteState, expected: Setpoints) -> None:
    settings = replace(PEAK, v2g_min_price_EUR_per_MWh=120.0) if "v2g" in name else PEAK
    if "v2g" in name:
        settings = replace(settings, discharge_min_price_EUR_per_MWh=None)
    result = fallback_rule(state, settings, now_s=0.0)
    assert result.ev_mode is expected.ev_mode
    for field in ("ev_charge_W", "ev_discharge_W", "battery_charge_W", "battery_discharge_W", "pv_curtailment_W"):
        assert getattr(result, field) == pytest.approx(getattr(expected, field)), field


def test_fallback_rule_reaches_the_departure_target_when_stepped() -> None:
    """Steps the rule with plain energy bookkeeping: a dark, off-peak night; the car leaves at 7 h."""
    car = replace(CAR, soc=0.2, reserve_soc=0.0, departure_s=7 * 3600.0, charge_efficiency=0.9)
    rule = RuleSettings(discharge_min_price_EUR_per_MWh=300.0)
    charged_W = []
    for step in range(28):
        out = fallback_rule(site(ev=car), rule, now_s=step * 900.0)
        charged_W.append(out.ev_charge_W)
        car = replace(car, soc=car.soc + out.ev_charge_W * 0.9 * 0.25 / car.capacity_Wh)
    assert car.soc == pytest.approx(0.8)
    assert charged_W[0] == 0.0  # 3 h at full power suffice: it starts late, not at once


EVCC = EvccSettings(enable_delay_s=60.0, disable_delay_s=180.0, step_s=60.0)


@pytest.mark.parametrize(("surplus_W", "state", "expected_W", "expected_phases"), [
    (5_000, EvccState(enabled=True, phases=3), 7 * 690, 3),      # floor(5000 / 690 W/A) = 7 A
    (20_000, EvccState(enabled=True, phases=3), 11_000, 3),      # 16 A × 690, capped by the car
    (3_000, EvccState(enabled=True, phases=3), 6 * 690, 3),      # below 3p minimum: hold 6 A during the delay
    (5_000, EvccState(enabled=False, phases=3), 0, 3),           # enable delay starts
    (1_000, EvccState(enabled=True, phases=1), 6 * 230, 1),      # below 1p minimum: hold during the delay
])
def test_evcc_first_cycle(surplus_W: float, state: EvccState, expected_W: float, expected_phases: int) -> None:
    out, new_state = evcc_pv_rule(site(pv_W=surplus_W + 500, ev=replace(CAR, soc=0.5)), state, EVCC, now_s=0.0)
    assert out.ev_charge_W == pytest.approx(expected_W)
    assert new_state.phases == expected_phases
    assert out.ev_discharge_W == 0.0


def test_evcc_switches_to_one_phase_after_the_delay_and_charges_13_A() -> None:
    state = EvccState(enabled=True, phases=3)
    state_site = site(pv_W=3_500, ev=replace(CAR, soc=0.5))  # 3 kW surplus
    _, state = evcc_pv_rule(state_site, state, EVCC, now_s=0.0)
    out, state = evcc_pv_rule(state_site, state, EVCC, now_s=180.0)
    assert state.phases == 1
    assert out.ev_charge_W == pytest.approx(13 * 230)  # floor(3000 / 230) = 13 A


@pytest.mark.parametrize(("surplus_W", "delay_s", "enabled_after"), [
    (5_000, 60.0, True),    # enough surplus for 60 s: charging starts
    (1_000, 180.0, False),  # too little for 3 min: charging stops
])
def test_evcc_delays(surplus_W: float, delay_s: float, enabled_after: bool) -> None:
    state = EvccState(enabled=not enabled_after, phases=1)
    state_site = site(pv_W=surplus_W + 500, ev=replace(CAR, soc=0.5))
    _, state = evcc_pv_rule(state_site, state, replace(EVCC, phase_switching=False, max_phases=1), now_s=0.0)
    assert state.enabled is not enabled_after
    out, state = evcc_pv_rule(state_site, state, replace(EVCC, phase_switching=False, max_phases=1),
                              now_s=delay_s)
    assert state.enabled is enabled_after
    assert (out.ev_charge_W > 0) is enabled_after


def test_evcc_charges_fast_below_min_soc_and_never_discharges() -> None:
    out, _ = evcc_pv_rule(site(ev=replace(CAR, soc=0.1), load_W=3_000, import_price_EUR_per_MWh=900.0),
                          EvccState(), replace(EVCC, min_soc=0.2), now_s=0.0)
    assert out.ev_charge_W == pytest.approx(11_000)
    out, _ = evcc_pv_rule(site(load_W=3_000, import_price_EUR_per_MWh=900.0), EvccState(), EVCC, now_s=0.0)
    assert out.ev_charge_W == 0.0 and out.ev_discharge_W == 0.0


@pytest.mark.parametrize(("state", "expected_W"), [
    (site(), 11_000),
    (site(ev=replace(CAR, soc=1.0)), 0),
    (site(ev=replace(CAR, plugged=False)), 0),
    (site(import_limit_14a_W=4_200.0), 4_200),
    (site(grid_import_limit_W=8_000.0), 7_500),  # 8 kW connection, 0.5 kW house load
])
def test_no_control_charges_at_full_power_within_limits(state: SiteState, expected_W: float) -> None:
    assert no_control_rule(state).ev_charge_W == pytest.approx(expected_W)


def test_rules_refuse_nonsense_measurements() -> None:
    with pytest.raises(ValueError, match="soc"):
        replace(CAR, soc=2.5)
    with pytest.raises(ValueError, match="pv_W"):
        site(pv_W=-100.0)
    with pytest.raises(ValueError, match="pv_W"):
        site(pv_W=math.nan)


def _one_step_plan(**flows: float) -> HemsPlan:
    """A plan of one step whose flows are given directly (the LP is tested elsewhere)."""
    def arr(name: str) -> np.ndarray:
        return np.array([flows.get(name, 0.0)])
    return HemsPlan(status=PlanStatus.OPTIMAL, step_s=900.0, ev_charge_W=arr("ev_charge_W"),
                    ev_discharge_W=arr("ev_discharge_W"), battery_charge_W=arr("battery_charge_W"),
                    battery_discharge_W=arr("battery_discharge_W"), grid_import_W=arr("grid_import_W"),
                    grid_export_W=arr("grid_export_W"), pv_curtailment_W=arr("pv_curtailment_W"),
                    ev_energy_Wh=np.zeros(2), battery_energy_Wh=np.zeros(2), objective_EUR=0.0, energy_cost_EUR=0.0,
                    wear_cost_EUR=0.0, departure_shortfall_Wh=0.0, trip_shortfall_Wh=0.0)


@pytest.mark.parametrize(("name", "flows", "state", "expected"), [
    ("plan followed as is", {"ev_charge_W": 7_000}, site(),
     Setpoints(ev_charge_W=7_000, ev_mode=EvMode.DEPARTURE)),
    # forecast said 2 kW house load, but the sun came out: no V2G consent, so the car stops
    ("measured pv covers the house: the car stops discharging", {"ev_discharge_W": 2_000},
     site(pv_W=3_000, load_W=2_000), Setpoints(pv_curtailment_W=0.0)),
    ("measured §14a dimming cuts the planned charge", {"ev_charge_W": 11_000}, site(import_limit_14a_W=4_200.0),
     Setpoints(ev_charge_W=4_200, ev_mode=EvMode.LIMITED)),
    ("the car left early: nothing for it", {"ev_charge_W": 11_000}, site(ev=replace(CAR, plugged=False)),
     Setpoints(ev_mode=EvMode.UNPLUGGED)),
    ("never below the reserve, whatever the plan says", {"ev_discharge_W": 11_000},
     site(load_W=20_000, ev=replace(CAR, soc=0.31)), Setpoints(ev_discharge_W=2_000, ev_mode=EvMode.V2H)),
])
def test_follow_plan_makes_the_plan_safe_for_what_is_measured(name: str, flows: dict[str, float],
                                                             state: SiteState, expected: Setpoints) -> None:
    result = follow_plan(_one_step_plan(**flows), 0, state, PEAK)
    assert result.ev_mode is expected.ev_mode
    for field in ("ev_charge_W", "ev_discharge_W", "battery_charge_W", "battery_discharge_W", "pv_curtailment_W"):
        assert getattr(result, field) == pytest.approx(getattr(expected, field)), field


def test_follow_plan_falls_back_to_the_rule_without_a_usable_plan() -> None:
    failed = replace(_one_step_plan(), status=PlanStatus.FAILED)
    state = site(ev=replace(CAR, soc=0.1))
    assert follow_plan(failed, 0, state, PEAK) == fallback_rule(state, PEAK, now_s=0.0)
    assert follow_plan(_one_step_plan(), 5, state, PEAK).ev_mode is EvMode.RESERVE  # past the plan's end
