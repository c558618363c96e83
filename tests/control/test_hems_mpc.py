"""HEMS LP: hand-checked small cases, one per rule of the model, and reporting instead of crashing."""

from __future__ import annotations

import numpy as np
import pytest

from bidicharge.control.hems_mpc import (
    BatteryProblem,
    Departure,
    EvProblem,
    HemsPlan,
    HemsProblem,
    PlanStatus,
    plan,
)

HOUR_S = 3600.0


def home(n: int, *, prices: list[float] | None = None, load_W: list[float] | float = 0.0,
         pv_W: list[float] | float = 0.0, export_price: float = 0.0, **kwargs: object) -> HemsProblem:
    """An n-hour household; terminal value 0 unless given, so hand calculations stay simple."""
    kwargs.setdefault("terminal_value_EUR_per_kWh", 0.0)
    return HemsProblem(step_s=HOUR_S, pv_W=np.broadcast_to(np.asarray(pv_W, float), (n,)),
                       load_W=np.broadcast_to(np.asarray(load_W, float), (n,)),
                       import_price_EUR_per_MWh=np.asarray(prices if prices is not None else [300.0] * n),
                       export_price_EUR_per_MWh=np.full(n, export_price), **kwargs)  # type: ignore[arg-type]


def ev(n: int, **kwargs: object) -> EvProblem:
    values: dict[str, object] = dict(capacity_Wh=40_000.0, soc_initial=0.5, plugged=np.ones(n, bool),
                                     max_charge_power_W=11_000.0, max_discharge_power_W=11_000.0,
                                     charge_efficiency=1.0, discharge_efficiency=1.0)
    values.update(kwargs)
    return EvProblem(**values)  # type: ignore[arg-type]


def test_charges_in_the_cheap_hour() -> None:
    # 20 kWh -> 30 kWh by the departure after 4 h; hour 1 costs 100 €/MWh, the others 300.
    problem = home(4, prices=[300, 100, 300, 300],
                   ev=ev(4, soc_initial=0.5, departures=(Departure(step=4, target_soc=0.75),)))
    result = plan(problem)
    assert result.status is PlanStatus.OPTIMAL
    assert result.ev_charge_W == pytest.approx([0, 10_000, 0, 0], abs=1e-3)
    assert result.energy_cost_EUR == pytest.approx(1.00)
    assert result.ev_energy_Wh[4] == pytest.approx(30_000)
    assert result.departure_shortfall_Wh == pytest.approx(0.0, abs=1e-6)


# Battery empty, 2 kW house load in hour 1 only; buying 1 kWh for hour 1 costs
# 0.1/0.81 = 0.1235 € in hour 0 plus wear on 2 × 1/0.9 kWh of cell throughput.
# It pays against 0.40 € while wear < (0.40 − 0.1235) / 2.222 = 0.1244 €/kWh.
@pytest.mark.parametrize(("prices", "wear_EUR_per_kWh", "discharge_W"), [
    ([100, 400], 0.10, 2_000),   # spread beats losses and wear: discharge in the peak
    ([100, 400], 0.15, 0),       # wear too dear: import in the peak
    ([300, 340], 0.0, 0),        # 0.34 < 0.30 / 0.81: losses eat the spread
    ([300, 380], 0.0, 2_000),    # 0.38 > 0.37
])
def test_battery_discharges_in_the_peak_only_if_the_spread_pays(prices: list[float], wear_EUR_per_kWh: float,
                                                                  discharge_W: float) -> None:
    battery = BatteryProblem(capacity_Wh=10_000, soc_initial=0.0, max_charge_power_W=5_000,
                             max_discharge_power_W=5_000, charge_efficiency=0.9, discharge_efficiency=0.9,
                             wear_cost_EUR_per_kWh=wear_EUR_per_kWh)
    result = plan(home(2, prices=prices, load_W=[0, 2_000], battery=battery))
    assert result.battery_discharge_W[1] == pytest.approx(discharge_W, abs=1e-3)
    assert result.battery_charge_W[0] == pytest.approx(discharge_W / 0.81, abs=1e-3)


