"""Devices shared by the SunSpec tests: a 10 kW PV inverter, a 10 kWh battery, a meter."""

from __future__ import annotations

from bidicharge.protocols.sunspec import (
    BatteryMeasurement,
    BatteryProfile,
    BatteryRating,
    DeviceImage,
    DeviceInfo,
    DeviceScan,
    MeterMeasurement,
    MeterProfile,
    PvInverterMeasurement,
    PvInverterProfile,
    PvInverterRating,
    RemoteProtocolError,
    ScannedDevice,
)

PV = PvInverterProfile(
    DeviceInfo(model="sim-pv-10k", serial_number="PV-0001"),
    PvInverterRating(max_power_W=10_000, max_apparent_power_VA=10_000),
)
BATTERY = BatteryProfile(
    DeviceInfo(model="sim-bat-10k", serial_number="BAT-0001"),
    BatteryRating(capacity_Wh=10_000, max_charge_W=5_000, max_discharge_W=4_600),
)
METER = MeterProfile(DeviceInfo(model="sim-meter", serial_number="MTR-0001"))

PV_SUNNY = PvInverterMeasurement(
    ac_power_W=8_432,
    energy_Wh=1_234_567,
    string_power_W=(4_400, 4_300),
    string_voltage_V=(612.3, 587.9),
    voltage_V=231.4,
    frequency_Hz=49.98,
    temperature_C=41.5,
)
BATTERY_CHARGING = BatteryMeasurement(
    power_W=3_200,
    soc=0.634,
    soh=0.97,
    dc_voltage_V=402.5,
    charged_Wh=812_345,
    discharged_Wh=798_001,
    cycles=321,
)
METER_EXPORTING = MeterMeasurement(
    phase_power_W=(-1_500, -1_420.5, 310),
    phase_voltage_V=(230.1, 229.8, 231.0),
    frequency_Hz=50.01,
    import_energy_Wh=4_567_890,
    export_energy_Wh=2_345_678,
)


def scan(device: DeviceImage) -> tuple[ScannedDevice, int]:
    """Run the client core against the server core; returns the result and the reads."""
    client = DeviceScan()
    reads = 0
    while (request := client.next_request()) is not None:
        reads += 1
        assert request.count <= 125
        try:
            registers = device.read(request.address, request.count)
        except RemoteProtocolError as error:
            client.receive_exception(error.wire_code)
            continue
        client.receive_registers(registers)
    return client.result(), reads
