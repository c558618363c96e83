"""Per-car flexibility: bad car data is refused with a reason; bounds follow the owner's rules."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bidicharge.control.fleet_flexibility import (
    CarSession,
    Horizon,
    InvalidCarData,
    build_flexibility,
    check_soc_update,
    validate_car,
)

H = 3600.0
# four one-hour intervals starting at t = 0
HORIZON = Horizon(start_s=0.0, n_steps=4, step_s=H)


def car(**changes: object) -> CarSession:
    base = CarSession(
        car_id="ev1", arrival_s=0.0, departure_s=4 * H, soc=0.5, capacity_Wh=10_000.0,
        max_charge_power_W=2_000.0, max_discharge_power_W=2_000.0, target_soc=0.5,
        min_soc_for_discharge=0.2, v2g_consent=True, charge_efficiency=1.0, discharge_efficiency=1.0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(("changes", "reason"), [
    ({"departure_s": -10.0, "arrival_s": -20.0}, "not after now"),
    ({"departure_s": 0.0, "arrival_s": -H}, "not after now"),
    ({"target_soc": 1.2}, "above what the battery may hold"),
    ({"target_soc": 0.95, "max_soc": 0.9}, "above what the battery may hold"),
    ({"soc": 1.3}, "soc 1.3 is outside 0..1"),
    ({"capacity_Wh": 0.0}, "capacity must be positive"),
    ({"max_charge_power_W": -1.0}, "must not be negative"),
    ({"charge_efficiency": 0.0}, "charge_efficiency 0.0 is outside"),
    ({"departure_s": 2 * H, "arrival_s": 3 * H}, "departure is not after arrival"),
    ({"soc": float("nan")}, "not a finite number"),
])
def test_inconsistent_car_data_is_rejected_with_the_reason(changes: dict[str, object], reason: str) -> None:
    with pytest.raises(InvalidCarData, match=reason) as info:
        validate_car(car(**changes), now_s=0.0)
    assert info.value.car_id == "ev1"


def test_build_names_the_bad_car() -> None:
    cars = [car(car_id="ok"), car(car_id="bad", target_soc=1.5)]
    with pytest.raises(InvalidCarData, match="'bad'"):
        build_flexibility(cars, HORIZON, now_s=0.0)


@pytest.mark.parametrize(("new_soc", "elapsed_s", "ok"), [
    (0.6, H, True),  # +1 kWh in an hour at 2 kW: possible
    (0.7, H, True),  # +2 kWh: exactly the charger's limit
    (0.9, H, False),  # +4 kWh in an hour at 2 kW: a jump
    (0.1, H, False),  # -4 kWh in an hour: a jump
    (0.51, 0.0, True),  # within the 2 % noise allowance
])
def test_soc_jumps_are_refused(new_soc: float, elapsed_s: float, ok: bool) -> None:
    before, after = car(soc=0.5), car(soc=new_soc)
    if ok:
        check_soc_update(before, after, elapsed_s=elapsed_s)
    else:
        with pytest.raises(InvalidCarData, match="SoC jumped"):
            check_soc_update(before, after, elapsed_s=elapsed_s)


def test_power_window_follows_plug_in_time_and_consent() -> None:
    cars = [car(car_id="v2g", arrival_s=1 * H, departure_s=3 * H),
            car(car_id="no-consent", arrival_s=1 * H, departure_s=3 * H, v2g_consent=False)]
    flex = build_flexibility(cars, HORIZON, now_s=0.0)
    assert flex.max_power_W[0] == pytest.approx([0, 2000, 2000, 0])
    assert flex.min_power_W[0] == pytest.approx([0, -2000, -2000, 0])
    assert flex.min_power_W[1] == pytest.approx([0, 0, 0, 0])


def test_half_plugged_interval_halves_the_average_power() -> None:
    flex = build_flexibility([car(arrival_s=0.5 * H, departure_s=2.5 * H)], HORIZON, now_s=0.0)
    assert flex.max_power_W[0] == pytest.approx([1000, 2000, 1000, 0])


@pytest.mark.parametrize(("soc", "min_soc", "consent", "may_discharge", "lowest_Wh"), [
    (0.5, 0.2, True, True, -3000.0),  # down to 20 % of 10 kWh from 5 kWh
    (0.5, 0.5, True, True, 0.0),  # owner's minimum equals the SoC: nothing to give
    (0.1, 0.2, True, False, 0.0),  # arrived below the owner's minimum: no discharge at all
    (0.5, 0.2, False, False, 0.0),  # no consent
])
def test_discharge_never_goes_below_the_owners_minimum(soc: float, min_soc: float, consent: bool,
                                                        may_discharge: bool, lowest_Wh: float) -> None:
    one = car(soc=soc, min_soc_for_discharge=min_soc, v2g_consent=consent, target_soc=0.0,
              departure_s=10 * H)
    flex = build_flexibility([one], HORIZON, now_s=0.0)
    assert bool(flex.may_discharge[0]) is may_discharge
    assert flex.min_energy_Wh[0].min() == pytest.approx(lowest_Wh)


def test_target_bounds_the_energy_from_departure_on() -> None:
    flex = build_flexibility([car(soc=0.2, target_soc=0.6, departure_s=3 * H)], HORIZON, now_s=0.0)
    need = 4000.0  # 0.6·10 kWh − 0.2·10 kWh
    assert flex.min_energy_Wh[0, 3:] == pytest.approx([need, need])
    # to have 4 kWh by hour 3 at 2 kW, at least 0 by hour 1 and 2 kWh by hour 2
    assert flex.min_energy_Wh[0, :3] == pytest.approx([0, 0, 2000])
    assert flex.target_reachable[0]


def test_unreachable_target_is_flagged_and_charged_as_far_as_possible() -> None:
    flex = build_flexibility([car(soc=0.1, target_soc=0.9, departure_s=2 * H)], HORIZON, now_s=0.0)
    assert not flex.target_reachable[0]
    assert flex.required_energy_Wh[0] == pytest.approx(4000.0)  # 2 h at 2 kW
    assert flex.min_power_W[0, :2] == pytest.approx([2000, 2000])


def test_departure_after_the_horizon_only_asks_what_cannot_follow_later() -> None:
    # needs 4 kWh, leaves 1 h after the horizon: 2 kWh can still come after the end
    flex = build_flexibility([car(soc=0.2, target_soc=0.6, departure_s=5 * H)], HORIZON, now_s=0.0)
    assert flex.min_energy_Wh[0, -1] == pytest.approx(2000.0)


def test_efficiencies_are_applied_per_direction() -> None:
    flex = build_flexibility([car(charge_efficiency=0.9, discharge_efficiency=0.8, target_soc=0.2)],
                             HORIZON, now_s=0.0)
    lo, hi = flex.battery_power_bounds_W()
    assert hi[0, 0] == pytest.approx(1800.0)
    assert lo[0, 0] == pytest.approx(-2500.0)
    # the deepest discharge: 3 kWh of cells take 1.5 h at 2.5 kW of cell power
    assert flex.min_energy_Wh[0, 2] == pytest.approx(-3000.0)


def test_bounds_are_consistent_for_random_fleets() -> None:
    from bidicharge.control.fleet_samples import planning_horizon, sample_fleet

    horizon = planning_horizon()
    flex = build_flexibility(sample_fleet(np.random.default_rng(3), 300), horizon, now_s=horizon.start_s)
    assert np.all(flex.min_energy_Wh <= flex.max_energy_Wh + 1e-6)
    assert np.all(flex.min_power_W <= flex.max_power_W + 1e-6)
    assert np.all(flex.min_energy_Wh[:, 0] == 0) and np.all(flex.max_energy_Wh[:, 0] == 0)


def test_car_arriving_after_the_horizon_asks_nothing_and_is_not_flagged() -> None:
    flex = build_flexibility([car(soc=0.2, target_soc=0.9, arrival_s=5 * H, departure_s=9 * H)],
                             HORIZON, now_s=0.0)
    assert flex.target_reachable[0]
    assert np.all(flex.max_power_W[0] == 0) and np.all(flex.max_energy_Wh[0] == 0)


def test_empty_fleet_gives_empty_bounds() -> None:
    flex = build_flexibility([], HORIZON, now_s=0.0)
    assert flex.n_cars == 0
    assert flex.min_power_W.shape == (0, 4) and flex.max_energy_Wh.shape == (0, 5)
