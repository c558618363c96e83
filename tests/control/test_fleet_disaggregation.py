"""Disaggregation: per-car schedules that sum to the pool schedule and never break a car's rules."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bidicharge.control.fleet_disaggregation import Override, disaggregate, dispatch_interval
from bidicharge.control.fleet_envelope import (
    build_envelope,
    build_tubes,
    check_schedule,
    neutral_reference,
    optimal_pool_schedule,
    reference_plan,
)
from bidicharge.control.fleet_flexibility import (
    CarSession,
    FleetFlexibility,
    Horizon,
    build_flexibility,
    grid_to_battery_W,
)

Q = 900.0
T = 12
HORIZON = Horizon(start_s=0.0, n_steps=T, step_s=Q)
TOL_WH = 0.5


def battery_Wh(cars: list[CarSession], flex: FleetFlexibility, power_W: np.ndarray) -> np.ndarray:
    """Stored energy per car and boundary, from the grid powers and the cars' own efficiencies."""
    cells = grid_to_battery_W(power_W, flex.charge_efficiency[:, None], flex.discharge_efficiency[:, None])
    start = np.array([c.soc * c.capacity_Wh for c in cars])
    return start[:, None] + np.concatenate([np.zeros((len(cars), 1)), np.cumsum(cells, axis=1) * Q / 3600], axis=1)


def assert_every_car_keeps_its_rules(cars: list[CarSession], flex: FleetFlexibility, power_W: np.ndarray) -> None:
    stored = battery_Wh(cars, flex, power_W)
    for i, c in enumerate(cars):
        edges = HORIZON.start_s + Q * np.arange(T + 1)
        plugged = np.clip((np.minimum(c.departure_s, edges[1:]) - np.maximum(c.arrival_s, edges[:-1])) / Q, 0, 1)
        assert np.all(power_W[i] <= plugged * c.max_charge_power_W + 1e-6), c
        assert np.all(power_W[i] >= -plugged * c.max_discharge_power_W - 1e-6), c
        if not c.v2g_consent or c.soc < c.min_soc_for_discharge - 1e-9:
            assert np.all(power_W[i] >= -1e-6), "discharged without consent or below the owner's minimum"
        else:
            assert stored[i].min() >= c.min_soc_for_discharge * c.capacity_Wh - TOL_WH, "below the owner's minimum"
        assert stored[i].max() <= max(c.max_soc * c.capacity_Wh, c.soc * c.capacity_Wh) + TOL_WH
        k = int(flex.departure_index[i])
        if c.departure_s <= HORIZON.end_s and flex.target_reachable[i]:
            assert stored[i, k] >= c.target_soc * c.capacity_Wh - TOL_WH, "left without its target"


@st.composite
def cars_strategy(draw: st.DrawFn) -> list[CarSession]:
    n = draw(st.integers(1, 6))
    cars = []
    for i in range(n):
        arrival = draw(st.floats(-2 * Q, (T - 1) * Q))
        stay = draw(st.floats(0.3 * Q, 2 * T * Q))
        capacity = draw(st.floats(20_000, 90_000))
        power = draw(st.sampled_from([3_700.0, 7_400.0, 11_000.0]))
        max_soc = draw(st.floats(0.6, 1.0))
        cars.append(CarSession(
            car_id=f"ev{i}", arrival_s=arrival, departure_s=max(arrival + stay, 60.0),
            soc=draw(st.floats(0.0, 1.0)), capacity_Wh=capacity, max_charge_power_W=power,
            max_discharge_power_W=draw(st.sampled_from([0.0, power, 0.5 * power])),
            target_soc=draw(st.floats(0.0, max_soc)), min_soc_for_discharge=draw(st.floats(0.0, max_soc)),
            v2g_consent=draw(st.booleans()), charge_efficiency=draw(st.floats(0.8, 1.0)),
            discharge_efficiency=draw(st.floats(0.8, 1.0)), max_soc=max_soc,
        ))
    return cars


