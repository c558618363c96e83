"""A HEMS following an aggregator's schedule keeps the owner's limits (control/hems_schedule_follow)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bidicharge.control.hems_schedule_follow import (
    BELOW_MINIMUM,
    DEPARTURE,
    FULL,
    MIN_SOC,
    NO_CONSENT,
    POWER_LIMIT,
    CarAtHome,
    follow_schedule,
)

HOUR = 3600.0
CAR = CarAtHome(soc=0.6, capacity_Wh=60e3, max_charge_W=11_000.0, max_discharge_W=10_000.0, charge_efficiency=0.9,
                discharge_efficiency=0.9, target_soc=0.8, departure_s=12 * HOUR, min_soc=0.4, v2g_consent=True)


@pytest.mark.parametrize(("requested", "changes", "expected", "reason"), [
    (5_000.0, {}, 5_000.0, ""),  # inside every limit: followed as asked
    (-5_000.0, {}, -5_000.0, ""),
    (-5_000.0, {"v2g_consent": False}, 0.0, NO_CONSENT),
    (20_000.0, {}, 11_000.0, POWER_LIMIT),
    (-20_000.0, {}, -10_000.0, POWER_LIMIT),
    # 0.41 → 0.40 leaves 600 Wh in the cells: 540 Wh at the grid in 15 minutes = 2,160 W
    (-10_000.0, {"soc": 0.41}, -2_160.0, MIN_SOC),
    (-10_000.0, {"soc": 0.39}, 0.0, MIN_SOC),
    # 0.99 → 1.0: 600 Wh in the cells take 667 Wh from the grid, 2,667 W for 15 minutes
    (11_000.0, {"soc": 0.99}, 2_666.7, FULL),
    # 12 kWh to the target, 1 h 30 min left: after this period and one period's margin, 1 h at
    # 11 kW stores 9.9 kWh, so 2.1 kWh (2.333 kWh at the grid) must go in now: 9,333 W
    (0.0, {"departure_s": 1.5 * HOUR}, 9_333.3, DEPARTURE),
    (-10_000.0, {"soc": 0.8, "departure_s": 1800.0}, 0.0, DEPARTURE),
    # a target out of reach: full power, never more
    (0.0, {"departure_s": 1800.0}, 11_000.0, DEPARTURE),
    # under the AC minimum: 0 or the minimum, whichever is nearer
    (1_000.0, {"min_power_W": 4_140.0}, 0.0, BELOW_MINIMUM),
    (3_000.0, {"min_power_W": 4_140.0}, 4_140.0, BELOW_MINIMUM),
    (-3_000.0, {"min_power_W": 4_140.0}, -4_140.0, BELOW_MINIMUM),
])
def test_the_schedule_is_followed_within_the_owners_limits(requested: float, changes: dict[str, float],
                                                          expected: float, reason: str) -> None:
    car = replace(CAR, **changes)  # type: ignore[arg-type]
    followed = follow_schedule(requested, car, now_s=0.0, hold_s=900.0)
    if reason == DEPARTURE and expected > car.max_charge_W:
        expected = car.max_charge_W  # what the departure asks is more than the charger gives
    assert followed.power_W == pytest.approx(expected, abs=0.5)
    assert followed.reason == reason


def test_a_stale_soc_does_not_let_a_discharge_pass_the_floor() -> None:
    """The SoC was read before the last 15 minutes' discharge: the floor counts from the lower SoC."""
    car = replace(CAR, soc=0.45, measured_W=-10_000.0, measured_for_s=900.0)  # 2.78 kWh out: really 0.404
    followed = follow_schedule(-10_000.0, car, now_s=0.0, hold_s=900.0)
    assert followed.reason == MIN_SOC
    assert followed.power_W > -1_000.0


def test_a_nonsense_hold_time_is_refused() -> None:
    with pytest.raises(ValueError, match="hold_s"):
        follow_schedule(0.0, CAR, now_s=0.0, hold_s=0.0)
