"""Power plant: schedule tracking, ramp limit, droop, capacity limits, energy register, dispatch."""

from __future__ import annotations

import pytest

from bidicharge.physics.power_plant import (
    PowerPlantInputs,
    PowerPlantParams,
    droop_response_MW,
    merit_order_dispatch,
    steady_state,
    step,
)

COAL = PowerPlantParams(plant_id="coal", capacity_MW=1000, min_stable_MW=300, marginal_cost_EUR_per_MWh=35,
                        ramp_MW_per_min=10, droop=0.05, primary_reserve_MW=50, deadband_Hz=0.01)


def run(params, state, schedule_MW, frequency_Hz, seconds, dt_s=1.0, afrr_MW=0.0):
    trace = [state]
    for _ in range(int(seconds / dt_s)):
        state = step(params, state, PowerPlantInputs(schedule_MW=schedule_MW, frequency_Hz=frequency_Hz,
                                                     afrr_MW=afrr_MW), dt_s)
        trace.append(state)
    return trace


def test_a_settled_plant_holds_its_schedule_and_meters_its_energy():
    trace = run(COAL, steady_state(COAL, 600), 600, 50.0, 3600)
    assert trace[-1].generation_MW == pytest.approx(600)
    assert trace[-1].energy_MWh == pytest.approx(600.0)  # 600 MW for one hour


def test_schedule_change_is_limited_by_the_ramp_rate():
    trace = run(COAL, steady_state(COAL, 400), 600, 50.0, 30 * 60)
    setpoints = [s.setpoint_MW for s in trace]
    assert max(b - a for a, b in zip(setpoints, setpoints[1:], strict=False)) == pytest.approx(10 / 60)
    assert setpoints[10 * 60] == pytest.approx(500)  # 10 MW/min for 10 minutes
    assert trace[10 * 60].generation_MW < 500  # the turbine lags the set-point
    assert trace[-1].generation_MW == pytest.approx(600, abs=0.01)


@pytest.mark.parametrize(("frequency_Hz", "response_MW"), [
    (50.0, 0.0),
    (49.995, 0.0),  # inside the governor deadband
    (49.95, 20.0),  # 0.1 % / 5 % droop × 1000 MW
    (50.05, -20.0),
    (49.8, 50.0),  # clipped to the primary reserve band
    (50.5, -50.0),
])
def test_droop_response_is_proportional_and_limited_to_the_reserve_band(frequency_Hz, response_MW):
    assert droop_response_MW(COAL, frequency_Hz) == pytest.approx(response_MW)


def test_plant_settles_at_schedule_plus_droop_response_after_a_frequency_drop():
    trace = run(COAL, steady_state(COAL, 600), 600, 49.95, 120, dt_s=0.1)
    assert trace[-1].generation_MW == pytest.approx(620, abs=1e-3)
    # after 1 s: the two-lag step response 1 − (Tt·e^(−t/Tt) − Tg·e^(−t/Tg)) / (Tt − Tg) = 0.105
    assert trace[10].generation_MW == pytest.approx(600 + 20 * 0.105, abs=0.3)


def test_output_stays_within_minimum_stable_power_and_capacity():
    high = run(COAL, steady_state(COAL, 990), 2000, 49.0, 600)
    low = run(COAL, steady_state(COAL, 310), 0, 51.0, 600)
    assert max(s.generation_MW for s in high) <= 1000 + 1e-9
    assert min(s.generation_MW for s in low) >= 300 - 1e-9


def test_afrr_share_adds_to_the_schedule():
    fast = PowerPlantParams(plant_id="gas", capacity_MW=500, marginal_cost_EUR_per_MWh=80, ramp_MW_per_min=100)
    trace = run(fast, steady_state(fast, 200), 200, 50.0, 300, afrr_MW=40)
    assert trace[-1].generation_MW == pytest.approx(240, abs=1e-3)


def test_invalid_plants_are_refused():
    with pytest.raises(ValueError, match="min_stable"):
        PowerPlantParams(plant_id="x", capacity_MW=100, min_stable_MW=200, marginal_cost_EUR_per_MWh=1, ramp_MW_per_min=1)


@pytest.mark.parametrize(("demand_MW", "expected"), [
    (1500, (1000, 500, 0)),  # nuclear full, then coal (35 €/MWh) before gas (80 €/MWh)
    (1300, (950, 350, 0)),  # coal runs at 300 MW minimum + 50 MW reserve and displaces nuclear
    (2200, (1000, 950, 250)),  # coal keeps 50 MW of headroom for its droop
    (5000, (1000, 950, 500)),  # beyond the fleet: every plant at what it may be scheduled
])
def test_merit_order_dispatch_takes_cheapest_plants_first_and_keeps_reserve_headroom(demand_MW, expected):
    nuclear = PowerPlantParams(plant_id="nuc", capacity_MW=1000, marginal_cost_EUR_per_MWh=8, ramp_MW_per_min=5)
    gas = PowerPlantParams(plant_id="gas", capacity_MW=500, marginal_cost_EUR_per_MWh=80, ramp_MW_per_min=50)
    assert merit_order_dispatch([nuclear, COAL, gas], demand_MW) == pytest.approx(expected)
