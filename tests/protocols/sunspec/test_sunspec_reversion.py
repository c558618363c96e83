"""Reversion timers: a limit written with a reversion time falls back when nobody renews it
(704 `WMaxLimPctRvrtTms`, IEEE 1547-2018 reversion; 123/124 timeouts)."""

from __future__ import annotations

import pytest
from sunspec_devices import BATTERY, PV

from bidicharge.protocols.sunspec import DeviceImage
from bidicharge.protocols.sunspec.reversion import ReversionTimers


def _addr(device: DeviceImage, model_id: int, path: str) -> int:
    model = device.model(model_id)
    return device.model_address(model) + model.layout.slot(path).offset


def _write(
    device: DeviceImage, timers: ReversionTimers, model_id: int, path: str, regs: list[int], now: float
) -> None:
    timers.on_writes(device.write(_addr(device, model_id, path), regs), now=now)


def test_der_limit_reverts_when_not_renewed() -> None:
    device = PV.build()
    timers = ReversionTimers(device)
    _write(device, timers, 704, "WMaxLimPctRvrt", [800], now=0)  # fall back to 80 %
    _write(device, timers, 704, "WMaxLimPctEnaRvrt", [1], now=0)
    _write(device, timers, 704, "WMaxLimPctRvrtTms", [0, 60], now=0)
    _write(device, timers, 704, "WMaxLimPctEna", [1, 300], now=100)  # 30 % for 60 s
    assert timers.next_deadline() == 160
    assert PV.setpoints(device).max_power_W == 3_000
    timers.show_remaining(now=130)
    assert device.model(704).get("WMaxLimPctRvrtRem") == 30
    assert timers.handle_timeout(now=159) == ()
    _write(device, timers, 704, "WMaxLimPct", [350], now=150)  # the HEMS renews in time
    assert timers.handle_timeout(now=200) == ()
    changes = timers.handle_timeout(now=210)
    assert {(c.path, c.value) for c in changes} == {("WMaxLimPct", 80.0), ("WMaxLimPctEna", 1)}
    assert PV.setpoints(device).max_power_W == 8_000
    assert timers.next_deadline() is None


def test_without_reversion_time_a_limit_stays() -> None:
    device = PV.build()
    timers = ReversionTimers(device)
    _write(device, timers, 704, "WMaxLimPctEna", [1, 300], now=0)
    assert timers.next_deadline() is None
    assert timers.handle_timeout(now=1e9) == ()
    assert PV.setpoints(device).max_power_W == 3_000


@pytest.mark.parametrize(("timeout_s", "expired"), [(30, True), (0, False)])
def test_legacy_storage_control_times_out(timeout_s: int, expired: bool) -> None:
    device = BATTERY.build()
    timers = ReversionTimers(device)
    _write(device, timers, 124, "InOutWRte_RvrtTms", [timeout_s], now=0)
    _write(device, timers, 124, "StorCtl_Mod", [0b10], now=0)
    _write(device, timers, 124, "OutWRte", [200], now=0)  # discharge capped at 20 %
    assert BATTERY.setpoints(device).max_discharge_W == pytest.approx(1_000)
    timers.handle_timeout(now=31)
    assert BATTERY.setpoints(device).max_discharge_W == pytest.approx(4_600 if expired else 1_000)


def test_battery_setpoint_reverts_to_idle() -> None:
    device = BATTERY.build()
    timers = ReversionTimers(device)
    _write(device, timers, 704, "WSetRvrtTms", [0, 15], now=0)
    _write(device, timers, 704, "WSetEna", [1], now=0)
    _write(device, timers, 704, "WSet", [0, 2_000], now=0)
    assert BATTERY.setpoints(device).power_setpoint_W == -2_000
    timers.handle_timeout(now=15)
    assert BATTERY.setpoints(device).power_setpoint_W is None