@pytest.mark.parametrize(("prices", "wear_EUR_per_kWh", "discharge_W"), [
    ([100, 400], 0.10, 2_000),
    ([100, 400], 0.15, 0),
    ([300, 340], 0.0, 0),
])
def test_ev_covers_the_evening_peak_only_if_the_spread_pays(prices: list[float], wear_EUR_per_kWh: float,
                                                             discharge_W: float) -> None:
    car = ev(2, soc_initial=0.3, reserve_soc=0.3, charge_efficiency=0.9, discharge_efficiency=0.9,
             wear_cost_EUR_per_kWh=wear_EUR_per_kWh, v2h_allowed=True)
    result = plan(home(2, prices=prices, load_W=[0, 2_000], ev=car))
    assert result.ev_discharge_W[1] == pytest.approx(discharge_W, abs=1e-3)
    assert np.all(result.ev_energy_Wh >= 0.3 * 40_000 - 1e-3)  # never below the owner's reserve


def test_departure_target_is_met() -> None:
    # 10 kWh -> 40 kWh at 7.4 kW × 0.9 = 6.66 kWh per hour: 4.5 h of 8 suffice.
    car = ev(8, capacity_Wh=50_000, soc_initial=0.2, max_charge_power_W=7_400, charge_efficiency=0.9,
             departures=(Departure(step=8, target_soc=0.8),))
    result = plan(home(8, prices=[400, 350, 300, 100, 120, 90, 200, 500], ev=car))
    assert result.ev_energy_Wh[8] == pytest.approx(40_000, abs=1e-2)
    assert result.departure_shortfall_Wh == pytest.approx(0.0, abs=1e-6)
    # the 4.5 h go into the five cheapest hours (90, 100, 120, 200, 300 €/MWh)
    assert result.ev_charge_W[[2, 3, 4, 5, 6]].sum() == pytest.approx(30_000 / 0.9, abs=1e-2)


def test_unreachable_departure_is_reported_with_its_shortfall() -> None:
    # 3 h × 6.66 kWh = 19.98 kWh of the 30 kWh needed: 10.02 kWh missing, charging flat out.
    car = ev(3, capacity_Wh=50_000, soc_initial=0.2, max_charge_power_W=7_400, charge_efficiency=0.9,
             departures=(Departure(step=3, target_soc=0.8),))
    result = plan(home(3, ev=car))
    assert result.status is PlanStatus.OPTIMAL
    assert result.departure_shortfall_Wh == pytest.approx(10_020, abs=1e-2)
    assert result.ev_charge_W == pytest.approx([7_400] * 3, abs=1e-3)


def test_departure_already_due_at_the_first_step_is_reported() -> None:
    car = ev(2, soc_initial=0.5, departures=(Departure(step=0, target_soc=0.8),))
    assert plan(home(2, ev=car)).departure_shortfall_Wh == pytest.approx(12_000)


def test_14a_limit_holds_at_every_dimmed_step() -> None:
    # Dimmed to 4.2 kW in the cheap hours 1-3; the car needs 30 kWh by hour 6.
    limit = np.array([np.inf, 4_200, 4_200, 4_200, np.inf, np.inf])
    battery = BatteryProblem(capacity_Wh=10_000, soc_initial=0.0, max_charge_power_W=5_000,
                             max_discharge_power_W=5_000)
    car = ev(6, soc_initial=0.25, departures=(Departure(step=6, target_soc=1.0),))
    result = plan(home(6, prices=[300, 50, 50, 50, 300, 300], load_W=800, ev=car, battery=battery,
                       import_limit_14a_W=limit))
    controllable_draw = result.grid_import_W - 800
    assert np.all(controllable_draw <= limit + 1e-3)
    assert result.ev_charge_W[1:4].sum() + result.battery_charge_W[1:4].sum() == pytest.approx(3 * 4_200, abs=1e-2)
    assert result.departure_shortfall_Wh == pytest.approx(0.0, abs=1e-6)


