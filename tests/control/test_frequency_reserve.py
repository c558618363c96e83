"""FCR droop, aFRR tracking, LFC, pool allocation, energy reserve and the PQ double pulse."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bidicharge.control.frequency_reserve import (
    AfrrProviderParams,
    AfrrResponseState,
    EnergyReservoir,
    FcrProviderParams,
    FcrResponseState,
    LfcParams,
    LfcState,
    PoolCar,
    afrr_step,
    allocate_pool,
    double_pulse_test_frequency,
    fcr_activation,
    fcr_reserve_check,
    fcr_step,
    ler_management_W,
    lfc_step,
    reservoir_of,
    simulated_frequency,
)


@pytest.mark.parametrize(("frequency_Hz", "upward_fraction"), [
    (50.0, 0.0),
    (49.995, 0.0),  # inside the ±10 mHz deadband
    (50.01, 0.0),  # deadband edge
    (49.98, 0.1),  # unshifted line: 20 mHz -> 10 %
    (49.9, 0.5),
    (49.8, 1.0),  # full activation at −200 mHz
    (49.5, 1.0),  # saturated
    (50.1, -0.5),
    (50.2, -1.0),
    (50.35, -1.0),
])
def test_fcr_characteristic_is_linear_with_deadband_and_saturation(frequency_Hz, upward_fraction):
    assert fcr_activation(frequency_Hz) == pytest.approx(upward_fraction)


def time_to_full_s(params: FcrProviderParams, frequency_Hz: float, dt_s: float = 0.1) -> float:
    state = FcrResponseState()
    target = fcr_activation(frequency_Hz) * params.contracted_W
    for k in range(1, 10_000):
        state = fcr_step(state, frequency_Hz, dt_s, params)
        assert abs(state.upward_power_W) <= abs(target) + 1e-6  # never overshoots
        if abs(state.upward_power_W - target) < 1e-6:
            return k * dt_s
    raise AssertionError("never reached full activation")


@pytest.mark.parametrize("frequency_Hz", [49.8, 50.2])
def test_200_mHz_step_gives_full_fcr_within_30_s(frequency_Hz):
    params = FcrProviderParams(contracted_W=1e6)
    assert 29.0 < time_to_full_s(params, frequency_Hz) <= 30.0 + 1e-9


def test_a_faster_provider_is_allowed_and_faster():
    assert time_to_full_s(FcrProviderParams(contracted_W=1e6, full_activation_time_s=1.0), 49.8) <= 1.0 + 1e-9


def test_a_provider_slower_than_30_s_is_refused():
    with pytest.raises(ValueError, match="30"):
        FcrProviderParams(contracted_W=1e6, full_activation_time_s=31.0)


def test_no_fcr_is_activated_for_noise_inside_the_deadband():
    rng = np.random.default_rng(3)
    state = FcrResponseState()
    params = FcrProviderParams(contracted_W=1e6)
    for f in 50.0 + rng.uniform(-0.0099, 0.0099, 2000):
        state = fcr_step(state, float(f), 1.0, params)
        assert state.upward_power_W == 0.0


def test_afrr_reaches_the_set_point_in_five_minutes_and_is_halfway_after_150_s():
    params = AfrrProviderParams(positive_W=2e6, negative_W=1e6)
    state = AfrrResponseState()
    trace = []
    for _ in range(400):  # 1-s steps; the set-point is held between the TSO's 4-s cycles
        state = afrr_step(state, 2e6, 1.0, params)
        trace.append(state.upward_power_W)
    assert trace[149] == pytest.approx(1e6)  # after 150 s
    assert trace[298] < 2e6
    assert trace[299] == pytest.approx(2e6)  # after 300 s
    assert max(trace) == pytest.approx(2e6)


def test_afrr_set_point_beyond_the_contract_is_clamped():
    params = AfrrProviderParams(positive_W=2e6, negative_W=1e6, full_activation_time_s=4.0)
    assert afrr_step(AfrrResponseState(), -5e6, 4.0, params).upward_power_W == pytest.approx(-1e6)


def test_lfc_asks_for_upward_reserve_on_low_frequency_once_per_cycle():
    params = LfcParams(frequency_bias_MW_per_Hz=1000.0)
    s1 = lfc_step(LfcState(), 49.9, 0.0, params)  # ACE = −100 MW
    assert s1.setpoint_MW == pytest.approx(100 * 4 / 100 + 0.2 * 100)
    assert lfc_step(s1, 49.0, 2.0, params) == s1  # held until the next 4-s cycle
    assert lfc_step(s1, 49.9, 4.0, params).setpoint_MW > s1.setpoint_MW  # integral keeps pushing
    assert lfc_step(LfcState(), 50.1, 0.0, params).setpoint_MW < 0


# ---------------------------------------------------------------------------- allocation


def car(car_id: str, power_W: float = 0.0, *, soc: float = 0.5, min_soc: float = 0.2, consent: bool = True,
        max_charge_W: float = 11_000.0, max_discharge_W: float = 11_000.0, capacity_Wh: float = 60_000.0) -> PoolCar:
    return PoolCar(car_id=car_id, power_W=power_W, max_charge_W=max_charge_W, max_discharge_W=max_discharge_W,
                   soc=soc, min_soc=min_soc, capacity_Wh=capacity_Wh, consent=consent)


@pytest.mark.parametrize(("request_W", "cars", "expected_W", "shortfall_W"), [
    # equal cars share equally
    (10_000, [car("a"), car("b")], {"a": -5_000, "b": -5_000}, 0),
    # a car charging at 11 kW has 22 kW upward headroom, an idle one 11 kW: 2:1
    (9_000, [car("a", 11_000), car("b")], {"a": 5_000, "b": -3_000}, 0),
    # no consent: the car keeps its operating point, the other does what it can
    (20_000, [car("a", consent=False), car("b")], {"a": 0, "b": -11_000}, 9_000),
    # at min SoC a car may stop charging but not discharge
    (20_000, [car("a", 7_000, soc=0.2), car("b")], {"a": 0, "b": -11_000}, 2_000),
    # downward request: charge more, pro rata to charging headroom (11 kW vs 5 kW)
    (-8_000, [car("a"), car("b", 6_000)], {"a": 5_500, "b": 8_500}, 0),
    # a full car cannot charge more
    (-8_000, [car("a", soc=1.0), car("b")], {"a": 0, "b": 8_000}, 0),
])
def test_pool_allocation_is_pro_rata_to_headroom(request_W, cars, expected_W, shortfall_W):
    result = allocate_pool(request_W, cars, horizon_s=4.0)
    assert dict(result.setpoints_W) == pytest.approx(expected_W)
    assert result.shortfall_W == pytest.approx(shortfall_W)
    assert result.delivered_upward_W == pytest.approx(request_W - np.sign(request_W) * shortfall_W)


def test_discharge_is_limited_by_the_energy_left_above_min_soc_over_the_horizon():
    # 0.1 % of 60 kWh above min SoC = 60 Wh: over 60 s that is at most 3.6 kW of discharge
    result = allocate_pool(20_000, [car("a", soc=0.201)], horizon_s=60.0)
    assert result.setpoints_W["a"] == pytest.approx(-3_600.0)


def test_a_pool_with_two_cars_of_one_id_is_refused():
    with pytest.raises(ValueError, match="unique"):
        allocate_pool(1_000, [car("a"), car("a")], horizon_s=4.0)


cars_strategy = st.lists(
    st.builds(
        car,
        st.text("abcdefgh", min_size=1, max_size=4),
        st.floats(-11_000, 11_000),
        soc=st.floats(0.0, 1.0),
        min_soc=st.floats(0.0, 0.6),
        consent=st.booleans(),
        max_discharge_W=st.sampled_from([0.0, 3_700.0, 11_000.0]),
    ),
    max_size=12,
    unique_by=lambda c: c.car_id,
).map(lambda cs: [c if -c.max_discharge_W <= c.power_W else
                  PoolCar(**{**{f: getattr(c, f) for f in c.__slots__}, "power_W": -c.max_discharge_W})  # type: ignore[attr-defined]
                  for c in cs])


@settings(max_examples=300, deadline=None)
@given(st.floats(-200_000, 200_000), cars_strategy, st.sampled_from([1.0, 4.0, 900.0]))
def test_allocation_respects_power_limits_min_soc_and_consent(request_W, cars, horizon_s):
    result = allocate_pool(request_W, cars, horizon_s=horizon_s)
    lowest = highest = 0.0
    for c in cars:
        p = result.setpoints_W[c.car_id]
        if not c.consent:
            assert p == c.power_W
            lowest += p
            highest += p
            continue
        assert -c.max_discharge_W - 1e-6 <= p <= c.max_charge_W + 1e-6
        soc_after = c.soc + p * horizon_s / 3600.0 / c.capacity_Wh
        assert soc_after >= min(c.soc, c.min_soc) - 1e-9  # never below min SoC (nor lower than it was)
        assert soc_after <= max(c.soc, c.max_soc) + 1e-9
        # what the car could do at most, from its limits alone
        lowest += max(-c.max_discharge_W, min(0.0, (c.min_soc - c.soc) * c.capacity_Wh * 3600 / horizon_s))
        highest += min(c.max_charge_W, max(0.0, (c.max_soc - c.soc) * c.capacity_Wh * 3600 / horizon_s))
    delivered = sum(c.power_W - result.setpoints_W[c.car_id] for c in cars)
    assert delivered == pytest.approx(result.delivered_upward_W, abs=1e-6)
    assert result.shortfall_W == pytest.approx(abs(request_W - delivered), abs=1e-6)
    wanted_pool_W = sum(c.power_W for c in cars) - request_W
    if lowest + 1e-6 <= wanted_pool_W <= highest - 1e-6:
        assert result.shortfall_W == pytest.approx(0.0, abs=1e-6)  # feasible requests are met in full


# ---------------------------------------------------------------------- energy reservoir


def test_a_1_MW_pool_needs_250_kWh_each_way_for_the_15_minute_reserve():
    pool = EnergyReservoir(energy_Wh=500_000, min_energy_Wh=200_000, max_energy_Wh=800_000,
                           max_charge_W=1.1e6, max_discharge_W=1.1e6)
    check = fcr_reserve_check(pool, 1e6)
    assert check.ok
    assert check.upward_energy_margin_Wh == pytest.approx(50_000)  # 300 kWh above min − 250 kWh
    assert check.downward_energy_margin_Wh == pytest.approx(50_000)
    assert check.upward_power_margin_W == pytest.approx(100_000)
    low = fcr_reserve_check(EnergyReservoir(energy_Wh=400_000, min_energy_Wh=200_000, max_energy_Wh=800_000,
                                            max_charge_W=1.1e6, max_discharge_W=1.1e6), 1e6)
    assert not low.ok
    assert low.upward_energy_margin_Wh == pytest.approx(-50_000)


def test_charging_baseline_adds_to_the_upward_reserve():
    # 500 cars charging at 2 kW: upward FCR first stops charging, so little discharge is needed
    cars = [car(f"c{i}", 2_000, soc=0.25, min_soc=0.2, capacity_Wh=50_000) for i in range(500)]
    pool = reservoir_of(cars)
    assert pool.baseline_W == pytest.approx(1e6)
    check = fcr_reserve_check(pool, 1e6)
    assert check.upward_energy_margin_Wh == pytest.approx(500 * 0.05 * 50_000)  # no net drain at all
    assert check.downward_power_margin_W == pytest.approx(500 * 11_000 - 2e6)


@pytest.mark.parametrize(("energy_Wh", "expected_W"), [
    (500_000, 0.0),  # inside the band 450…550 kWh
    (400_000, 100_000.0),  # 50 kWh short: 200 kW over 15 min, capped by 100 kW spare charging power
    (600_000, -200_000.0),  # 50 kWh above: 200 kW of discharge is spare
    (440_000, 40_000.0),
])
def test_limited_energy_reservoir_management_steers_back_into_the_band(energy_Wh, expected_W):
    pool = EnergyReservoir(energy_Wh=energy_Wh, min_energy_Wh=200_000, max_energy_Wh=800_000,
                           max_charge_W=1.1e6, max_discharge_W=1.5e6)
    assert ler_management_W(pool, 1e6) == pytest.approx(expected_W)


# ------------------------------------------------------------------------ double pulse


def test_double_pulse_has_two_pulses_each_way_at_200_mHz():
    time_s, f = double_pulse_test_frequency(1.0, pulse_s=60, pause_s=30, lead_s=10)
    assert len(time_s) == 10 + 4 * 60 + 3 * 30 + 10
    assert set(np.round(f, 6)) == {49.8, 50.0, 50.2}
    edges = np.flatnonzero(np.diff(f))
    assert len(edges) == 8  # 4 pulses, each with a rising and a falling edge
    assert f[10] == pytest.approx(49.8) and f[10 + 60 + 30] == pytest.approx(49.8)
    assert f[-11] == pytest.approx(50.2) and f[-1] == pytest.approx(50.0)
    assert np.sum(f < 50) == np.sum(f > 50) == 120


def test_pool_follows_the_double_pulse_and_keeps_every_car_in_its_soc_window():
    """100 cars × 11 kW bidirectional, 1 MW FCR, centrally allocated every 5 s."""
    dt_s = 5.0
    time_s, frequency = double_pulse_test_frequency(dt_s)
    cars = [car(f"c{i}", 0.0, soc=0.5, min_soc=0.3, capacity_Wh=60_000) for i in range(100)]
    params = FcrProviderParams(contracted_W=1e6, full_activation_time_s=5.0)
    assert fcr_reserve_check(reservoir_of(cars), 1e6).ok
    state = FcrResponseState()
    errors = []
    for f in frequency:
        state = fcr_step(state, float(f), dt_s, params)
        result = allocate_pool(state.upward_power_W, cars, horizon_s=dt_s)
        errors.append(result.shortfall_W)
        cars = [PoolCar(**{**{k: getattr(c, k) for k in c.__slots__},  # type: ignore[attr-defined]
                           "soc": c.soc + result.setpoints_W[c.car_id] * dt_s / 3600 / c.capacity_Wh})
                for c in cars]
    assert max(errors) == pytest.approx(0.0, abs=1e-6)
    assert min(c.soc for c in cars) >= 0.3
    assert np.mean([c.soc for c in cars]) == pytest.approx(0.5, abs=1e-9)  # symmetric test: net zero


def test_simulated_frequency_is_reproducible_and_realistic():
    time_s, f = simulated_frequency(np.random.default_rng(11), duration_s=7200.0)
    again = simulated_frequency(np.random.default_rng(11), duration_s=7200.0)[1]
    other = simulated_frequency(np.random.default_rng(12), duration_s=7200.0)[1]
    assert len(time_s) == len(f) == 7200 and time_s[-1] == 7200.0
    assert np.array_equal(f, again) and not np.array_equal(f, other)
    deviation_mHz = (f - 50.0) * 1000
    assert 8.0 < np.std(deviation_mHz) < 30.0  # Continental Europe: σ of some 15–25 mHz
    assert np.max(np.abs(deviation_mHz)) < 200.0  # FCR is never exhausted on a normal day
    assert np.mean(np.abs(deviation_mHz) > 10.0) > 0.2  # but it is outside the deadband often
