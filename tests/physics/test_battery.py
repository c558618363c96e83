"""Battery physics: energy conserved to the watt-hour, SoC within bounds, taper."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bidicharge.physics import battery

PARAMS = battery.BatteryParams(capacity_Wh=77_000, max_charge_W=11_000, max_discharge_W=11_000,
                               charge_efficiency=0.94, discharge_efficiency=0.92, soc_min=0.05, soc_max=0.98)


@settings(max_examples=200, deadline=None)
@given(
    soc=st.floats(0.05, 0.98),
    powers=st.lists(st.floats(-20_000, 20_000, allow_nan=False), min_size=1, max_size=200),
    dt_s=st.sampled_from([1.0, 60.0, 900.0]),
)
def test_energy_is_conserved_and_soc_stays_in_bounds(soc: float, powers: list[float], dt_s: float) -> None:
    state = battery.initial_state(PARAMS, soc)
    e0 = state.energy_Wh
    terminal_in_Wh = 0.0
    for p in powers:
        state, accepted = battery.step(PARAMS, state, p, dt_s)
        terminal_in_Wh += accepted * dt_s / 3600.0
        assert PARAMS.soc_min - 1e-9 <= state.soc(PARAMS) <= PARAMS.soc_max + 1e-9
        assert (accepted >= 0) == (p >= 0) or accepted == 0
        assert abs(accepted) <= abs(p) + 1e-9
    assert terminal_in_Wh == pytest.approx(state.energy_Wh - e0 + state.losses_Wh, abs=1.0)
    assert state.charged_Wh - state.discharged_Wh == pytest.approx(terminal_in_Wh, abs=1e-6)


def test_charge_limit_tapers_above_80_percent() -> None:
    p = battery.BatteryParams(capacity_Wh=100_000, max_charge_W=10_000, max_discharge_W=10_000)
    low, _ = battery.power_limits_W(p, battery.initial_state(p, 0.5))
    mid, _ = battery.power_limits_W(p, battery.initial_state(p, 0.9))
    full, _ = battery.power_limits_W(p, battery.initial_state(p, 1.0))
    assert low == 10_000 and mid == pytest.approx(5_500) and full == 0


def test_drain_reports_what_could_not_be_supplied() -> None:
    state = battery.initial_state(PARAMS, 0.05)
    state, short = battery.drain(PARAMS, state, 10_000)
    assert state.energy_Wh == 0 and short == pytest.approx(10_000 - 0.05 * 77_000)


def test_bad_params_are_refused() -> None:
    with pytest.raises(ValueError, match="capacity"):
        battery.BatteryParams(capacity_Wh=-1, max_charge_W=1, max_discharge_W=1)
    with pytest.raises(ValueError, match="efficiency"):
        battery.BatteryParams(capacity_Wh=1, max_charge_W=1, max_discharge_W=1, charge_efficiency=1.5)
