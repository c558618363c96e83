"""Client and server cores talking in memory: discovery, decoding, control writes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sunspec_devices import BATTERY, BATTERY_CHARGING, METER, METER_EXPORTING, PV, PV_SUNNY, scan

from bidicharge.protocols.sunspec import (
    BatteryMeasurement,
    DeviceScan,
    ModbusException,
    PvInverterMeasurement,
    RemoteProtocolError,
    write_requests,
)


@pytest.mark.parametrize(
    ("profile", "measurement"), [(PV, PV_SUNNY), (BATTERY, BATTERY_CHARGING), (METER, METER_EXPORTING)]
)
def test_scan_decodes_every_point_as_served(profile: object, measurement: object) -> None:
    device = profile.build()  # type: ignore[attr-defined]
    profile.update(device, measurement)  # type: ignore[attr-defined]
    result, _ = scan(device)
    assert [m.model_id for m in result.models] == [m.model_id for m in device.models]
    for ours, theirs in zip(device.models, result.models, strict=True):
        assert theirs.values == ours.values()


def test_scan_finds_a_map_at_base_zero() -> None:
    device = METER.build(base_address=0)
    result, _ = scan(device)
    assert result.base_address == 0
    assert result.model(203).values["ID"] == 203


def test_scan_without_sunspec_fails_with_the_device_answer() -> None:
    client = DeviceScan(base_addresses=(40000,))
    with pytest.raises(RemoteProtocolError) as caught:
        client.receive_exception(ModbusException.ILLEGAL_DATA_ADDRESS)
    assert caught.value.wire_code == ModbusException.ILLEGAL_DATA_ADDRESS


def test_long_models_are_read_in_chunks() -> None:
    device = PV.build()
    _, reads = scan(device)
    models = len(device.models)
    assert reads == 1 + models + 1 + models + 1  # probe, header per model, 701 needs 2 reads, end


def test_client_writes_change_what_the_physics_receives() -> None:
    device = PV.build()
    result, _ = scan(device)
    requests = write_requests(result.model(704), {"WMaxLimPctEna": 1, "WMaxLimPct": 35.5})
    assert len(requests) == 1  # adjacent points go in one FC16
    for request in requests:
        device.write(request.address, list(request.registers))
    assert PV.setpoints(device).max_power_W == pytest.approx(3_550)


@settings(max_examples=40, deadline=None)
@given(
    ac_W=st.integers(0, 10_000),
    energy_Wh=st.integers(1, 2**31),
    voltage_V=st.floats(180, 260).map(lambda v: round(v, 1)),
    hz=st.floats(47.5, 52.5).map(lambda v: round(v, 2)),
)
def test_any_pv_measurement_reads_back(ac_W: int, energy_Wh: int, voltage_V: float, hz: float) -> None:
    device = PV.build()
    PV.update(
        device,
        PvInverterMeasurement(
            ac_power_W=ac_W,
            energy_Wh=energy_Wh,
            string_power_W=(ac_W / 2, ac_W / 2),
            string_voltage_V=(600, 600),
            voltage_V=voltage_V,
            frequency_Hz=hz,
        ),
    )
    result, _ = scan(device)
    assert result.model(701).values["W"] == ac_W
    assert result.model(103).values["WH"] == energy_Wh
    assert result.model(701).values["LNV"] == pytest.approx(voltage_V)
    assert result.model(103).values["Hz"] == pytest.approx(hz)


@settings(max_examples=40, deadline=None)
@given(power_W=st.integers(-4_600, 5_000), soc=st.floats(0, 1).map(lambda s: round(s, 3)))
def test_any_battery_state_reads_back(power_W: int, soc: float) -> None:
    device = BATTERY.build()
    BATTERY.update(device, BatteryMeasurement(power_W=power_W, soc=soc))
    result, _ = scan(device)
    assert result.model(802).values["W"] == -power_W  # SunSpec: positive = discharging
    assert result.model(713).values["SoC"] == pytest.approx(soc * 100, abs=0.05)
