"""The server's register map: layout, reads, checked writes (SunSpec Modbus §4-5)."""

from __future__ import annotations

import pytest
from sunspec_devices import BATTERY, METER, PV, PV_SUNNY

from bidicharge.protocols.sunspec import (
    BATTERY_MODELS,
    INVERTER_MODELS,
    METER_MODELS,
    DeviceImage,
    ModbusException,
    RemoteProtocolError,
)


def _addr(device: DeviceImage, model_id: int, path: str) -> int:
    model = device.model(model_id)
    return device.model_address(model) + model.layout.slot(path).offset


def test_map_starts_with_suns_and_ends_with_the_end_marker() -> None:
    device = PV.build()
    assert device.read(40000, 2) == [0x5375, 0x6E53]
    assert device.read(device.end_address - 2, 2) == [0xFFFF, 0]
    assert [m.model_id for m in device.models] == list(INVERTER_MODELS)
    assert [m.model_id for m in BATTERY.build().models] == list(BATTERY_MODELS)
    assert [m.model_id for m in METER.build().models] == list(METER_MODELS)


def test_model_headers_chain_through_the_map() -> None:
    device = BATTERY.build()
    address, seen = 40002, []
    while True:
        model_id, length = device.read(address, 2)
        if model_id == 0xFFFF:
            break
        seen.append(model_id)
        address += 2 + length
    assert seen == list(BATTERY_MODELS)
    assert address + 2 == device.end_address


@pytest.mark.parametrize(("address", "count"), [(39999, 2), (40000, 0), (None, 1)])
def test_read_outside_the_map_is_illegal_data_address(address: int | None, count: int) -> None:
    device = PV.build()
    with pytest.raises(RemoteProtocolError) as caught:
        device.read(device.end_address if address is None else address, count)
    assert caught.value.wire_code == ModbusException.ILLEGAL_DATA_ADDRESS


def test_measurement_is_readable_with_scale_factors() -> None:
    device = PV.build()
    PV.update(device, PV_SUNNY)
    inverter = device.model(103)
    assert inverter.get("W") == 8_432
    assert inverter.get("Hz") == pytest.approx(49.98)
    assert inverter.get("PhVphA") == pytest.approx(231.4)
    assert device.model(160).get("module[1].DCV") == pytest.approx(587.9)
    assert device.model(701).get("TotWhInj") == 1_234_567


def test_accepted_write_changes_the_setpoints() -> None:
    device = PV.build()
    address = _addr(device, 704, "WMaxLimPctEna")
    assert _addr(device, 704, "WMaxLimPct") == address + 1
    writes = device.write(address, [1, 600])  # enable, 60.0 % (SF -1)
    assert {(w.model_id, w.path, w.value) for w in writes} == {
        (704, "WMaxLimPctEna", 1),
        (704, "WMaxLimPct", 60.0),
    }
    setpoints = PV.setpoints(device)
    assert setpoints.limit_pct == 60.0
    assert setpoints.max_power_W == 6_000


def test_strictest_of_legacy_and_der_limits_wins() -> None:
    device = PV.build()
    device.write(_addr(device, 704, "WMaxLimPctEna"), [1, 600])
    device.write(_addr(device, 123, "WMaxLimPct"), [450])
    assert PV.setpoints(device).max_power_W == 6_000  # 123 limit written but not enabled
    device.write(_addr(device, 123, "WMaxLim_Ena"), [1])
    assert PV.setpoints(device).max_power_W == 4_500


@pytest.mark.parametrize(
    ("model_id", "path", "registers", "code"),
    [
        (103, "W", [100], ModbusException.ILLEGAL_DATA_ADDRESS),  # a measurement is read-only
        (1, "ID", [2], ModbusException.ILLEGAL_DATA_ADDRESS),
        (704, "WMaxLimPct", [1001], ModbusException.ILLEGAL_DATA_VALUE),  # 100.1 %
        (704, "WMaxLimPctEna", [7], ModbusException.ILLEGAL_DATA_VALUE),  # not a symbol
        (123, "WMaxLimPct", [0xFFFF], ModbusException.ILLEGAL_DATA_VALUE),  # "not implemented"
        (704, "WSet", [0, 10_001], ModbusException.ILLEGAL_DATA_VALUE),  # above WMaxRtg
        (704, "WSet", [0], ModbusException.ILLEGAL_DATA_ADDRESS),  # half of an int32
    ],
)
def test_bad_writes_are_refused_with_the_modbus_exception(
    model_id: int, path: str, registers: list[int], code: ModbusException
) -> None:
    device = PV.build()
    before = device.read(40000, device.end_address - 40000)
    with pytest.raises(RemoteProtocolError) as caught:
        device.write(_addr(device, model_id, path), registers)
    assert caught.value.wire_code == code
    assert device.read(40000, device.end_address - 40000) == before


def test_write_is_all_or_nothing() -> None:
    device = PV.build()
    address = _addr(device, 704, "WMaxLimPctEna")
    with pytest.raises(RemoteProtocolError):
        device.write(address, [1, 2000])  # valid enable, invalid 200 %
    assert device.model(704).get("WMaxLimPctEna") == 0


def test_battery_setpoint_sign_and_clamp() -> None:
    device = BATTERY.build()
    base = _addr(device, 704, "WSetEna")
    device.write(base, [1])
    wset = _addr(device, 704, "WSet")
    device.write(wset, [0, 3000])  # SunSpec: +3000 W = injection = discharging
    assert BATTERY.setpoints(device).power_setpoint_W == -3000
    device.write(wset, [0xFFFF, 0xFFFF - 4999])  # -5000 W = absorbing = charging at 5 kW
    assert BATTERY.setpoints(device).power_setpoint_W == 5000
    # legacy storage control caps charging to 40 % of WChaMax
    device.write(_addr(device, 124, "StorCtl_Mod"), [0b01])
    device.write(_addr(device, 124, "InWRte"), [400])
    setpoints = BATTERY.setpoints(device)
    assert setpoints.max_charge_W == 2000
    assert setpoints.power_setpoint_W == 2000


def test_battery_reserve_band() -> None:
    device = BATTERY.build()
    device.write(_addr(device, 802, "SoCRsvMin"), [150])  # 15.0 %
    assert BATTERY.setpoints(device).soc_min == pytest.approx(0.15)
    with pytest.raises(RemoteProtocolError):
        device.write(_addr(device, 802, "SocRsvMax"), [1200])
