"""SunSpec devices on Modbus/TCP over loopback: our pymodbus server and our client."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from bidicharge.protocols.sunspec import (
    BatteryMeasurement,
    BatteryProfile,
    BatteryRating,
    BatterySetpoints,
    DeviceInfo,
    MeterMeasurement,
    MeterProfile,
    ModbusException,
    PvInverterMeasurement,
    PvInverterProfile,
    PvInverterRating,
    PvInverterSetpoints,
    RemoteProtocolError,
    battery_measurement,
    meter_measurement,
    pv_measurement,
)
from bidicharge.transports.sunspec_modbus import SunSpecModbusClient, SunSpecModbusServer, wait_listening

PV = PvInverterProfile(
    DeviceInfo(model="sim-pv", serial_number="PV-7"),
    PvInverterRating(max_power_W=8_000, max_apparent_power_VA=8_000),
)
AVAILABLE_W = 7_250.0


def pv_physics(setpoints: PvInverterSetpoints) -> PvInverterMeasurement:
    """PV that produces what the sun gives, capped by the limit in force."""
    ac_W = min(AVAILABLE_W, setpoints.max_power_W)
    return PvInverterMeasurement(
        ac_power_W=ac_W, energy_Wh=55_000, string_power_W=(ac_W / 2, ac_W / 2), string_voltage_V=(500, 500)
    )


async def test_hems_curtails_pv_and_reads_the_effect_back() -> None:
    received: list[PvInverterSetpoints] = []
    async with SunSpecModbusServer(PV, measure=pv_physics, on_setpoints=received.append) as server:
        async with SunSpecModbusClient("127.0.0.1", server.port) as hems:
            device = await hems.scan()
            assert device.model(1).values["SN"] == "PV-7"
            assert device.model(701).values["W"] == AVAILABLE_W
            await hems.write(device.model(704), {"WMaxLimPctEna": 1, "WMaxLimPct": 50})
            assert received[-1].max_power_W == 4_000
            controls = await hems.read_model(device.model(704))
            assert controls.values["WMaxLimPct"] == 50
            measured = await hems.read_model(device.model(701))
            assert measured.values["W"] == 4_000


async def test_bad_requests_get_modbus_exceptions_and_the_server_stays_up() -> None:
    async with SunSpecModbusServer(PV, measure=pv_physics) as server:
        async with SunSpecModbusClient("127.0.0.1", server.port) as hems:
            device = await hems.scan()
            with pytest.raises(RemoteProtocolError) as caught:
                await hems.read_registers(1000, 4)
            assert caught.value.wire_code == ModbusException.ILLEGAL_DATA_ADDRESS
            with pytest.raises(RemoteProtocolError) as caught:
                await hems.write(device.model(704), {"WMaxLimPct": 120})
            assert caught.value.wire_code == ModbusException.ILLEGAL_DATA_VALUE
            with pytest.raises(RemoteProtocolError) as caught:
                await hems.write_registers(device.model(701).address + 10, [1])
            assert caught.value.wire_code == ModbusException.ILLEGAL_DATA_ADDRESS
            again = await hems.read_model(device.model(704))
            assert again.values["WMaxLimPct"] == 100
        assert len(server.refused) == 2  # the read outside the block never reached the core


async def test_battery_follows_the_hems_setpoint() -> None:
    profile = BatteryProfile(
        DeviceInfo(model="sim-bat", serial_number="B-1"),
        BatteryRating(capacity_Wh=10_000, max_charge_W=5_000, max_discharge_W=5_000),
    )
    state = BatteryMeasurement(power_W=0, soc=0.5)

    def physics(setpoints: BatterySetpoints) -> BatteryMeasurement:
        return replace(state, power_W=setpoints.power_setpoint_W or 0.0)

    async with SunSpecModbusServer(profile, measure=physics) as server:
        async with SunSpecModbusClient("127.0.0.1", server.port) as hems:
            device = await hems.scan()
            await hems.write(
                device.model(704), {"WSetEna": 1, "WSetMod": 1, "WSet": 2_500}
            )  # discharge 2.5 kW
            battery = await hems.read_model(device.model(802))
            assert battery.values["W"] == 2_500
            assert server.setpoints.power_setpoint_W == -2_500


async def test_physics_out_of_range_is_a_device_failure_not_a_crash() -> None:
    broken = {"on": True}

    def physics(setpoints: PvInverterSetpoints) -> PvInverterMeasurement:
        measurement = pv_physics(setpoints)
        return replace(measurement, ac_power_W=1e9) if broken["on"] else measurement

    async with SunSpecModbusServer(PV, measure=physics) as server:
        async with SunSpecModbusClient("127.0.0.1", server.port) as hems:
            with pytest.raises(RemoteProtocolError) as caught:
                await hems.scan()
            assert caught.value.wire_code == ModbusException.SERVER_DEVICE_FAILURE
            broken["on"] = False
            device = await hems.scan()
            assert device.model(103).values["W"] == AVAILABLE_W


async def test_curtailment_reverts_when_the_hems_goes_quiet() -> None:
    clock = {"now": 1_000.0}
    received: list[PvInverterSetpoints] = []
    server = SunSpecModbusServer(
        PV, measure=pv_physics, on_setpoints=received.append, clock=lambda: clock["now"]
    )
    async with server, SunSpecModbusClient("127.0.0.1", server.port) as hems:
        device = await hems.scan()
        controls = device.model(704)
        await hems.write(controls, {"WMaxLimPctRvrt": 100, "WMaxLimPctEnaRvrt": 0, "WMaxLimPctRvrtTms": 120})
        await hems.write(controls, {"WMaxLimPctEna": 1, "WMaxLimPct": 20})
        assert (await hems.read_model(device.model(701))).values["W"] == 1_600
        clock["now"] += 100
        assert (await hems.read_model(controls)).values["WMaxLimPctRvrtRem"] == 20
        clock["now"] += 21  # nobody renewed the limit: the inverter falls back on its own
        server.handle_timeout(clock["now"])
        assert received[-1].limit_pct is None
        assert (await hems.read_model(device.model(701))).values["W"] == AVAILABLE_W
        assert (await hems.read_model(controls)).values["WMaxLimPctEna"] == 0


async def test_run_reverts_at_the_deadline_without_any_request() -> None:
    limited, reverted = asyncio.Event(), asyncio.Event()

    def on_setpoints(setpoints: PvInverterSetpoints) -> None:
        if setpoints.limit_pct is not None:
            limited.set()
        elif limited.is_set():
            reverted.set()

    server = SunSpecModbusServer(PV, measure=pv_physics, on_setpoints=on_setpoints)
    async with asyncio.TaskGroup() as tasks:
        serving = tasks.create_task(server.run())
        port = await wait_listening(server)
        async with SunSpecModbusClient("127.0.0.1", port) as hems:
            controls = (await hems.scan()).model(704)
            await hems.write(controls, {"WMaxLimPctRvrtTms": 1})
            await hems.write(controls, {"WMaxLimPctEna": 1, "WMaxLimPct": 20})
        assert limited.is_set()
        async with asyncio.timeout(5):
            await reverted.wait()
        serving.cancel()


async def test_pv_battery_and_meter_side_by_side() -> None:
    """The household of issue 6: three devices, three servers, one HEMS reading them all."""

    battery = BatteryProfile(
        DeviceInfo(model="sim-bat", serial_number="B-2"),
        BatteryRating(capacity_Wh=10_000, max_charge_W=5_000, max_discharge_W=5_000),
    )
    meter = MeterProfile(DeviceInfo(model="sim-meter", serial_number="M-2"))
    house_W = 900.0

    def battery_physics(setpoints: BatterySetpoints) -> BatteryMeasurement:
        return BatteryMeasurement(power_W=setpoints.power_setpoint_W or 0.0, soc=0.4)

    servers = [
        SunSpecModbusServer(PV, measure=pv_physics),
        SunSpecModbusServer(battery, measure=battery_physics),
    ]

    def meter_physics(_: None) -> MeterMeasurement:
        pv_W = min(AVAILABLE_W, servers[0].setpoints.max_power_W)
        battery_W = servers[1].setpoints.power_setpoint_W or 0.0
        net_W = house_W + battery_W - pv_W
        return MeterMeasurement(phase_power_W=(net_W / 3, net_W / 3, net_W / 3))

    servers.append(SunSpecModbusServer(meter, measure=meter_physics))
    async with servers[0], servers[1], servers[2]:
        clients = [SunSpecModbusClient("127.0.0.1", server.port) for server in servers]
        for client in clients:
            await client.connect()
        try:
            pv_dev, bat_dev, meter_dev = [await client.scan() for client in clients]
            # PV surplus into the battery: 7250 W PV, 900 W house -> charge 5 kW, export the rest
            await clients[1].write(bat_dev.model(704), {"WSetEna": 1, "WSetMod": 1, "WSet": -5_000})
            pv = pv_measurement(await clients[0].scan())
            bat = battery_measurement(await clients[1].scan())
            grid = meter_measurement(await clients[2].scan())
            assert bat.power_W == 5_000
            assert grid.power_W == pytest.approx(house_W + bat.power_W - pv.ac_power_W, abs=1)
            assert pv_dev.model(1).values["SN"] == "PV-7" and meter_dev.model(1).values["SN"] == "M-2"
        finally:
            for client in clients:
                client.close()
