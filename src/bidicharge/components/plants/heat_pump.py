"""Heat pump: demand from a heat-loss model and a Carnot-fraction COP; the HEMS may cap it
(the §14a-controllable device of most homes)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import Field

from bidicharge.components.plants.series_node import SeriesNode
from bidicharge.physics import heat_pump as hp
from bidicharge.runtime.component import ComponentConfig, RunContext, component_type
from bidicharge.runtime.ports import ELECTRICAL, provides


class HeatPumpConfig(ComponentConfig):
    rated_electric_W: float = Field(3000.0, gt=0)
    heat_loss_W_per_K: float = Field(180.0, gt=0)
    supply_C: float = Field(35.0, gt=20, lt=80)
    mean_outside_C: float = 9.5


@component_type
class HeatPump(SeriesNode):
    kind = "heat_pump"
    catalogue_id = "C-PLANTS"
    Config = HeatPumpConfig
    PORTS = (provides("grid", "I-39", ELECTRICAL),)

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.params = hp.HeatPumpParams(
            rated_electric_W=config.rated_electric_W, heat_loss_W_per_K=config.heat_loss_W_per_K, supply_C=config.supply_C
        )
        self.limit_W: float | None = None

    def compute(self, times_s: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return hp.electric_power_W(self.params, hp.outside_temperature_C(times_s, mean_C=self.config.mean_outside_C))

    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        p = self.value_at(now)
        self.grid_power_W = p if self.limit_W is None else min(p, self.limit_W)
