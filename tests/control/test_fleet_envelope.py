"""Fleet envelope (I-23): tubes are inner, schedules outside are refused naming the interval."""

from __future__ import annotations

import numpy as np
import pytest

from bidicharge.control.fleet_disaggregation import disaggregate
from bidicharge.control.fleet_envelope import (
    ScheduleOutsideEnvelope,
    build_envelope,
    build_tubes,
    check_schedule,
    neutral_reference,
    optimal_pool_schedule,
    reference_plan,
)
from bidicharge.control.fleet_flexibility import FleetFlexibility, build_flexibility, grid_to_battery_W
from bidicharge.control.fleet_joint_lp import solve_joint
from bidicharge.control.fleet_samples import planning_horizon, sample_day_ahead_prices, sample_fleet


def fleet(seed: int, n: int) -> tuple[FleetFlexibility, np.ndarray]:
    horizon = planning_horizon()
    rng = np.random.default_rng(seed)
    flex = build_flexibility(sample_fleet(rng, n), horizon, now_s=horizon.start_s)
    return flex, sample_day_ahead_prices(rng, horizon)


def test_tubes_lie_in_the_windows_and_any_point_reaches_any_next_point() -> None:
    flex, price = fleet(1, 120)
    tubes = build_tubes(flex, reference_plan(flex, price + 15.0))
    assert np.all(tubes.lower_Wh >= flex.min_energy_Wh - 1e-6)
    assert np.all(tubes.upper_Wh <= flex.max_energy_Wh + 1e-6)
    dt_h = flex.horizon.step_s / 3600.0
    eta_c, eta_d = flex.charge_efficiency[:, None], flex.discharge_efficiency[:, None]
    step_hi = np.maximum(grid_to_battery_W(flex.max_power_W, eta_c, eta_d), 0) * dt_h
    step_lo = np.minimum(grid_to_battery_W(flex.min_power_W, eta_c, eta_d), 0) * dt_h
    # worst moves: bottom of one tube to the top of the next, and top to bottom
    assert np.all(tubes.upper_Wh[:, 1:] - tubes.lower_Wh[:, :-1] <= step_hi + 1e-6)
    assert np.all(tubes.lower_Wh[:, 1:] - tubes.upper_Wh[:, :-1] >= step_lo - 1e-6)
    assert tubes.half_width_Wh.sum() > 0  # there is something to offer


def test_with_a_perfect_forecast_the_commercial_optimum_is_the_joint_optimum() -> None:
    flex, price = fleet(2, 80)
    envelope = build_envelope(flex, build_tubes(flex, reference_plan(flex, price)))
    schedule = optimal_pool_schedule(envelope, price)
    dispatch = disaggregate(flex, schedule, build_tubes(flex, reference_plan(flex, price)))
    cost = float(np.sum(price * dispatch.power_W.sum(axis=0)) * 0.25 / 1e6)
    assert cost == pytest.approx(solve_joint(flex, price).cost_EUR, rel=1e-6, abs=1e-3)


@pytest.mark.parametrize("seed", [3, 4])
def test_commercial_schedule_is_inside_and_split_exactly(seed: int) -> None:
    flex, price = fleet(seed, 150)
    forecast = np.repeat(price.reshape(-1, 4).mean(axis=1), 4)  # an hourly forecast
    tubes = build_tubes(flex, reference_plan(flex, forecast))
    envelope = build_envelope(flex, tubes)
    schedule = optimal_pool_schedule(envelope, price)
    check_schedule(envelope, schedule)
    dispatch = disaggregate(flex, schedule, tubes)
    assert dispatch.first_infeasible_interval is None
    assert dispatch.power_W.sum(axis=0) == pytest.approx(schedule, abs=0.1)  # W
    # and trading quarter-hours inside the envelope beats keeping the hourly plan
    baseline_cost = float(np.sum(price * envelope.baseline_power_W))
    assert float(np.sum(price * schedule)) <= baseline_cost + 1e-6


