"""Sample fleets: deterministic from the seed, valid, and shaped like German mobility data."""

from __future__ import annotations

import numpy as np

from bidicharge.control.fleet_flexibility import build_flexibility, validate_car
from bidicharge.control.fleet_samples import planning_horizon, sample_day_ahead_prices, sample_fleet


def test_same_seed_same_fleet_and_prices() -> None:
    horizon = planning_horizon()
    a = sample_fleet(np.random.default_rng(11), 50)
    b = sample_fleet(np.random.default_rng(11), 50)
    assert a == b
    pa = sample_day_ahead_prices(np.random.default_rng(11), horizon)
    pb = sample_day_ahead_prices(np.random.default_rng(11), horizon)
    assert np.array_equal(pa, pb)


def test_every_sampled_car_is_valid_at_the_planning_time() -> None:
    horizon = planning_horizon(day_start_s=86_400.0)
    cars = sample_fleet(np.random.default_rng(12), 2_000, day_start_s=86_400.0)
    for car in cars:
        validate_car(car, now_s=horizon.start_s)
    flex = build_flexibility(cars, horizon, now_s=horizon.start_s)
    assert flex.target_reachable.mean() > 0.95  # nearly every car can reach its target
    assert 0.7 < flex.may_discharge.mean() < 0.9  # consent 80 %, a few arrive below their minimum


def test_home_arrivals_peak_in_the_evening_and_departures_in_the_morning() -> None:
    cars = sample_fleet(np.random.default_rng(13), 5_000)
    arrival_h = np.array([c.arrival_s for c in cars]) / 3600.0
    departure_h = np.array([c.departure_s for c in cars]) / 3600.0
    home = (arrival_h > 13.9) & (arrival_h < 24)
    assert 0.55 < home.mean() < 0.65
    assert 17.0 < np.median(arrival_h[home]) < 19.0
    assert 30.5 < np.median(departure_h[home]) < 32.5  # 06:30–08:30 the next morning


def test_price_day_has_an_evening_peak_above_the_night() -> None:
    horizon = planning_horizon()
    price = sample_day_ahead_prices(np.random.default_rng(14), horizon)
    hour = (horizon.start_s + horizon.step_s * np.arange(horizon.n_steps)) / 3600.0 % 24
    evening = price[(hour >= 18) & (hour < 21)].mean()
    night = price[(hour >= 1) & (hour < 5)].mean()
    assert evening > night + 30.0
