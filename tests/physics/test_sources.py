"""PV, household load, heat pump and the power stage behave physically."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from bidicharge.physics import evse_power_stage as stage
from bidicharge.physics import heat_pump, household_load, mobility, pv


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_pv_is_zero_at_night_and_peaks_near_noon() -> None:
    params = pv.PvParams(peak_power_W=10_000)
    t = _epoch("2018-06-21T00:00:00") + 600.0 * np.arange(144)
    p = pv.ac_power_W(params, t)
    assert p.min() >= 0 and p[:12].max() == 0  # 00:00–02:00 UTC
    assert 9 <= int(np.argmax(p)) * 600 / 3600 <= 13  # peak between 09 and 13 UTC (Berlin: solar noon ~11:10 UTC)
    assert 6_000 < p.max() <= 10_000


def test_clouds_are_seeded_and_reduce_energy() -> None:
    params = pv.PvParams(peak_power_W=10_000)
    t = _epoch("2018-03-01T00:00:00") + 900.0 * np.arange(96 * 30)
    clear = pv.ac_power_W(params, t).sum()
    a = pv.ac_power_W(params, t, np.random.default_rng(1))
    b = pv.ac_power_W(params, t, np.random.default_rng(1))
    assert np.array_equal(a, b) and a.sum() < clear


@pytest.mark.parametrize("profile", ["H0", "H25"])
def test_household_year_energy_matches_the_annual_figure(profile: str) -> None:
    params = household_load.LoadParams(annual_energy_Wh=4_000_000, profile=profile)
    t = _epoch("2018-01-01T00:00:00") - 3600 + 900.0 * np.arange(35_040)
    e_kWh = household_load.power_W(params, t).sum() * 0.25 / 1000
    assert e_kWh == pytest.approx(4000, rel=0.01)


def test_heat_pump_draws_more_in_winter() -> None:
    p = heat_pump.HeatPumpParams()
    jan, jul = _epoch("2018-01-15T06:00:00"), _epoch("2018-07-15T06:00:00")
    t_out = heat_pump.outside_temperature_C(np.array([jan, jul]))
    power = heat_pump.electric_power_W(p, t_out)
    assert power[0] > 3 * power[1] and power[0] <= p.rated_electric_W
    assert heat_pump.cop(p, np.array([-10.0]))[0] < heat_pump.cop(p, np.array([10.0]))[0]


def test_ac_stage_cannot_run_below_6_A_and_losses_are_positive() -> None:
    params = stage.PowerStageParams(max_power_W=11_000, phases=3)
    assert params.min_power_W == pytest.approx(4140)
    assert stage.clamp_setpoint_W(params, 3000, 11_000, 11_000) == 0
    assert stage.clamp_setpoint_W(params, -7000, 11_000, 5000) == -5000
    uni = stage.PowerStageParams(max_power_W=11_000, bidirectional=False)
    assert stage.clamp_setpoint_W(uni, -7000, 11_000, 11_000) == 0
    for sp in (11_000, -7_000):
        r = stage.step(params, stage.PowerStageState(), setpoint_W=sp, ev_max_charge_W=11_000, ev_max_discharge_W=11_000, dt_s=60)
        assert r.grid_power_W - r.ev_power_W > 0


def test_ramp_limits_the_change_per_step() -> None:
    params = stage.PowerStageParams(max_power_W=11_000, dc=True, ramp_W_per_s=100)
    r = stage.step(params, stage.PowerStageState(), setpoint_W=11_000, ev_max_charge_W=11_000, ev_max_discharge_W=0, dt_s=10)
    assert r.ev_power_W == 1000


def test_trips_repeat_on_their_weekdays() -> None:
    trip = mobility.Trip(days=(0, 1, 2, 3, 4), depart_s=7.5 * 3600, arrive_s=17.5 * 3600, distance_km=50)
    start = _epoch("2018-03-05T00:00:00") - 3600  # Monday 00:00 CET
    events = mobility.occurrences((trip,), start, start + 7 * 86400, 3600.0)
    assert len(events) == 5
    assert datetime.fromtimestamp(events[0].depart_at_s, UTC).strftime("%a %H:%M") == "Mon 06:30"
