"""Stationary home battery with its inverter: follows the HEMS setpoint within its limits."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from bidicharge.components.interfaces.i08_plants import (
    Accepted,
    BatterySetpoint,
    BatteryStatus,
    PlantStatusRequest,
)
from bidicharge.components.plants.sunspec_server import SunSpecEndpoint, device_info
from bidicharge.physics import battery
from bidicharge.runtime.clock import Clock
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import ELECTRICAL, Link, provides


class HomeBatteryConfig(ComponentConfig):
    capacity_kWh: float = Field(gt=0)
    max_charge_W: float = Field(5000.0, ge=0)
    max_discharge_W: float = Field(5000.0, ge=0)
    efficiency: float = Field(0.95, gt=0, le=1, description="one-way, inverter + cell")
    initial_soc: float = Field(0.5, ge=0, le=1)
    min_soc: float = Field(0.05, ge=0, lt=1)
    standby_W: float = Field(10.0, ge=0)


@component_type
class HomeBattery(SunSpecEndpoint, Component):
    kind = "home_battery"
    catalogue_id = "C-PLANTS"
    Config = HomeBatteryConfig
    PORTS = (
        provides("grid", "I-39", ELECTRICAL),
        provides("control", "I-08", "SunSpec Modbus/TCP"),
    )
    phase = Phase.ACTUATION
    OBSERVABLES: ClassVar[tuple[str, ...]] = ("power_W", "soc", "energy_Wh")

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.params = battery.BatteryParams(
            capacity_Wh=config.capacity_kWh * 1000.0,
            max_charge_W=config.max_charge_W,
            max_discharge_W=config.max_discharge_W,
            charge_efficiency=config.efficiency,
            discharge_efficiency=config.efficiency,
            soc_min=config.min_soc,
            taper_charge_from_soc=0.9,
            taper_discharge_below_soc=config.min_soc + 0.05,
        )
        self.state = battery.initial_state(self.params, max(config.initial_soc, config.min_soc))
        self.setpoint_W = 0.0
        self.grid_power_W = 0.0
        self.reported_soc_override: float | None = None  # fault injection: what the BMS claims
        self._endpoint_init()

    async def serve(self, clock: Clock) -> None:
        """Live mode: a SunSpec storage (models 1, 103, 120, 124, 7xx, 802) on Modbus/TCP."""
        from bidicharge.protocols.sunspec import BatteryMeasurement, BatteryProfile, BatteryRating

        p = self.params
        profile = BatteryProfile(
            device_info("battery", self.name),
            BatteryRating(capacity_Wh=p.capacity_Wh, max_charge_W=p.max_charge_W, max_discharge_W=p.max_discharge_W),
        )

        def measure(_: Any) -> BatteryMeasurement:
            soc = self.state.energy_Wh / p.capacity_Wh
            return BatteryMeasurement(
                power_W=self.grid_power_W,
                soc=self.reported_soc_override if self.reported_soc_override is not None else soc,
                charged_Wh=self.state.charged_Wh,
                discharged_Wh=self.state.discharged_Wh,
            )

        def on_setpoints(sp: Any) -> None:
            if sp.power_setpoint_W is not None:
                self.setpoint_W = sp.power_setpoint_W

        await self._serve_sunspec(clock, profile, measure, on_setpoints)

    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        self.state, p = battery.step(self.params, self.state, self.setpoint_W, dt_s)
        self.grid_power_W = p + (self.config.standby_W if p == 0.0 else 0.0)

    def observe(self) -> tuple[float, ...]:
        return (self.grid_power_W, self.state.energy_Wh / self.params.capacity_Wh, self.state.energy_Wh)

    def handle(self, port: str, message: object, link: Link) -> object:
        if isinstance(message, PlantStatusRequest):
            max_c, max_d = battery.power_limits_W(self.params, self.state)
            return BatteryStatus(
                power_W=self.grid_power_W,
                soc=self.state.energy_Wh / self.params.capacity_Wh,
                capacity_Wh=self.params.capacity_Wh,
                max_charge_W=max_c,
                max_discharge_W=max_d,
                min_soc=self.params.soc_min,
            )
        if isinstance(message, BatterySetpoint):
            self.setpoint_W = message.power_W
            return Accepted(value=message.power_W)
        return super().handle(port, message, link)

    def report(self) -> dict[str, Any]:
        return {
            "charged_Wh": self.state.charged_Wh,
            "discharged_Wh": self.state.discharged_Wh,
            "losses_Wh": self.state.losses_Wh,
            "equivalent_full_cycles": battery.equivalent_full_cycles(self.params, self.state),
        }
