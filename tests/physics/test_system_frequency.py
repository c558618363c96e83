"""Single-area frequency: RoCoF, nadir and droop steady state by hand, energy balance, restoration."""

from __future__ import annotations

import numpy as np
import pytest

from bidicharge.control.frequency_reserve import (
    FcrProviderParams,
    FcrResponseState,
    LfcParams,
    LfcState,
    fcr_step,
    lfc_step,
)
from bidicharge.physics import system_frequency as sf
from bidicharge.physics.power_plant import PowerPlantParams, merit_order_dispatch

PLANTS = (
    PowerPlantParams(plant_id="nuclear", capacity_MW=3000, marginal_cost_EUR_per_MWh=10, ramp_MW_per_min=30),
    PowerPlantParams(plant_id="coal", capacity_MW=3000, marginal_cost_EUR_per_MWh=30, ramp_MW_per_min=60,
                     primary_reserve_MW=150),
    PowerPlantParams(plant_id="gas", capacity_MW=3000, marginal_cost_EUR_per_MWh=60, ramp_MW_per_min=150,
                     primary_reserve_MW=150),
)
AREA = sf.GridAreaParams(inertia_constant_s=5.0, system_base_MW=10_000, plants=PLANTS, load_damping=1.0)
SCHEDULE = (3000.0, 2500.0, 2500.0)
# droop gain of coal and gas: 3000 MW / (5 % × 50 Hz) = 1200 MW/Hz each; load self-regulation D·P/f_n
BETA_MW_PER_HZ = 2 * 1200 + 1.0 * 8300 / 50


def simulate(seconds, dt_s=0.1, *, load_MW=8300.0, area=AREA, rng=None, lfc=None, pool=None):
    state = sf.initial_state(area, SCHEDULE)
    lfc_state = LfcState()
    pool_state = FcrResponseState()
    frequency = []
    for _ in range(int(round(seconds / dt_s))):
        afrr = 0.0
        if lfc is not None:
            lfc_state = lfc_step(lfc_state, state.frequency_Hz, state.time_s, lfc)
            afrr = lfc_state.setpoint_MW
        injection = 0.0
        if pool is not None:
            pool_state = fcr_step(pool_state, state.frequency_Hz, dt_s, pool)
            injection = pool_state.upward_power_W / 1e6
        inputs = sf.GridAreaInputs(load_MW=load_MW, plant_schedules_MW=SCHEDULE, afrr_MW=afrr, injection_MW=injection)
        state = sf.step(area, state, inputs, dt_s, rng)
        frequency.append(state.frequency_Hz)
    return state, np.array(frequency)


def balance_error_Wh(state: sf.GridAreaState, area: sf.GridAreaParams = AREA) -> float:
    stored_MWh = (sf.kinetic_energy_MJ(state.frequency_Hz, area) - sf.kinetic_energy_MJ(50.0, area)) / 3600
    booked_MWh = state.generation_MWh + state.injection_MWh - state.load_MWh - state.damping_MWh
    return (stored_MWh - booked_MWh) * 1e6


def test_a_balanced_area_stays_at_nominal_frequency():
    state, f = simulate(60, load_MW=8000.0)
    assert np.max(np.abs(f - 50.0)) < 1e-9
    assert state.generation_MW == pytest.approx(8000.0)


def test_initial_rate_of_change_of_frequency_follows_the_swing_equation():
    _, f = simulate(0.1, dt_s=0.01)
    # RoCoF = −ΔP · f_n / (2 H S_base) = −300 · 50 / (2 · 5 · 10 000) = −0.15 Hz/s
    assert (f[0] - 50.0) / 0.01 == pytest.approx(-0.15, rel=1e-3)


