"""§14a EnWG guaranteed minimums, EMS budgets and command validation (BK6-22-300)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bidicharge.control.section14a import (
    DEFAULT_GZF_FORMULATION,
    ControllableDevice,
    DeviceId,
    DeviceKind,
    GzfFormulation,
    RefusalReason,
    check_device_command,
    check_ems_command,
    current_limit_A,
    device_minimum_W,
    ems_minimum_W,
    minimum_current_A,
)


def dev(
    kind: DeviceKind = DeviceKind.CHARGE_POINT, rated_W: float = 11_000, phases: int = 3, res_A: float = 0.1
):
    return ControllableDevice(
        device_id=DeviceId(f"{kind}-{rated_W}"),
        kind=kind,
        rated_power_W=rated_W,
        phases=phases,
        current_resolution_A=res_A,
    )


@pytest.mark.parametrize(
    ("kind", "rated_W", "expected_W"),
    [
        (DeviceKind.CHARGE_POINT, 11_000, 4_200),
        (DeviceKind.CHARGE_POINT, 22_000, 4_200),
        (DeviceKind.BATTERY, 10_000, 4_200),
        (DeviceKind.HEAT_PUMP, 9_000, 4_200),
        (DeviceKind.HEAT_PUMP, 11_000, 4_200),  # only "> 11 kW" uses 0.4 x rated
        (DeviceKind.HEAT_PUMP, 15_000, 6_000),
        (DeviceKind.ROOM_COOLING, 20_000, 8_000),
        (DeviceKind.CHARGE_POINT, 3_700, 3_700),  # cannot be dimmed below what it can draw
    ],
)
def test_device_minimum(kind: DeviceKind, rated_W: float, expected_W: float) -> None:
    assert device_minimum_W(dev(kind, rated_W)) == pytest.approx(expected_W)


@pytest.mark.parametrize(
    ("formulation", "n", "expected_W"),
    [
        (GzfFormulation.N_TIMES_GZF, 1, 4_200),
        (GzfFormulation.N_TIMES_GZF, 2, 8_400),  # evcc docs
        (GzfFormulation.N_TIMES_GZF, 3, 11_340),
        (GzfFormulation.N_TIMES_GZF, 4, 13_440),
        (GzfFormulation.FIRST_PLUS_GZF, 1, 4_200),
        (GzfFormulation.FIRST_PLUS_GZF, 2, 7_560),  # DSO document quoted in esp32-firmware#407
        (GzfFormulation.FIRST_PLUS_GZF, 3, 10_500),
    ],
)
def test_ems_budget_both_formulations(formulation: GzfFormulation, n: int, expected_W: float) -> None:
    devices = [dev() for _ in range(n)]
    assert ems_minimum_W(devices, formulation) == pytest.approx(expected_W)


def test_default_formulation_never_grants_less_than_the_other() -> None:
    assert DEFAULT_GZF_FORMULATION is GzfFormulation.N_TIMES_GZF
    for n in range(1, 12):
        devices = [dev() for _ in range(n)]
        assert ems_minimum_W(devices) >= ems_minimum_W(devices, GzfFormulation.FIRST_PLUS_GZF) - 1e-9


def test_ems_budget_counts_a_large_heat_pump_with_its_own_minimum() -> None:
    devices = [dev(), dev(DeviceKind.HEAT_PUMP, 15_000)]
    assert ems_minimum_W(devices, GzfFormulation.N_TIMES_GZF) == pytest.approx(1.0 * (4_200 + 6_000))
    assert ems_minimum_W(devices, GzfFormulation.FIRST_PLUS_GZF) == pytest.approx(6_000 + 0.8 * 4_200)


@pytest.mark.parametrize(
    ("phases", "res_A", "expected_A"),
    [
        (1, 0.1, 18.3),  # 4200 / 230 = 18.26 A, rounded up
        (3, 0.1, 6.1),  # 6.087 A per phase
        (3, 1.0, 7.0),  # a 1 A wallbox must not round down to 6 A (= 4.14 kW)
        (1, 1.0, 19.0),
    ],
)
def test_phase_aware_minimum_current(phases: int, res_A: float, expected_A: float) -> None:
    d = dev(phases=phases, res_A=res_A)
    assert minimum_current_A(d) == pytest.approx(expected_A)
    assert minimum_current_A(d) * phases * 230 >= 4_200


def test_single_phase_device_refuses_the_three_phase_current() -> None:
    one_phase = dev(phases=1, rated_W=7_400)
    check = check_device_command(one_phase, limit_A=6.1)  # what 4.2 kW means for a 3-phase device
    assert not check.accepted
    assert check.reason is RefusalReason.CURRENT_BELOW_MINIMUM
    assert "18.3 A" in check.detail
    assert check_device_command(one_phase, limit_A=18.3).accepted
    assert check_device_command(dev(phases=3), limit_A=6.1).accepted


@pytest.mark.parametrize(
    ("limit_W", "duration_s", "accepted", "reason"),
    [
        (4_200, 900, True, None),
        (6_000, 900, True, None),
        (4_199, 900, False, RefusalReason.BELOW_MINIMUM),
        (0, 900, False, RefusalReason.BELOW_MINIMUM),
        (-100, 900, False, RefusalReason.NEGATIVE_LIMIT),
        (5_000, 0, False, RefusalReason.BAD_DURATION),
    ],
)
def test_device_command_validation(limit_W: float, duration_s: float, accepted: bool, reason: object) -> None:
    check = check_device_command(dev(), limit_W=limit_W, duration_s=duration_s)
    assert check.accepted is accepted
    assert check.reason == reason
    if not accepted:
        assert check.detail


def test_ems_command_below_budget_is_refused_with_the_budget() -> None:
    devices = [dev(), dev(DeviceKind.HEAT_PUMP, 9_000)]
    check = check_ems_command(devices, 7_000)
    assert not check.accepted and check.reason is RefusalReason.BELOW_MINIMUM
    assert check.minimum_W == pytest.approx(8_400)
    assert check_ems_command(devices, 8_400).accepted


@given(
    rated_W=st.floats(1_000, 50_000),
    phases=st.sampled_from([1, 2, 3]),
    res_A=st.sampled_from([0.01, 0.1, 0.5, 1.0]),
    kind=st.sampled_from(list(DeviceKind)),
)
def test_minimum_current_never_means_less_than_the_minimum_power(
    rated_W: float, phases: int, res_A: float, kind: DeviceKind
) -> None:
    d = dev(kind, rated_W, phases, res_A)
    current = current_limit_A(device_minimum_W(d), d)
    assert current * phases * 230 >= device_minimum_W(d) - 1e-6
    assert current * phases * 230 < device_minimum_W(d) + res_A * phases * 230 + 1e-6
