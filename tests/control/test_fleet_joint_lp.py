"""The exact joint LP: the quality anchor buys cheap, sells dear, and keeps every car's rules."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bidicharge.control.fleet_flexibility import CarSession, Horizon, build_flexibility
from bidicharge.control.fleet_joint_lp import solve_joint
from bidicharge.control.fleet_samples import planning_horizon, sample_day_ahead_prices, sample_fleet

H = 3600.0
HORIZON = Horizon(start_s=0.0, n_steps=2, step_s=H)


def car(**changes: object) -> CarSession:
    base = CarSession(
        car_id="ev1", arrival_s=0.0, departure_s=2 * H, soc=0.5, capacity_Wh=10_000.0,
        max_charge_power_W=2_000.0, max_discharge_power_W=2_000.0, target_soc=0.6,
        min_soc_for_discharge=0.2, v2g_consent=True, charge_efficiency=0.9, discharge_efficiency=0.9,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(("consent", "price", "expected_W"), [
    (False, [10.0, 100.0], [1111.1, 0.0]),  # 1 kWh into the cells (η 0.9), bought in the cheap hour
    (False, [100.0, 10.0], [0.0, 1111.1]),
    # full charge in the cheap hour (1.8 kWh in), then sell what lies above the target: 0.8 kWh·0.9
    (True, [10.0, 100.0], [2000.0, -720.0]),
    (True, [10.0, 11.0], [1111.1, 0.0]),  # spread below the round-trip loss: no cycling
])
def test_joint_lp_buys_low_and_sells_high(consent: bool, price: list[float], expected_W: list[float]) -> None:
    flex = build_flexibility([car(v2g_consent=consent)], HORIZON, now_s=0.0)
    solution = solve_joint(flex, np.array(price))
    assert solution.power_W[0] == pytest.approx(expected_W, abs=1)
    assert solution.energy_Wh[0, -1] >= 1000.0 - 1e-3  # target 6 kWh from 5 kWh


def test_chunked_solve_gives_the_same_optimum() -> None:
    horizon = planning_horizon()
    rng = np.random.default_rng(5)
    flex = build_flexibility(sample_fleet(rng, 60), horizon, now_s=horizon.start_s)
    price = sample_day_ahead_prices(rng, horizon)
    whole = solve_joint(flex, price)
    chunked = solve_joint(flex, price, chunk_cars=7)
    assert chunked.cost_EUR == pytest.approx(whole.cost_EUR, rel=1e-6, abs=1e-4)


def test_joint_schedules_stay_inside_every_cars_window() -> None:
    horizon = planning_horizon()
    rng = np.random.default_rng(6)
    flex = build_flexibility(sample_fleet(rng, 40), horizon, now_s=horizon.start_s)
    solution = solve_joint(flex, sample_day_ahead_prices(rng, horizon))
    assert np.all(solution.power_W <= flex.max_power_W + 1e-3)
    assert np.all(solution.power_W >= flex.min_power_W - 1e-3)
    assert np.all(solution.energy_Wh >= flex.min_energy_Wh - 1e-3)
    assert np.all(solution.energy_Wh[np.arange(40), flex.departure_index] >= flex.required_energy_Wh - 1e-3)


@pytest.mark.parametrize("seed", [21, 22])
def test_dynamic_programme_finds_the_lp_optimum_for_non_negative_prices(seed: int) -> None:
    from bidicharge.control.fleet_flexibility import battery_to_grid_W
    from bidicharge.control.fleet_joint_lp import plan_by_slopes

    horizon = planning_horizon()
    rng = np.random.default_rng(seed)
    flex = build_flexibility(sample_fleet(rng, 150), horizon, now_s=horizon.start_s)
    price = np.maximum(sample_day_ahead_prices(rng, horizon), 0.0)
    stored = plan_by_slopes(flex, price, chunk_cars=64)
    power = battery_to_grid_W(np.diff(stored, axis=1) / 0.25, flex.charge_efficiency[:, None],
                              flex.discharge_efficiency[:, None])
    assert np.all(stored >= flex.min_energy_Wh - 1e-3) and np.all(stored <= flex.max_energy_Wh + 1e-3)
    assert np.all(power <= np.maximum(flex.max_power_W, 0) + 1e-3)
    assert np.all(power >= np.minimum(flex.min_power_W, 0) - 1e-3)
    cost = float(np.sum(price * power.sum(axis=0)) * 0.25 / 1e6)
    assert cost == pytest.approx(solve_joint(flex, price).cost_EUR, rel=1e-6, abs=1e-3)


def test_dynamic_programme_stays_physical_at_negative_prices() -> None:
    from bidicharge.control.fleet_flexibility import battery_to_grid_W
    from bidicharge.control.fleet_joint_lp import plan_by_slopes

    horizon = planning_horizon()
    rng = np.random.default_rng(23)
    flex = build_flexibility(sample_fleet(rng, 100), horizon, now_s=horizon.start_s)
    price = sample_day_ahead_prices(rng, horizon) - 80.0  # a third of the day below zero
    stored = plan_by_slopes(flex, price)
    power = battery_to_grid_W(np.diff(stored, axis=1) / 0.25, flex.charge_efficiency[:, None],
                              flex.discharge_efficiency[:, None])
    assert np.all(stored >= flex.min_energy_Wh - 1e-3) and np.all(stored <= flex.max_energy_Wh + 1e-3)
    cost = float(np.sum(price * power.sum(axis=0)) * 0.25 / 1e6)
    # the LP may charge and discharge at once (burning energy for money): a lower bound
    assert cost >= solve_joint(flex, price).cost_EUR - 1e-3