def test_load_step_gives_a_nadir_then_recovers_to_the_droop_steady_state():
    _, f = simulate(120)
    nadir = f.min()
    steady = 50.0 - 300.0 / BETA_MW_PER_HZ  # −117 mHz: Δf = −ΔP / (Σ droop gains + D·P/f_n)
    assert f[-1] == pytest.approx(steady, abs=1e-3)
    assert nadir < steady - 0.1  # inertia and governor lags let it overshoot
    assert nadir > 49.2  # but droop arrests it well before under-frequency load shedding (49.0 Hz)
    t_nadir = int(np.argmin(f))
    assert 2 < t_nadir * 0.1 < 30
    after = f[t_nadir:]
    assert after.min() == nadir and after.max() < steady + 0.02  # recovers with little overshoot
    assert np.all(np.abs(after[-300:] - steady) < 2e-3)  # and settles there


def test_without_droop_the_frequency_only_settles_through_load_damping():
    no_droop = sf.GridAreaParams(inertia_constant_s=5.0, system_base_MW=10_000, load_damping=1.0,
                                 plants=tuple(PowerPlantParams(plant_id=p.plant_id, capacity_MW=p.capacity_MW,
                                                               marginal_cost_EUR_per_MWh=1, ramp_MW_per_min=1)
                                              for p in PLANTS))
    _, f = simulate(600, dt_s=0.5, area=no_droop)
    # self-regulation alone: Δf = −ΔP / (D · P_load / f_n) = −300 / (8300 / 50) = −1.81 Hz
    assert f[-1] == pytest.approx(50.0 - 300.0 / (8300 / 50), abs=1e-3)


def test_energy_is_conserved_to_the_watt_hour_with_noise_plants_and_injection():
    area = sf.GridAreaParams(inertia_constant_s=5.0, system_base_MW=10_000, plants=PLANTS, noise_std_MW=80.0)
    pool = FcrProviderParams(contracted_W=50e6)
    state, _ = simulate(3600, dt_s=0.5, area=area, rng=np.random.default_rng(1),
                        lfc=LfcParams(frequency_bias_MW_per_Hz=BETA_MW_PER_HZ), pool=pool)
    assert state.generation_MWh > 8000 and state.injection_MWh != 0.0
    assert abs(balance_error_Wh(state, area)) < 1.0


def test_afrr_from_the_load_frequency_controller_restores_50_Hz():
    state, f = simulate(900, dt_s=0.5, lfc=LfcParams(frequency_bias_MW_per_Hz=BETA_MW_PER_HZ))
    assert f.min() < 49.6  # the same disturbance as above
    assert abs(f[-1] - 50.0) < 0.005  # restored after 15 minutes
    assert state.generation_MW == pytest.approx(8300.0 + 8300 * (f[-1] - 50) / 50, abs=1.0)


def test_a_car_pool_providing_fcr_reduces_the_deviation_by_its_droop_gain():
    pool = FcrProviderParams(contracted_W=100e6, full_activation_time_s=1.0)
    _, f = simulate(120, pool=pool)
    # 100 MW over 200 mHz = 500 MW/Hz more frequency response (the pool is not saturated)
    assert f[-1] == pytest.approx(50.0 - 300.0 / (BETA_MW_PER_HZ + 500.0), abs=1e-3)


def test_noise_is_reproducible_from_the_seed_and_gives_realistic_deviations():
    area = sf.GridAreaParams(inertia_constant_s=5.0, system_base_MW=10_000, plants=PLANTS, noise_std_MW=60.0,
                             noise_time_constant_s=120.0)
    lfc = LfcParams(frequency_bias_MW_per_Hz=BETA_MW_PER_HZ)
    _, a = simulate(1800, dt_s=1.0, load_MW=8000.0, area=area, rng=np.random.default_rng(5), lfc=lfc)
    _, b = simulate(1800, dt_s=1.0, load_MW=8000.0, area=area, rng=np.random.default_rng(5), lfc=lfc)
    _, c = simulate(1800, dt_s=1.0, load_MW=8000.0, area=area, rng=np.random.default_rng(6), lfc=lfc)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert 0.002 < np.std(a) < 0.05  # the Continental Europe grid: σ of some 10–25 mHz
    assert np.max(np.abs(a - 50.0)) < 0.2


