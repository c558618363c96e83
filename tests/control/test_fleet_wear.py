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


@pytest.mark.parametrize(("spread", "cycles"), [(20.0, False), (50.0, True)])
def test_the_commercial_step_cycles_only_for_a_spread_above_the_wear(spread: float, cycles: bool) -> None:
    flex = build_flexibility([car(i, 0.03) for i in range(3)], HORIZON, now_s=0.0)
    price = prices(spread)
    # a flat forecast: the reference plan does nothing, so any cycling is the commercial step's
    tubes = build_tubes(flex, reference_plan(flex, np.full(HORIZON.n_steps, 100.0)))
    envelope = build_envelope(flex, tubes)
    assert envelope.wear_EUR_per_MWh == pytest.approx(30.0)  # lossless: 0.03 EUR/kWh out of the cells
    dispatch = disaggregate(flex, optimal_pool_schedule(envelope, price), tubes)
    assert bool(discharged_Wh(dispatch.power_W) > 1.0) is cycles


def test_the_wear_price_travels_on_i23_to_the_commercial_side() -> None:
    from bidicharge.components.interfaces.i23_flexibility import FlexibilityOffer
    from bidicharge.components.tech_aggregator.commercial_standin import _envelope

    flex = build_flexibility([car(i, 0.03) for i in range(3)], HORIZON, now_s=0.0)
    env = build_envelope(flex, build_tubes(flex, reference_plan(flex, np.full(HORIZON.n_steps, 100.0))))
    assert env.wear_free_min_power_W is not None

    def series(a: np.ndarray) -> tuple[float, ...]:
        return tuple(float(v) for v in a)

    offer = FlexibilityOffer(
        offer_id="o", start_s=0.0, step_s=900.0, n_cars=3, baseline_power_W=series(env.baseline_power_W),
        min_power_W=series(env.min_power_W), max_power_W=series(env.max_power_W),
        baseline_energy_Wh=series(env.baseline_energy_Wh), min_energy_Wh=series(env.min_energy_Wh),
        max_energy_Wh=series(env.max_energy_Wh), rate_low=env.rate_low, rate_high=env.rate_high,
        price_EUR_per_MWh=series(prices(20.0)), wear_EUR_per_MWh=env.wear_EUR_per_MWh,
        wear_free_min_power_W=series(env.wear_free_min_power_W))
    received = _envelope(offer)
    assert received.wear_EUR_per_MWh == pytest.approx(30.0)
    schedule = optimal_pool_schedule(received, prices(20.0))
    assert float(np.minimum(schedule, 0.0).min()) > -1.0  # the commercial side does not sell a 20 EUR spread
    with pytest.raises(ValueError, match="wear_free_min_power_W needs 16 values"):
        FlexibilityOffer(**{**offer.__dict__, "wear_free_min_power_W": (0.0,)})


def test_wear_is_priced_only_below_what_charging_cars_can_give_way() -> None:
    """A car that must charge anyway may stop charging at no wear: only going below costs wear."""
    charging = CarSession(car_id="ch", arrival_s=0.0, departure_s=HORIZON.end_s, soc=0.2, capacity_Wh=60e3,
                          max_charge_power_W=11_000.0, max_discharge_power_W=0.0, target_soc=0.5,
                          min_soc_for_discharge=0.2, v2g_consent=False, charge_efficiency=1.0,
                          discharge_efficiency=1.0)
    flex = build_flexibility([charging, car(1, 0.03)], HORIZON, now_s=0.0)
    env = build_envelope(flex, build_tubes(flex, reference_plan(flex, np.full(HORIZON.n_steps, 100.0))))
    assert env.wear_free_min_power_W is not None
    # 9 kWh to 50 % at 11 kW: the charging car's tube forces full power for the first 6 intervals
    # (its minimum sets the wear-free floor there); the V2G car adds nothing, and afterwards
    # any power below 0 is a discharge
    assert env.wear_free_min_power_W[:6] == pytest.approx(11_000.0)
    assert env.wear_free_min_power_W[7:] == pytest.approx(0.0)
    assert np.all(env.min_power_W[7:] < -1_000.0)  # while the V2G car could discharge there


def test_without_wear_the_commercial_step_is_unchanged() -> None:
    flex = build_flexibility([car(i, 0.0) for i in range(3)], HORIZON, now_s=0.0)
    env = build_envelope(flex, build_tubes(flex, reference_plan(flex, np.full(HORIZON.n_steps, 100.0))))
    assert env.wear_EUR_per_MWh == 0.0 and env.wear_free_min_power_W is None


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
