"""The household's own demand (BDEW H0/H25, demandlib), not controllable."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import Field

from bidicharge.components.plants.series_node import SeriesNode
from bidicharge.physics import household_load as hl
from bidicharge.runtime.component import ComponentConfig, RunContext, component_type
from bidicharge.runtime.ports import ELECTRICAL, provides


class HouseholdConfig(ComponentConfig):
    annual_energy_kWh: float = Field(4000.0, ge=0)
    profile: str = Field("H0", pattern="^(H0|H25)$")
    variability: float = Field(0.0, ge=0, le=2)


@component_type
class HouseholdLoad(SeriesNode):
    kind = "household_load"
    catalogue_id = "C-PLANTS"
    Config = HouseholdConfig
    PORTS = (provides("grid", "I-39", ELECTRICAL),)

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.params = hl.LoadParams(
            annual_energy_Wh=config.annual_energy_kWh * 1000.0, profile=config.profile, variability=config.variability
        )

    def compute(self, times_s: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return hl.power_W(self.params, times_s, self.context.rng)

    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        self.grid_power_W = self.value_at(now)
