"""Interop: pysunspec2's own Modbus/TCP client (SunSpec Alliance, Apache-2.0; raw sockets,
not pymodbus) scans our PV inverter, battery and meter, decodes every point of every model
and writes the controls. Decoded values must equal what our physics fed; writes must reach
the physics and read back; out-of-range writes must be refused on the wire.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from bidicharge.protocols.sunspec import (
    BatteryMeasurement,
    BatteryProfile,
    BatteryRating,
    BatterySetpoints,
    DeviceImage,
    DeviceInfo,
    MeterMeasurement,
    MeterProfile,
    PvInverterMeasurement,
    PvInverterProfile,
    PvInverterRating,
    PvInverterSetpoints,
)
from bidicharge.transports.sunspec_modbus import SunSpecModbusServer

ssc = pytest.importorskip("sunspec2.modbus.client", reason="pysunspec2: requirements/test-sunspec.txt")

ModbusClientException = pytest.importorskip("sunspec2.modbus.modbus").ModbusClientException

pytestmark = pytest.mark.interop

PV = PvInverterProfile(
    DeviceInfo(model="sim-pv-10k", serial_number="PV-0001"),
    PvInverterRating(max_power_W=10_000, max_apparent_power_VA=10_000),
)
PV_FED = PvInverterMeasurement(
    ac_power_W=8_432,
    energy_Wh=1_234_567,
    string_power_W=(4_400, 4_300),
    string_voltage_V=(612.3, 587.9),
    voltage_V=231.4,
    frequency_Hz=49.98,
    temperature_C=41.5,
)
BATTERY = BatteryProfile(
    DeviceInfo(model="sim-bat-10k", serial_number="BAT-0001"),
    BatteryRating(capacity_Wh=10_000, max_charge_W=5_000, max_discharge_W=4_600),
)
BATTERY_FED = BatteryMeasurement(
    power_W=3_200,
    soc=0.634,
    soh=0.97,
    dc_voltage_V=402.5,
    charged_Wh=812_345,
    discharged_Wh=798_001,
    cycles=321,
)
METER = MeterProfile(DeviceInfo(model="sim-meter", serial_number="MTR-0001"))
METER_FED = MeterMeasurement(
    phase_power_W=(-1_500, -1_420, 310),
    phase_voltage_V=(230.1, 229.8, 231.0),
    frequency_Hz=50.01,
    import_energy_Wh=4_567_890,
    export_energy_Wh=2_345_678,
)


def _flatten(group: Any, prefix: str = "") -> dict[str, Any]:
    """pysunspec2's decoded points, keyed by our path convention."""
    out = {prefix + name: point.cvalue for name, point in group.points.items() if point.pdef["type"] != "pad"}
    for name, sub in group.groups.items():
        if isinstance(sub, list):
            for i, inst in enumerate(sub):
                out |= _flatten(inst, f"{prefix}{name}[{i}].")
        else:
            out |= _flatten(sub, f"{prefix}{name}.")
    return out


def _same(theirs: dict[str, Any], ours: dict[str, Any]) -> None:
    assert theirs.keys() == ours.keys()
    for path, value in ours.items():
        if isinstance(value, float):
            assert theirs[path] == pytest.approx(value), path
        else:
            assert theirs[path] == value, path


async def _with_peer(server: SunSpecModbusServer[Any, Any], work: Callable[[Any], None]) -> None:
    async with server:
        port = server.port

        def run() -> None:
            device = ssc.SunSpecModbusClientDeviceTCP(slave_id=1, ipaddr="127.0.0.1", ipport=port, timeout=5)
            try:
                device.scan()
                work(device)
            finally:
                device.close()

        await asyncio.to_thread(run)


def _check_every_point(peer: Any, ours: DeviceImage) -> None:
    assert sorted(k for k in peer.models if isinstance(k, int)) == sorted(m.model_id for m in ours.models)
    for model in ours.models:
        theirs = peer.models[model.model_id][0]
        theirs.read()
        _same(_flatten(theirs), model.values())


