"""Battery wear in fleet dispatch: no V2G cycling for a spread the wear eats (control/fleet_battery_wear)."""

from __future__ import annotations

import numpy as np
import pytest

from bidicharge.control.fleet_battery_wear import DEFAULT_WEAR_EUR_PER_KWH, wear_cost_EUR_per_kWh
from bidicharge.control.fleet_disaggregation import disaggregate
from bidicharge.control.fleet_envelope import (
    build_envelope,
    build_tubes,
    optimal_pool_schedule,
    reference_plan,
)
from bidicharge.control.fleet_flexibility import CarSession, Horizon, InvalidCarData, build_flexibility
from bidicharge.control.fleet_joint_lp import plan_by_slopes, solve_joint

HORIZON = Horizon(start_s=0.0, n_steps=16, step_s=900.0)


def car(i: int, wear_EUR_per_kWh: float) -> CarSession:
    # lossless, so only the wear stands between a spread and a cycle
    return CarSession(car_id=f"c{i}", arrival_s=0.0, departure_s=HORIZON.end_s, soc=0.5, capacity_Wh=60e3,
                      max_charge_power_W=11_000.0, max_discharge_power_W=11_000.0, target_soc=0.5,
                      min_soc_for_discharge=0.2, v2g_consent=True, charge_efficiency=1.0,
                      discharge_efficiency=1.0, wear_EUR_per_kWh=wear_EUR_per_kWh)


def prices(spread_EUR_per_MWh: float) -> np.ndarray:
    """Cheap first half, dear second half: buy now, sell later pays the spread per MWh cycled."""
    return np.where(np.arange(HORIZON.n_steps) < 8, 100.0, 100.0 + spread_EUR_per_MWh)


def discharged_Wh(power_W: np.ndarray) -> float:
    return float(-np.minimum(power_W, 0.0).sum() * HORIZON.step_s / 3600.0)


@pytest.mark.parametrize(("spread", "wear", "cycles"), [
    (20.0, 0.03, False),  # 20 EUR/MWh < 30 EUR/MWh of wear: nothing to earn
    (20.0, 0.0, True),  # without wear the same spread is worth cycling
    (50.0, 0.03, True),  # a spread above the wear still is
])
def test_a_spread_below_the_wear_cost_produces_no_v2g_cycling(spread: float, wear: float, cycles: bool) -> None:
    flex = build_flexibility([car(i, wear) for i in range(3)], HORIZON, now_s=0.0)
    price = prices(spread)
    joint = solve_joint(flex, price)
    assert bool(discharged_Wh(joint.power_W) > 1.0) is cycles
    plan = plan_by_slopes(flex, price)
    assert bool(np.diff(plan, axis=1).min() < -1.0) is cycles


@pytest.mark.xfail(strict=True, reason=(
    "open: the I-23 envelope carries no wear price, so the commercial LP cycles inside the tubes "
    "of idle V2G cars for any spread (issue 8 note)"))
def test_the_commercial_step_does_not_cycle_for_a_spread_below_the_wear() -> None:
    flex = build_flexibility([car(i, 0.03) for i in range(3)], HORIZON, now_s=0.0)
    price = prices(20.0)
    tubes = build_tubes(flex, reference_plan(flex, price))
    dispatch = disaggregate(flex, optimal_pool_schedule(build_envelope(flex, tubes), price), tubes)
    assert discharged_Wh(dispatch.power_W) < 1.0


def test_the_joint_lp_books_the_wear_in_its_cost() -> None:
    price = prices(50.0)
    free = solve_joint(build_flexibility([car(0, 0.0)], HORIZON, now_s=0.0), price)
    worn = solve_joint(build_flexibility([car(0, 0.03)], HORIZON, now_s=0.0), price)
    assert worn.cost_EUR == pytest.approx(free.cost_EUR + 0.03 * discharged_Wh(worn.power_W) / 1e3, abs=1e-6)


def test_the_default_follows_from_the_cited_ageing() -> None:
    figure = wear_cost_EUR_per_kWh(extra_fade_share=0.058, capacity_kWh=60.0, pack_EUR_per_kWh=150.0,
                                   discharged_kWh=10 * 250 * 7.0)
    assert figure == pytest.approx(DEFAULT_WEAR_EUR_PER_KWH, rel=0.01)


def test_a_negative_wear_cost_is_refused_with_the_reason() -> None:
    with pytest.raises(InvalidCarData, match="wear"):
        build_flexibility([car(0, -0.01)], HORIZON, now_s=0.0)
