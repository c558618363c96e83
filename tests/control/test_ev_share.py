"""Sharing the HEMS's one EV setpoint over several cars (control/ev_share.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bidicharge.control.ev_share import CarNeed, share_ev_power, water_fill


def car(need: float = 0.0, spare: float = 0.0, max_charge: float = 11_000.0, max_discharge: float = 11_000.0,
        departs_in_h: float | None = None) -> CarNeed:
    return CarNeed(need_Wh=need, spare_Wh=spare, max_charge_W=max_charge, max_discharge_W=max_discharge,
                   seconds_to_departure=None if departs_in_h is None else departs_in_h * 3600.0)


@pytest.mark.parametrize(("power_W", "cars", "expected"), [
    (7_000, [car(need=20_000)], [7_000]),  # one car: everything, whatever its need
    (8_000, [car(need=20_000, departs_in_h=10), car(need=20_000, departs_in_h=10)], [4_000, 4_000]),
    # the car that leaves first is more urgent: 20 kWh in 2 h against 20 kWh in 8 h
    (10_000, [car(need=20_000, departs_in_h=2), car(need=20_000, departs_in_h=8)], [8_000, 2_000]),
    # ... but never above its limit: the rest goes to the other car
    (10_000, [car(need=20_000, departs_in_h=2, max_charge=4_000), car(need=20_000, departs_in_h=8)],
     [4_000, 6_000]),
    (6_000, [car(need=0), car(need=10_000, departs_in_h=5)], [0, 6_000]),  # a full car gets nothing
    (6_000, [car(need=0, max_charge=2_000), car(need=0, max_charge=4_000)], [2_000, 4_000]),  # PV surplus: by headroom
    (-6_000, [car(spare=30_000), car(spare=10_000)], [-4_500, -1_500]),  # discharge by the energy above the floor
    (-6_000, [car(spare=30_000, max_discharge=3_000), car(spare=10_000)], [-3_000, -3_000]),
    (-5_000, [car(spare=0), car(spare=10_000)], [0, -5_000]),  # a car at its floor is not discharged
    (0, [car(need=5_000), car(spare=5_000)], [0, 0]),
])
def test_share_ev_power(power_W: float, cars: list[CarNeed], expected: list[float]) -> None:
    assert share_ev_power(power_W, cars) == pytest.approx(expected)


@given(total=st.floats(0, 50_000),
       pairs=st.lists(st.tuples(st.floats(0, 1e5), st.floats(0, 22_000)), min_size=1, max_size=6))
def test_water_fill_never_exceeds_a_cap_and_adds_up(total: float, pairs: list[tuple[float, float]]) -> None:
    weights, caps = [w for w, _ in pairs], [c for _, c in pairs]
    shares = water_fill(total, weights, caps)
    assert all(-1e-6 <= s <= c + 1e-6 for s, c in zip(shares, caps, strict=True))
    assert sum(shares) == pytest.approx(min(total, sum(caps)), abs=1e-3)
