"""Live mode of the HEMS towards the customer plants (I-08): SunSpec over Modbus/TCP.

One task per plant reads the device every control period with the SunSpec client and keeps
the last good value; a battery setpoint is written to model 704 (`WSet`, SunSpec sign:
positive = discharging) only when it changes. A device that answers with Modbus exceptions,
stops answering, or reports nonsense (SoC 250 %, a PV inverter drawing power) is a *fault*:
the HEMS logs it, reports it to the backend, and the control cycle treats the device as
absent — the battery gets no setpoint and holds still, the car is charged toward its
departure by the fallback — until a good value arrives again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from bidicharge.components.interfaces.i08_plants import BatteryStatus, PvStatus
from bidicharge.runtime.cancel import stop_if_cancelled
from bidicharge.runtime.clock import Clock
from bidicharge.runtime.ports import Link

log = logging.getLogger(__name__)


@dataclass
class PlantReading:
    status: PvStatus | BatteryStatus | None = None
    time_s: float = float("-inf")
    fault: str | None = None
    target_W: float | None = None  # battery setpoint to write
    written_W: float | None = None


class PlantsLive:
    """Mixin of `Hems`: Modbus/SunSpec clients for the plants wired on I-08."""

    def _plants_init(self) -> None:
        self.plant_readings: dict[str, PlantReading] = {}
        self._live_plants = False
        self.plant_faults: list[tuple[float, str, str]] = []  # (time, plant, what), newest last

    def _plant_fault(self, name: str, reading: PlantReading, now: float, what: str) -> None:
        if reading.fault != what:
            log.warning("HEMS: plant %s: %s", name, what)
            self.plant_faults.append((now, name, what))
            self._report_fault(name, what)  # type: ignore[attr-defined]
        reading.fault = what

    async def _plant_loop(self, link: Link, clock: Clock, period_s: float) -> None:
        from pymodbus.exceptions import ModbusException

        from bidicharge.protocols.sunspec import RemoteProtocolError as SunSpecError
        from bidicharge.protocols.sunspec.readings import battery_measurement, pv_measurement
        from bidicharge.transports.sunspec_modbus import SunSpecModbusClient

        peer: Any = link.peer
        name = peer.name
        reading = self.plant_readings.setdefault(name, PlantReading())
        await peer.modbus_ready.wait()
        kind = type(peer).kind
        while True:
            try:
                async with SunSpecModbusClient("127.0.0.1", peer.modbus_port, timeout_s=2.0) as client:
                    while True:
                        now = clock.now()
                        device = await client.scan()
                        if kind != "pv_system" and reading.target_W is not None and reading.target_W != reading.written_W:
                            # written before the reading is judged: a faulty battery still gets told to hold still
                            await client.write(device.model(704), {"WSetEna": 1, "WSetMod": 1, "WSet": round(-reading.target_W)})
                            reading.written_W = reading.target_W
                        if kind == "pv_system":
                            m = pv_measurement(device)
                            rating = device.model(120).values.get("WRtg") or peer.params.peak_power_W
                            reading.status = PvStatus(power_W=-m.ac_power_W, peak_power_W=float(rating), limit_pct=100.0)
                        else:
                            b = battery_measurement(device)
                            reading.status = BatteryStatus(
                                power_W=b.power_W, soc=b.soc, capacity_Wh=peer.params.capacity_Wh,
                                max_charge_W=peer.params.max_charge_W, max_discharge_W=peer.params.max_discharge_W,
                                min_soc=peer.params.soc_min,
                            )
                        reading.time_s = now
                        if reading.fault is not None:
                            log.info("HEMS: plant %s recovered", name)
                            self.plant_faults.append((now, name, "recovered"))
                        reading.fault = None
                        await clock.sleep_until(now + period_s)
            except SunSpecError as exc:
                stop_if_cancelled()
                self._plant_fault(name, reading, clock.now(), f"implausible values: {exc}")
            except (ModbusException, OSError, TimeoutError) as exc:
                stop_if_cancelled()
                self._plant_fault(name, reading, clock.now(), f"not answering: {exc.__class__.__name__}: {exc}")
            reading.status = None
            await asyncio.sleep(0.2)

    def live_plant_status(self, link: Link, now: float, max_age_s: float) -> PvStatus | BatteryStatus | None:
        reading = self.plant_readings.get(link.peer.name)
        if reading is None or reading.status is None or now - reading.time_s > max_age_s:
            return None
        return reading.status
