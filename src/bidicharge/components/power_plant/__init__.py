"""Power plant (C-POWERPLANT): a dispatchable unit on the transmission grid (I-50).

Steps ``physics.power_plant`` (capacity, ramp limit, droop on the frequency it measures at its
connection, governor and turbine lags) with the set-points its operator gives it: the market
schedule, its share of the TSO's aFRR demand, and a DSO feed-in limit (redispatch). The
operator finds its units by name (``units.py``): the catalogue has no interface between
C-PLANT-OP and C-POWERPLANT (it is inside the operator's company), so no port carries it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, model_validator

from bidicharge.components.power_plant import units
from bidicharge.physics import power_plant
from bidicharge.physics.power_plant import PowerPlantInputs, PowerPlantParams
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import ELECTRICAL, requires


class PowerPlantConfig(ComponentConfig):
    capacity_MW: float = Field(..., gt=0)
    marginal_cost_EUR_per_MWh: float
    ramp_MW_per_min: float = Field(..., gt=0)
    min_stable_MW: float = Field(0.0, ge=0)
    droop: float = Field(0.05, gt=0, le=0.2)
    primary_reserve_MW: float = Field(0.0, ge=0)
    deadband_Hz: float = Field(0.0, ge=0, le=0.5)
    governor_time_constant_s: float = Field(0.5, gt=0)
    turbine_time_constant_s: float = Field(5.0, gt=0)
    initial_MW: float = Field(0.0, ge=0, description="settled output at the start of the run")

    @model_validator(mode="after")
    def _limits(self) -> PowerPlantConfig:
        if self.min_stable_MW > self.capacity_MW:
            raise ValueError(f"min_stable_MW ({self.min_stable_MW}) above capacity_MW ({self.capacity_MW})")
        if self.initial_MW > self.capacity_MW:
            raise ValueError(f"initial_MW ({self.initial_MW}) above capacity_MW ({self.capacity_MW})")
        return self


@component_type
class PowerPlant(Component):
    kind = "power_plant"
    catalogue_id = "C-POWERPLANT"
    Config = PowerPlantConfig
    PORTS = (
        requires("grid", "I-50", ELECTRICAL),
    )
    phase = Phase.ACTUATION
    OBSERVABLES: ClassVar[tuple[str, ...]] = ("generation_MW", "setpoint_MW", "schedule_MW", "afrr_MW")

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        c: PowerPlantConfig = config
        self.cfg = c
        self.params = PowerPlantParams(
            plant_id=name, capacity_MW=c.capacity_MW, marginal_cost_EUR_per_MWh=c.marginal_cost_EUR_per_MWh,
            ramp_MW_per_min=c.ramp_MW_per_min, min_stable_MW=c.min_stable_MW, droop=c.droop,
            primary_reserve_MW=c.primary_reserve_MW, deadband_Hz=c.deadband_Hz,
            governor_time_constant_s=c.governor_time_constant_s, turbine_time_constant_s=c.turbine_time_constant_s,
        )
        self.state = power_plant.steady_state(self.params, c.initial_MW)
        # set by the operator through the `unit` port
        self.schedule_MW = self.state.generation_MW
        self.afrr_MW = 0.0
        self.limit_MW: float | None = None
        self.step_energy_MWh = 0.0
        units.register(self)

    @property
    def generation_MW(self) -> float:
        return self.state.generation_MW

    def measured_frequency_Hz(self) -> float:
        grid = self.link("grid")
        return float(grid.peer.frequency_Hz) if grid is not None else self.params.nominal_frequency_Hz  # type: ignore[attr-defined]

    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        schedule, afrr = self.schedule_MW, self.afrr_MW
        if self.limit_MW is not None:  # a feed-in limit caps the set-point, aFRR included (droop is the grid's)
            schedule = min(schedule, self.limit_MW)
            afrr = min(afrr, self.limit_MW - schedule)
        inputs = PowerPlantInputs(schedule_MW=schedule, frequency_Hz=self.measured_frequency_Hz(), afrr_MW=afrr)
        before = self.state.energy_MWh
        self.state = power_plant.step(self.params, self.state, inputs, dt_s)
        self.step_energy_MWh = self.state.energy_MWh - before

    def observe(self) -> tuple[float, ...]:
        return (self.state.generation_MW, self.state.setpoint_MW, self.schedule_MW, self.afrr_MW)

    def report(self) -> dict[str, Any]:
        return {"energy_MWh": self.state.energy_MWh}