def test_neutral_envelope_without_forecast_is_still_deliverable() -> None:
    flex, price = fleet(5, 60)
    tubes = build_tubes(flex, neutral_reference(flex))
    schedule = optimal_pool_schedule(build_envelope(flex, tubes), price)
    assert disaggregate(flex, schedule, tubes).first_infeasible_interval is None


def test_schedule_above_the_power_series_is_refused_naming_the_interval() -> None:
    flex, price = fleet(6, 40)
    envelope = build_envelope(flex, build_tubes(flex, reference_plan(flex, price)))
    check_schedule(envelope, envelope.baseline_power_W)  # the baseline is always inside
    schedule = envelope.baseline_power_W.copy()
    schedule[37] = envelope.max_power_W[37] + 5_000.0
    with pytest.raises(ScheduleOutsideEnvelope, match="interval 37: power") as info:
        check_schedule(envelope, schedule)
    assert info.value.interval == 37


def test_schedule_that_overfills_the_pool_is_refused_naming_the_interval() -> None:
    flex, price = fleet(7, 40)
    envelope = build_envelope(flex, build_tubes(flex, neutral_reference(flex)))
    schedule = envelope.baseline_power_W.copy()
    schedule[40:] = envelope.max_power_W[40:]  # each interval on its own is allowed ...
    with pytest.raises(ScheduleOutsideEnvelope, match="stored energy up to") as info:
        check_schedule(envelope, schedule)  # ... but together they store too much
    assert info.value.interval >= 40


def test_schedule_of_the_wrong_length_is_refused() -> None:
    flex, price = fleet(8, 10)
    envelope = build_envelope(flex, build_tubes(flex, neutral_reference(flex)))
    with pytest.raises(ScheduleOutsideEnvelope, match="need 96 values"):
        check_schedule(envelope, np.zeros(95))


@pytest.mark.parametrize("shift", [0.0, -60.0])  # -60 €/MWh: many negative-price intervals
def test_charge_only_plan_costs_what_the_lp_costs(shift: float) -> None:
    from dataclasses import replace

    from bidicharge.control.fleet_envelope import charge_only_plan
    from bidicharge.control.fleet_flexibility import battery_to_grid_W

    horizon = planning_horizon()
    rng = np.random.default_rng(9)
    cars = [replace(c, v2g_consent=False) for c in sample_fleet(rng, 80)]
    flex = build_flexibility(cars, horizon, now_s=horizon.start_s)
    price = sample_day_ahead_prices(rng, horizon) + shift
    plan = charge_only_plan(flex, price)
    assert np.all(plan >= flex.min_energy_Wh - 1e-6) and np.all(plan <= flex.max_energy_Wh + 1e-6)
    power = battery_to_grid_W(np.diff(plan, axis=1) / 0.25, flex.charge_efficiency[:, None],
                              flex.discharge_efficiency[:, None])
    assert np.all(power <= flex.max_power_W + 1e-6) and np.all(power >= -1e-9)
    cost = float(np.sum(price * power.sum(axis=0)) * 0.25 / 1e6)
    assert cost == pytest.approx(solve_joint(flex, price).cost_EUR, rel=1e-6, abs=1e-4)


def test_any_reference_is_made_feasible_and_still_split_exactly() -> None:
    flex, price = fleet(10, 60)
    rng = np.random.default_rng(10)
    nonsense = rng.uniform(-40_000, 40_000, flex.min_energy_Wh.shape)  # not a plan at all
    tubes = build_tubes(flex, nonsense)
    assert np.all(tubes.center_Wh >= flex.min_energy_Wh - 1e-6)
    assert np.all(tubes.center_Wh <= flex.max_energy_Wh + 1e-6)
    schedule = optimal_pool_schedule(build_envelope(flex, tubes), price)
    dispatch = disaggregate(flex, schedule, tubes)
    assert dispatch.first_infeasible_interval is None
    assert dispatch.power_W.sum(axis=0) == pytest.approx(schedule, abs=0.1)
