"""Live mode of the plants: each one serves SunSpec over Modbus/TCP (I-08), fed by its physics.

The register maps and controls are `protocols.sunspec`; the Modbus server is
`transports.sunspec_modbus`. Controls written by the HEMS (PV active-power limit, battery
setpoint) change what the physics does at the next step.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bidicharge.protocols.sunspec import DeviceInfo
from bidicharge.runtime.clock import Clock
from bidicharge.transports.sunspec_modbus import SunSpecModbusServer


class SunSpecEndpoint:
    """Mixin state: the Modbus port once listening, and an event the HEMS can wait on."""

    modbus_port: int | None = None

    def _endpoint_init(self) -> None:
        self.modbus_port = None
        self.modbus_ready = asyncio.Event()

    async def _serve_sunspec(self, clock: Clock, profile: Any, measure: Callable[[Any], Any],
                             on_setpoints: Callable[[Any], None]) -> None:
        server: SunSpecModbusServer[Any, Any] = SunSpecModbusServer(
            profile, measure=measure, on_setpoints=on_setpoints, port=0, clock=clock.now
        )
        async with server:
            self.modbus_port = server.port
            self.modbus_ready.set()
            await server.run()


def device_info(kind: str, name: str) -> DeviceInfo:
    return DeviceInfo(model=f"bidicharge-{kind}", serial_number=name[:32])
