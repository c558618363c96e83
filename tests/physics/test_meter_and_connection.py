"""Meter registers never decrease; quarter-hour values add up to the registers; the GCP
balance is the sum of its nodes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bidicharge.physics import grid_connection, meter


@settings(max_examples=150, deadline=None)
@given(powers=st.lists(st.floats(-30_000, 30_000, allow_nan=False), min_size=1, max_size=300),
       dt_s=st.sampled_from([1.0, 60.0, 300.0, 420.0]))
def test_registers_never_decrease_and_intervals_sum_to_registers(powers: list[float], dt_s: float) -> None:
    state = meter.MeterState()
    intervals: list[meter.IntervalValue] = []
    t = 1_520_204_400.0  # a quarter-hour boundary
    for p in powers:
        new, closed = meter.step(state, t, p, dt_s)
        assert new.import_Wh >= state.import_Wh and new.export_Wh >= state.export_Wh
        intervals.extend(closed)
        state, t = new, t + dt_s
    total_imp = sum(i.import_Wh for i in intervals) + state.interval_import_Wh
    total_exp = sum(i.export_Wh for i in intervals) + state.interval_export_Wh
    assert total_imp == pytest.approx(state.import_Wh, abs=1e-6)
    assert total_exp == pytest.approx(state.export_Wh, abs=1e-6)
    assert state.import_Wh - state.export_Wh == pytest.approx(sum(powers) * dt_s / 3600.0, abs=1e-3)
    assert all(b.start_s - a.start_s == meter.INTERVAL_S for a, b in zip(intervals, intervals[1:], strict=False))


def test_a_step_across_a_boundary_is_split_in_proportion() -> None:
    state, closed = meter.step(meter.MeterState(), 840.0, 3600.0, 120.0)  # 60 s before, 60 s after 900
    assert closed == [meter.IntervalValue(start_s=0.0, import_Wh=60.0, export_Wh=0.0)]
    assert state.interval_import_Wh == pytest.approx(60.0) and state.interval_start_s == 900.0


def test_balance_and_fuse() -> None:
    params = grid_connection.ConnectionParams(fuse_A=35, phases=3, feed_in_limit_W=5000)
    b = grid_connection.balance(params, [11_000, 1_000, -8_000])
    assert (b.grid_power_W, b.import_W, b.export_W, b.overload) == (4000, 4000, 0, False)
    assert grid_connection.balance(params, [30_000]).overload
    assert grid_connection.balance(params, [-6_000]).feed_in_exceeded