def test_hourly_schedule_steps_against_a_ramping_load_cause_deviations_at_the_full_hour():
    dt_s = 1.0
    load = lambda t: 8000.0 + 600.0 * t / 7200.0  # noqa: E731 - a load ramping over two hours
    hourly = [merit_order_dispatch(PLANTS, float(np.mean([load(h * 3600 + s) for s in range(3600)])))
              for h in range(2)]
    state = sf.initial_state(AREA, hourly[0])
    lfc = LfcParams(frequency_bias_MW_per_Hz=BETA_MW_PER_HZ)
    lfc_state = LfcState()
    deviation = []
    for k in range(7200):
        lfc_state = lfc_step(lfc_state, state.frequency_Hz, state.time_s, lfc)
        inputs = sf.GridAreaInputs(load_MW=load(state.time_s), plant_schedules_MW=hourly[k // 3600],
                                   afrr_MW=lfc_state.setpoint_MW)
        state = sf.step(AREA, state, inputs, dt_s)
        deviation.append(state.frequency_Hz - 50.0)
    around_hour = np.abs(deviation[3600 - 60:3600 + 300])
    mid_hour = np.abs(deviation[1800 - 180:1800 + 180])
    assert around_hour.max() > 3 * mid_hour.max()
    assert abs(balance_error_Wh(state)) < 1.0


# ---- an area without conventional plants: load damping, inertia and a car pool ----------

NO_PLANTS = sf.GridAreaParams(inertia_constant_s=5.0, system_base_MW=10_000, plants=(), load_damping=1.0)


def simulate_without_plants(seconds, *, dt_s=0.5, load_MW=8300.0, injection_MW=8000.0, pool=None):
    """The plants run elsewhere at a fixed 8000 MW (fed in as injection), the load is 300 MW more."""
    state = sf.initial_state(NO_PLANTS, ())
    pool_state = FcrResponseState()
    for _ in range(int(round(seconds / dt_s))):
        extra = 0.0
        if pool is not None:
            pool_state = fcr_step(pool_state, state.frequency_Hz, dt_s, pool)
            extra = pool_state.upward_power_W / 1e6
        inputs = sf.GridAreaInputs(load_MW=load_MW, plant_schedules_MW=(), injection_MW=injection_MW + extra)
        state = sf.step(NO_PLANTS, state, inputs, dt_s)
    return state


def test_an_area_without_plants_settles_through_load_damping_alone():
    state = simulate_without_plants(900)
    # Δf = −ΔP / (D · P_load / f_n) = −300 / (8300 / 50) = −1.807 Hz, as with plants that have no droop
    assert state.frequency_Hz == pytest.approx(50.0 - 300.0 / (8300 / 50), abs=1e-3)
    assert state.generation_MWh == 0.0 and state.plants == ()
    assert abs(balance_error_Wh(state, NO_PLANTS)) < 1.0


def test_a_pool_in_an_area_without_plants_adds_its_droop_gain():
    pool = FcrProviderParams(contracted_W=60e6, full_activation_time_s=1.0)
    state = simulate_without_plants(900, load_MW=8030.0, pool=pool)
    # 30 MW imbalance; pool 60 MW / 0.2 Hz = 300 MW/Hz, damping 8030 / 50 = 160.6 MW/Hz
    expected = 50.0 - 30.0 / (300.0 + 8030 / 50)
    assert state.frequency_Hz == pytest.approx(expected, abs=1e-3)
    assert 49.9 < state.frequency_Hz < 49.95  # inside the pool's ±200 mHz range: not saturated


def test_an_area_without_plants_refuses_an_afrr_demand_nobody_delivers():
    state = sf.initial_state(NO_PLANTS, ())
    with pytest.raises(ValueError, match="aFRR demand of 50.0 MW in an area without plants"):
        sf.step(NO_PLANTS, state, sf.GridAreaInputs(load_MW=100.0, plant_schedules_MW=(), afrr_MW=50.0), 1.0)


def test_afrr_shares_must_match_the_plants():
    with pytest.raises(ValueError, match="2 shares for 3 plants"):
        sf.GridAreaParams(inertia_constant_s=5.0, system_base_MW=10_000, plants=PLANTS, afrr_participation=(0.5, 0.5))
