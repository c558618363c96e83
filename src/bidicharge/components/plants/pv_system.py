"""PV system: pvlib clear sky for the site with seeded clouds; the HEMS may cap it (WMaxLimPct)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field

from bidicharge.components.interfaces.i08_plants import Accepted, PlantStatusRequest, PvLimit, PvStatus
from bidicharge.components.plants.series_node import SeriesNode
from bidicharge.components.plants.sunspec_server import SunSpecEndpoint, device_info
from bidicharge.physics import pv
from bidicharge.runtime.clock import Clock
from bidicharge.runtime.component import ComponentConfig, RunContext, component_type
from bidicharge.runtime.ports import ELECTRICAL, Link, provides


class PvConfig(ComponentConfig):
    peak_power_W: float = Field(gt=0)
    latitude_deg: float = Field(52.52, ge=-90, le=90)
    longitude_deg: float = Field(13.40, ge=-180, le=180)
    tilt_deg: float = Field(30.0, ge=0, le=90)
    azimuth_deg: float = Field(180.0, ge=0, lt=360)
    inverter_max_W: float | None = Field(None, gt=0)
    cloudy: bool = True


@component_type
class PvSystem(SunSpecEndpoint, SeriesNode):
    kind = "pv_system"
    catalogue_id = "C-PLANTS"
    Config = PvConfig
    PORTS = (
        provides("grid", "I-39", ELECTRICAL),
        provides("control", "I-08", "SunSpec Modbus/TCP"),
    )
    OBSERVABLES: ClassVar[tuple[str, ...]] = ("power_W", "available_W")

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.params = pv.PvParams(
            peak_power_W=config.peak_power_W,
            latitude_deg=config.latitude_deg,
            longitude_deg=config.longitude_deg,
            tilt_deg=config.tilt_deg,
            azimuth_deg=config.azimuth_deg,
            inverter_max_W=config.inverter_max_W,
            cloudy=config.cloudy,
        )
        self.limit_pct = 100.0
        self.available_W = 0.0
        self.energy_Wh = 0.0
        self._endpoint_init()

    def compute(self, times_s: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return pv.ac_power_W(self.params, times_s, self.context.rng)

    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        self.available_W = self.value_at(now)
        cap = self.params.peak_power_W * self.limit_pct / 100.0
        self.grid_power_W = -min(self.available_W, cap)
        self.energy_Wh -= self.grid_power_W * dt_s / 3600.0

    async def serve(self, clock: Clock) -> None:
        """Live mode: a SunSpec PV inverter on Modbus/TCP (models 1, 103, 120–123, 160, 7xx)."""
        from bidicharge.protocols.sunspec import PvInverterMeasurement, PvInverterProfile, PvInverterRating

        peak = self.params.peak_power_W
        profile = PvInverterProfile(device_info("pv", self.name), PvInverterRating(max_power_W=peak, max_apparent_power_VA=peak))

        def measure(_: Any) -> PvInverterMeasurement:
            ac = max(0.0, -self.grid_power_W)
            dc = ac / 0.97 / 2
            return PvInverterMeasurement(ac_power_W=ac, energy_Wh=self.energy_Wh, string_power_W=(dc, dc),
                                         string_voltage_V=(520.0, 520.0))

        def on_setpoints(sp: Any) -> None:
            self.limit_pct = max(0.0, min(100.0, 100.0 * sp.max_power_W / peak))

        await self._serve_sunspec(clock, profile, measure, on_setpoints)

    def observe(self) -> tuple[float, ...]:
        return (self.grid_power_W, self.available_W)

    def handle(self, port: str, message: object, link: Link) -> object:
        if isinstance(message, PlantStatusRequest):
            return PvStatus(power_W=self.grid_power_W, peak_power_W=self.params.peak_power_W, limit_pct=self.limit_pct)
        if isinstance(message, PvLimit):
            self.limit_pct = min(100.0, max(0.0, message.limit_pct))
            return Accepted(value=self.limit_pct)
        return super().handle(port, message, link)
