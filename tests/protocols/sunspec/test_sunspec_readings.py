"""The HEMS side gets typed readings back, in the project's sign convention, and refuses
values that cannot be true (issue 6: negative PV at night, SoC 250 %)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sunspec_devices import BATTERY, BATTERY_CHARGING, METER, METER_EXPORTING, PV, PV_SUNNY, scan

from bidicharge.protocols.sunspec import (
    DeviceImage,
    ModbusException,
    RemoteProtocolError,
    battery_measurement,
    meter_measurement,
    pv_measurement,
)


def test_pv_reading_equals_what_the_physics_fed() -> None:
    device = PV.build()
    PV.update(device, PV_SUNNY)
    reading = pv_measurement(scan(device)[0])
    assert reading.ac_power_W == PV_SUNNY.ac_power_W
    assert reading.energy_Wh == PV_SUNNY.energy_Wh
    assert reading.string_power_W == PV_SUNNY.string_power_W
    assert reading.string_voltage_V == pytest.approx(PV_SUNNY.string_voltage_V)
    assert reading.frequency_Hz == pytest.approx(PV_SUNNY.frequency_Hz)
    assert reading.state == PV_SUNNY.state


def test_legacy_only_inverter_is_read_from_model_103() -> None:
    full = PV.build()
    PV.update(full, PV_SUNNY)
    legacy = DeviceImage([full.model(1), full.model(103)])
    reading = pv_measurement(scan(legacy)[0])
    assert reading.ac_power_W == PV_SUNNY.ac_power_W
    assert reading.voltage_V == pytest.approx(PV_SUNNY.voltage_V)
    assert reading.string_power_W == ()


@settings(max_examples=30, deadline=None)
@given(power_W=st.integers(-4_600, 5_000), soc=st.integers(0, 1000).map(lambda n: n / 1000))
def test_battery_reading_keeps_the_sign_convention(power_W: int, soc: float) -> None:
    device = BATTERY.build()
    fed = replace(BATTERY_CHARGING, power_W=power_W, soc=soc)
    BATTERY.update(device, fed)
    reading = battery_measurement(scan(device)[0])
    assert reading.power_W == power_W  # positive = charging, as fed
    assert reading.soc == pytest.approx(soc, abs=0.0005)
    assert reading.cycles == fed.cycles


def test_meter_reading_equals_what_was_fed() -> None:
    device = METER.build()
    METER.update(device, METER_EXPORTING)
    reading = meter_measurement(scan(device)[0])
    assert reading.phase_power_W == pytest.approx(METER_EXPORTING.phase_power_W, abs=0.5)
    assert reading.power_W < 0  # exporting
    assert reading.import_energy_Wh == METER_EXPORTING.import_energy_Wh
    assert reading.export_energy_Wh == METER_EXPORTING.export_energy_Wh


def test_soc_of_250_percent_is_refused() -> None:
    device = BATTERY.build()
    BATTERY.update(device, BATTERY_CHARGING)
    device.model(802).set("SoC", 250)
    with pytest.raises(RemoteProtocolError, match="state of charge") as caught:
        battery_measurement(scan(device)[0])
    assert caught.value.wire_code == ModbusException.SERVER_DEVICE_FAILURE


def test_pv_drawing_kilowatts_at_night_is_refused() -> None:
    device = PV.build()
    PV.update(device, PV_SUNNY)
    device.model(701).set("W", -3_000)
    with pytest.raises(RemoteProtocolError, match="drawing power"):
        pv_measurement(scan(device)[0])


def test_small_standby_draw_is_accepted() -> None:
    device = PV.build()
    PV.update(device, replace(PV_SUNNY, ac_power_W=0, string_power_W=(0, 0)))
    device.model(701).set("W", -12)
    assert pv_measurement(scan(device)[0]).ac_power_W == -12


def test_device_without_power_says_so() -> None:
    device = PV.build()  # nothing measured yet: every measurement point "not implemented"
    with pytest.raises(RemoteProtocolError, match="AC power"):
        pv_measurement(scan(device)[0])