prices = st.lists(st.floats(-50.0, 300.0), min_size=T, max_size=T).map(np.array)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cars=cars_strategy(), price=prices, forecast=st.one_of(st.none(), prices))
def test_schedule_inside_the_envelope_is_split_exactly_and_every_car_keeps_its_rules(
        cars: list[CarSession], price: np.ndarray, forecast: np.ndarray | None) -> None:
    flex = build_flexibility(cars, HORIZON, now_s=0.0)
    reference = neutral_reference(flex) if forecast is None else reference_plan(flex, forecast)
    tubes = build_tubes(flex, reference)
    envelope = build_envelope(flex, tubes)
    schedule = optimal_pool_schedule(envelope, price)
    check_schedule(envelope, schedule)
    dispatch = disaggregate(flex, schedule, tubes)
    assert dispatch.power_W.sum(axis=0) == pytest.approx(schedule, abs=0.1)  # W
    assert dispatch.first_infeasible_interval is None
    assert_every_car_keeps_its_rules(cars, flex, dispatch.power_W)


@settings(max_examples=60, deadline=None)
@given(cars=cars_strategy(), wish=st.lists(st.floats(-80_000, 80_000), min_size=T, max_size=T).map(np.array))
def test_any_pool_schedule_never_breaks_a_car(cars: list[CarSession], wish: np.ndarray) -> None:
    flex = build_flexibility(cars, HORIZON, now_s=0.0)
    dispatch = disaggregate(flex, wish)
    assert_every_car_keeps_its_rules(cars, flex, dispatch.power_W)
    delivered = dispatch.power_W.sum(axis=0)
    assert delivered + dispatch.shortfall_W == pytest.approx(wish, abs=1e-2)


def three_cars() -> tuple[list[CarSession], FleetFlexibility]:
    base = CarSession(
        car_id="a", arrival_s=0.0, departure_s=T * Q, soc=0.5, capacity_Wh=50_000.0,
        max_charge_power_W=11_000.0, max_discharge_power_W=11_000.0, target_soc=0.6,
        min_soc_for_discharge=0.3, v2g_consent=True, charge_efficiency=0.92, discharge_efficiency=0.92,
    )
    cars = [base, replace(base, car_id="b", soc=0.4), replace(base, car_id="c", soc=0.7)]
    return cars, build_flexibility(cars, HORIZON, now_s=0.0)


def no_override(n: int) -> Override:
    return Override(fixed_power_W=np.full(n, np.nan), max_charge_power_W=np.full(n, np.nan))


@pytest.mark.parametrize(("case", "car", "value_W"), [
    ("early unplug", 0, 0.0),
    ("late arrival", 1, 0.0),
    ("does not follow", 2, 2_500.0),
])
def test_redispatch_lets_the_others_absorb_a_pinned_car(case: str, car: int, value_W: float) -> None:
    cars, flex = three_cars()
    pool_W = 15_000.0
    override = no_override(3)
    override.fixed_power_W[car] = value_W
    step = dispatch_interval(flex, 0, np.zeros(3), pool_W, override)
    assert step.power_W[car] == pytest.approx(value_W)
    assert step.power_W.sum() == pytest.approx(pool_W, abs=1e-3), case
    assert step.shortfall_W == pytest.approx(0.0)


def test_section_14a_cap_limits_charging_and_shortfall_is_reported() -> None:
    cars, flex = three_cars()
    override = no_override(3)
    override.max_charge_power_W[:] = 4_200.0  # BK6-22-300: 4.2 kW per controllable device
    step = dispatch_interval(flex, 0, np.zeros(3), 30_000.0, override)
    assert np.all(step.power_W <= 4_200.0 + 1e-6)
    assert step.shortfall_W == pytest.approx(30_000.0 - 3 * 4_200.0, abs=1e-3)


def test_without_tubes_an_impossible_schedule_names_its_first_interval() -> None:
    cars, flex = three_cars()
    wish = np.zeros(T)
    wish[3] = 40_000.0  # three 11 kW chargers cannot draw 40 kW
    dispatch = disaggregate(flex, wish)
    assert dispatch.first_infeasible_interval == 3
    assert dispatch.shortfall_W[3] == pytest.approx(40_000.0 - 33_000.0, abs=1e-3)