def test_feed_in_limit_curtails_what_storage_cannot_take() -> None:
    # 10 kW PV, 0.5 kW load, 4 kW feed-in limit; the battery takes 3 kW for two hours, then is full.
    battery = BatteryProblem(capacity_Wh=6_000, soc_initial=0.0, max_charge_power_W=3_000,
                             max_discharge_power_W=3_000, charge_efficiency=1.0, discharge_efficiency=1.0)
    result = plan(home(3, pv_W=10_000, load_W=500, export_price=80, export_limit_W=4_000, battery=battery,
                       terminal_value_EUR_per_kWh=0.2))
    assert result.grid_export_W == pytest.approx([4_000] * 3, abs=1e-3)
    assert result.battery_charge_W == pytest.approx([3_000, 3_000, 0], abs=1e-3)
    assert result.pv_curtailment_W == pytest.approx([2_500, 2_500, 5_500], abs=1e-3)


def test_without_curtailment_an_export_jam_is_reported_not_raised() -> None:
    result = plan(home(2, pv_W=10_000, export_limit_W=4_000, allow_pv_curtailment=False))
    assert result.status is PlanStatus.INFEASIBLE
    assert not result.ok
    assert np.all(np.isnan(result.ev_charge_W))


def _v2g_day(v2g_allowed: bool) -> HemsPlan:
    # A full car, 1 €/kWh feed-in in hour 1, 1 kW house load, no PV.
    car = ev(3, soc_initial=1.0, v2h_allowed=True, v2g_allowed=v2g_allowed)
    problem = home(3, prices=[300, 300, 300], load_W=1_000, ev=car)
    problem = HemsProblem(step_s=problem.step_s, pv_W=problem.pv_W, load_W=problem.load_W,
                          import_price_EUR_per_MWh=problem.import_price_EUR_per_MWh,
                          export_price_EUR_per_MWh=np.array([0.0, 1_000.0, 0.0]), ev=car,
                          terminal_value_EUR_per_kWh=0.0)
    return plan(problem)


def test_without_v2g_consent_the_ev_never_exports() -> None:
    result = _v2g_day(v2g_allowed=False)
    assert np.all(result.ev_discharge_W <= 1_000 + 1e-3)  # at most the house load
    assert np.all(result.grid_export_W <= 1e-3)
    assert result.ev_discharge_W == pytest.approx([1_000] * 3, abs=1e-3)  # V2H is still used


def test_with_v2g_consent_the_ev_exports_when_it_pays() -> None:
    result = _v2g_day(v2g_allowed=True)
    assert result.grid_export_W[1] == pytest.approx(10_000, abs=1e-3)


def test_without_v2h_consent_the_ev_never_discharges() -> None:
    car = ev(2, soc_initial=1.0, v2h_allowed=False)
    result = plan(home(2, prices=[500, 500], load_W=2_000, ev=car))
    assert np.all(result.ev_discharge_W == 0.0)


def test_below_the_reserve_the_ev_charges_at_once_even_if_later_is_cheaper() -> None:
    # Arrives at 10 %, reserve 30 %: 8 kWh now at 11 kW, although hour 3 is nearly free.
    car = ev(4, soc_initial=0.1, reserve_soc=0.3, v2h_allowed=True)
    result = plan(home(4, prices=[400, 400, 400, 10], ev=car))
    assert result.ev_charge_W[0] == pytest.approx(8_000, abs=1e-3)
    assert np.all(result.ev_discharge_W <= 1e-6)