async def test_pysunspec2_scans_our_pv_inverter() -> None:
    received: list[PvInverterSetpoints] = []

    def physics(setpoints: PvInverterSetpoints) -> PvInverterMeasurement:
        ac_W = min(PV_FED.ac_power_W, setpoints.max_power_W)
        return replace(PV_FED, ac_power_W=ac_W)

    server = SunSpecModbusServer(PV, measure=physics, on_setpoints=received.append)

    def work(peer: Any) -> None:
        _check_every_point(peer, server.device)
        common, inverter, der = peer.models[1][0], peer.models[103][0], peer.models[701][0]
        assert (common.Mn.cvalue, common.Md.cvalue, common.SN.cvalue) == (
            "bidicharge",
            "sim-pv-10k",
            "PV-0001",
        )
        assert inverter.W.cvalue == der.W.cvalue == PV_FED.ac_power_W
        assert inverter.Hz.cvalue == pytest.approx(PV_FED.frequency_Hz)
        assert der.Hz.cvalue == pytest.approx(PV_FED.frequency_Hz)
        assert inverter.PhVphA.cvalue == pytest.approx(PV_FED.voltage_V)
        assert inverter.WH.cvalue == der.TotWhInj.cvalue == PV_FED.energy_Wh
        strings = peer.models[160][0]
        assert [m.DCW.cvalue for m in strings.module] == list(PV_FED.string_power_W)
        assert [m.DCV.cvalue for m in strings.module] == pytest.approx(list(PV_FED.string_voltage_V))

        ctl = peer.models[704][0]  # IEEE 1547 curtailment to 60 %
        ctl.WMaxLimPctEna.value = 1
        ctl.WMaxLimPct.cvalue = 60
        ctl.write()
        assert received[-1].max_power_W == 6_000
        ctl.read()
        assert (ctl.WMaxLimPctEna.value, ctl.WMaxLimPct.cvalue) == (1, 60)
        der.read()
        assert der.W.cvalue == 6_000

        legacy = peer.models[123][0]  # legacy 123 curtailment, stricter: wins
        legacy.WMaxLimPct.cvalue = 25
        legacy.WMaxLim_Ena.value = 1
        legacy.write()
        inverter.read()
        assert inverter.W.cvalue == 2_500

        volt_var = peer.models[705][0]  # load the second volt-var curve and enable the function
        volt_var.Crv[1].Pt[0].V.cvalue = 93.5
        volt_var.Crv[1].Pt[3].Var.cvalue = -30
        volt_var.write()
        volt_var.Ena.value = 1
        volt_var.write()
        volt_var.read()
        assert (volt_var.Ena.value, volt_var.Crv[1].Pt[0].V.cvalue, volt_var.Crv[1].Pt[3].Var.cvalue) == (
            1,
            93.5,
            -30,
        )
        assert server.device.model(705).get("Crv[1].Pt[0].V") == 93.5

        legacy.WMaxLimPct.cvalue = 130  # out of range: Modbus exception 3, nothing changes
        with pytest.raises(ModbusClientException, match="exception: 3"):
            legacy.write()
        legacy.read()
        assert legacy.WMaxLimPct.cvalue == 25

    await _with_peer(server, work)


async def test_pysunspec2_scans_our_battery() -> None:
    def physics(setpoints: BatterySetpoints) -> BatteryMeasurement:
        if setpoints.power_setpoint_W is None:
            return BATTERY_FED
        return replace(BATTERY_FED, power_W=setpoints.power_setpoint_W)

    server = SunSpecModbusServer(BATTERY, measure=physics)

    def work(peer: Any) -> None:
        _check_every_point(peer, server.device)
        bank, storage, der = peer.models[802][0], peer.models[713][0], peer.models[701][0]
        assert bank.SoC.cvalue == pytest.approx(63.4)
        assert storage.SoC.cvalue == pytest.approx(63.4)
        assert bank.SoH.cvalue == pytest.approx(97)
        assert bank.W.cvalue == der.W.cvalue == -BATTERY_FED.power_W  # charging: negative in SunSpec
        assert der.TotWhAbs.cvalue == BATTERY_FED.charged_Wh
        assert bank.NCyc.cvalue == BATTERY_FED.cycles

        ctl = peer.models[704][0]  # discharge at 4 kW
        ctl.WSetEna.value = 1
        ctl.WSetMod.value = 1
        ctl.WSet.cvalue = 4_000
        ctl.write()
        assert server.setpoints.power_setpoint_W == -4_000
        der.read()
        assert der.W.cvalue == 4_000

        legacy = peer.models[124][0]  # legacy storage control: cap discharge at 50 % of WMax
        legacy.StorCtl_Mod.value = 0b10
        legacy.OutWRte.cvalue = 50
        legacy.write()
        assert server.setpoints.max_discharge_W == pytest.approx(2_500)
        bank.read()
        assert bank.W.cvalue == 2_500

        bank.SoCRsvMin.cvalue = 20
        bank.write()
        assert server.setpoints.soc_min == pytest.approx(0.2)

        ctl.WSet.cvalue = 9_000  # beyond the 702 WMaxRtg of 5 kW
        with pytest.raises(ModbusClientException, match="exception: 3"):
            ctl.write()

    await _with_peer(server, work)


async def test_pysunspec2_scans_our_meter() -> None:
    # served at 50000, the third base address a SunSpec scanner tries
    server = SunSpecModbusServer(METER, measure=lambda _setpoints: METER_FED, base_address=50000)

    def work(peer: Any) -> None:
        _check_every_point(peer, server.device)
        assert peer.base_addr == 50000
        meter = peer.models[203][0]
        assert meter.W.cvalue == sum(METER_FED.phase_power_W)
        assert [meter.WphA.cvalue, meter.WphB.cvalue, meter.WphC.cvalue] == list(METER_FED.phase_power_W)
        assert meter.PhVphB.cvalue == pytest.approx(229.8)
        assert meter.Hz.cvalue == pytest.approx(50.01)
        assert meter.TotWhImp.cvalue == METER_FED.import_energy_Wh
        assert meter.TotWhExp.cvalue == METER_FED.export_energy_Wh

    await _with_peer(server, work)
