"""The low-voltage distribution grid (C-LV-MV-GRID, kind ``lv_mv_grid``): a Kerber network
(`physics.lv_grid`, pandapower; Dorfnetz by default) with every household wired on I-38 as
the connection point at its load bus. Each step it solves the power flow (numpy fast path,
equal to pandapower ``runpp`` to 1e-6 pu) from what the connection points draw, and serves
the substation's telemetry to the DSO backend (I-43).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from bidicharge.components.interfaces.i31_grid import ScadaMeasurement, ScadaRequest
from bidicharge.components.lv_mv_grid.model import kerber_grid
from bidicharge.physics.lv_grid import KerberNetwork, solve_fast
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import ELECTRICAL, Link, provides


class LvMvGridConfig(ComponentConfig):
    network: KerberNetwork = KerberNetwork.DORFNETZ
    other_households_W: float = 0.0  # draw of load buses with no household component wired


@component_type
class LvMvGrid(Component):
    kind = "lv_mv_grid"
    catalogue_id = "C-LV-MV-GRID"
    Config = LvMvGridConfig
    PORTS = (
        provides("connections", "I-38", ELECTRICAL),
        provides("scada", "I-43", "in-memory", wire_protocol="IEC 60870-5-104"),
    )
    phase = Phase.BALANCE
    OBSERVABLES: ClassVar[tuple[str, ...]] = (
        "transformer_loading_pct", "transformer_power_W", "vmin_pu", "max_line_loading_pct")

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.grid = kerber_grid(config.network)
        self._index = {h: i for i, h in enumerate(self.grid.household_ids)}
        self.result = solve_fast(self.grid, np.zeros(len(self.grid.household_ids)))
        self.peak_loading_pct = 0.0
        self.overload_minutes = 0.0

    def start(self, now: float) -> None:
        super().start(now)
        seen: set[str] = set()
        for link in self.inbound.get("connections", []):
            home = link.local.config.household_id  # type: ignore[attr-defined]
            if home not in self._index:
                raise ValueError(f"{link.local.name}: {home!r} is no load bus of the {self.config.network} network")
            if home in seen:
                raise ValueError(f"{link.local.name}: connection point {home!r} wired twice")
            seen.add(home)

    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        powers = np.full(len(self.grid.household_ids), self.config.other_households_W)
        for link in self.inbound.get("connections", []):
            peer = link.local
            powers[self._index[peer.config.household_id]] = peer.grid_power_W  # type: ignore[attr-defined]
        self.result = solve_fast(self.grid, powers)
        self.peak_loading_pct = max(self.peak_loading_pct, self.result.transformer_loading_pct)
        if self.result.transformer_loading_pct > 100.0:
            self.overload_minutes += dt_s / 60.0

    def observe(self) -> tuple[float, ...]:
        r = self.result
        return (r.transformer_loading_pct, r.transformer_power_W, r.vmin_pu, r.max_line_loading_pct)

    def handle(self, port: str, message: object, link: Link) -> object:
        if isinstance(message, ScadaRequest):
            r = self.result
            return ScadaMeasurement(transformer_loading_pct=r.transformer_loading_pct,
                                    transformer_power_W=r.transformer_power_W, vmin_pu=r.vmin_pu,
                                    max_line_loading_pct=r.max_line_loading_pct)
        return super().handle(port, message, link)

    def report(self) -> dict[str, Any]:
        return {"peak_transformer_loading_pct": self.peak_loading_pct, "overload_minutes": self.overload_minutes}