def test_trips_use_energy_while_unplugged_and_the_car_is_recharged_for_the_next_departure() -> None:
    plugged = np.array([True, False, False, True, True, True])
    trip = np.array([0, 4_000, 4_000, 0, 0, 0.0])
    car = ev(6, soc_initial=0.5, plugged=plugged, trip_energy_Wh=trip,
             departures=(Departure(step=1, target_soc=0.5), Departure(step=6, target_soc=0.5)))
    result = plan(home(6, prices=[400, 300, 300, 300, 300, 300], ev=car))
    assert result.ev_energy_Wh[:4] == pytest.approx([20_000, 20_000, 16_000, 12_000], abs=1e-2)
    assert result.ev_energy_Wh[6] == pytest.approx(20_000, abs=1e-2)
    assert np.all(result.ev_charge_W[~plugged] == 0.0)
    assert result.trip_shortfall_Wh == pytest.approx(0.0, abs=1e-6)


def test_a_trip_longer_than_the_battery_is_reported_as_trip_shortfall() -> None:
    plugged = np.array([False, False])
    car = ev(2, soc_initial=0.25, plugged=plugged, trip_energy_Wh=np.array([8_000, 8_000.0]))
    result = plan(home(2, ev=car))
    assert result.ok
    assert result.trip_shortfall_Wh == pytest.approx(6_000, abs=1e-2)


def test_measured_soc_outside_the_window_does_not_break_the_plan() -> None:
    car = ev(2, soc_initial=0.05, soc_min=0.1, soc_max=0.9)
    assert plan(home(2, ev=car)).ok


@pytest.mark.parametrize(("field", "value"), [
    ("pv_W", np.array([-1.0, 0.0])),
    ("load_W", np.array([np.nan, 0.0])),
    ("import_price_EUR_per_MWh", np.array([1.0])),
    ("step_s", 0.0),
])
def test_bad_problem_is_refused_with_the_field_named(field: str, value: object) -> None:
    values: dict[str, object] = dict(step_s=900.0, pv_W=np.zeros(2), load_W=np.zeros(2),
                                     import_price_EUR_per_MWh=np.zeros(2), export_price_EUR_per_MWh=np.zeros(2))
    values[field] = value
    with pytest.raises(ValueError, match=field.split("_")[0]):
        HemsProblem(**values)  # type: ignore[arg-type]


def test_the_same_function_plans_a_week_at_15_min_with_every_commute_met() -> None:
    # 7 days × 96 steps; the car commutes 07:30-17:30 on five days (12 kWh each) and must
    # leave with 70 %; PV by day, a peak price in the evening, V2H allowed.
    n = 7 * 96
    hour = (np.arange(n) % 96) / 4.0
    day = np.arange(n) // 96
    away = (day < 5) & (hour >= 7.5) & (hour < 17.5)
    departures = tuple(Departure(step=d * 96 + 30, target_soc=0.7) for d in range(5))
    car = EvProblem(capacity_Wh=60_000, soc_initial=0.4, plugged=~away, trip_energy_Wh=np.where(away, 300.0, 0.0),
                    max_charge_power_W=11_000, max_discharge_power_W=11_000, charge_efficiency=0.92,
                    discharge_efficiency=0.92, reserve_soc=0.3, departures=departures, v2h_allowed=True,
                    wear_cost_EUR_per_kWh=0.03)
    sun = np.clip(np.sin(np.pi * (hour - 6) / 13), 0, None)
    problem = HemsProblem(step_s=900, pv_W=8_000 * sun, load_W=400 + 1_500 * ((hour >= 18) & (hour < 22)),
                          import_price_EUR_per_MWh=300 + 200 * ((hour >= 17) & (hour < 21)) - 80 * sun,
                          export_price_EUR_per_MWh=np.full(n, 79.0), ev=car)
    result = plan(problem)
    assert result.ok
    assert result.departure_shortfall_Wh == pytest.approx(0.0, abs=1e-3)
    for d in departures:
        assert result.ev_energy_Wh[d.step] >= 0.7 * 60_000 - 1e-2
    evening = (hour >= 17.5) & (hour < 21) & ~away
    assert result.ev_discharge_W[evening].sum() > 0  # the car carries evening peaks
