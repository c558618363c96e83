"""The technical aggregator's in-interval dispatch never breaks an owner's rule, whatever happens.

Random fleets (``control.fleet_samples``), random price days, the commercial optimum inside the
envelope, then random trouble in a random interval: cars pinned (gone, late, not following),
cars refusing discharge, meters and SoCs off the plan. Property: no setpoint discharges a car
without consent (or one that arrived below its minimum SoC), and no setpoint takes a car below
the owner's minimum SoC within the rest of the interval, nor leaves a car below its energy window at the interval's
end where its limits would keep it there (its departure need stays reachable).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bidicharge.components.tech_aggregator.dispatch import PoolDispatcher
from bidicharge.control.fleet_envelope import (
    build_envelope,
    build_tubes,
    optimal_pool_schedule,
    reference_plan,
)
from bidicharge.control.fleet_flexibility import build_flexibility
from bidicharge.control.fleet_samples import planning_horizon, sample_day_ahead_prices, sample_fleet


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), n_cars=st.integers(1, 40), k=st.integers(0, 95), elapsed=st.sampled_from([0, 300, 600]),
       trouble=st.floats(0.0, 1.0))
def test_setpoints_keep_consent_and_minimum_soc(seed: int, n_cars: int, k: int, elapsed: int, trouble: float) -> None:
    rng = np.random.default_rng(seed)
    horizon = planning_horizon()
    cars = sample_fleet(rng, n_cars)
    flex = build_flexibility(cars, horizon, now_s=horizon.start_s)
    price = sample_day_ahead_prices(rng, horizon)
    tubes = build_tubes(flex, reference_plan(flex, price))
    sold = optimal_pool_schedule(build_envelope(flex, tubes), price)
    d = PoolDispatcher(flex=flex, tubes=tubes, sold_W=sold, arrival_s=np.array([c.arrival_s for c in cars]),
                       departure_s=np.array([c.departure_s for c in cars]))
    n = flex.n_cars
    # the cars are somewhere in their windows, or a little off them (a deviation earlier on)
    energy = flex.min_energy_Wh[:, k] + rng.uniform(0, 1, n) * (flex.max_energy_Wh[:, k] - flex.min_energy_Wh[:, k])
    energy += rng.normal(0, 500.0, n) * (rng.random(n) < trouble)
    pinned = np.where(rng.random(n) < trouble * 0.3, rng.choice([0.0, 3000.0, -3000.0], n), np.nan)
    no_discharge = (rng.random(n) < trouble * 0.3).astype(float)
    average, _ = d.interval_average(k, energy, pinned, no_discharge)
    done = rng.uniform(-1000, 1000, n) * (elapsed / 900.0)
    now = horizon.start_s + k * horizon.step_s + elapsed
    energy_now = energy + done * 0.9
    max_c = np.array([c.max_charge_power_W for c in cars])
    max_d = np.array([c.max_discharge_power_W for c in cars])
    rest = d.setpoints(k, now, average, done, pinned, energy_now_Wh=energy_now, max_charge_W=max_c,
                       max_discharge_W=max_d, min_step_s=300.0)
    floor_rel = flex.floor_energy_Wh - flex.initial_energy_Wh
    plugged = np.maximum(d.plugged_s(now, horizon.start_s + (k + 1) * horizon.step_s), 300.0)
    for i in range(n):
        if rest[i] < -1e-9:
            assert flex.may_discharge[i] and cars[i].v2g_consent, cars[i].car_id
            drawn_Wh = -rest[i] * plugged[i] / 3600.0 / flex.discharge_efficiency[i]
            assert energy_now[i] - drawn_Wh >= min(floor_rel[i], energy_now[i]) - 1e-6, cars[i].car_id
        assert rest[i] <= max_c[i] + 1e-6
        # and the car ends the interval inside its window wherever its limits allow it
        b = rest[i] * flex.charge_efficiency[i] if rest[i] >= 0 else rest[i] / flex.discharge_efficiency[i]
        end = energy_now[i] + b * plugged[i] / 3600.0
        reachable = energy_now[i] + max_c[i] * flex.charge_efficiency[i] * plugged[i] / 3600.0
        assert end >= min(flex.min_energy_Wh[i, k + 1], reachable, energy_now[i]) - 1e-6, cars[i].car_id
