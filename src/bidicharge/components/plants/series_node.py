"""A plant whose power is an exogenous series, precomputed for the whole span at start."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import numpy.typing as npt

from bidicharge.runtime.component import Component, Phase


class SeriesNode(Component):
    phase = Phase.ENVIRONMENT
    OBSERVABLES: ClassVar[tuple[str, ...]] = ("power_W",)
    grid_power_W: float = 0.0
    _series: npt.NDArray[np.float64]

    def compute(self, times_s: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        raise NotImplementedError

    def start(self, now: float) -> None:
        super().start(now)
        ctx = self.context
        n = round((ctx.end_s - ctx.start_s) / ctx.step_s)
        mid = ctx.start_s + ctx.step_s * (np.arange(n, dtype=np.float64) + 0.5)
        self._series = self.compute(mid)
        self._i0 = ctx.start_s
        self.grid_power_W = 0.0

    def value_at(self, now: float) -> float:
        i = int((now - self._i0) // self.context.step_s)
        return float(self._series[min(max(i, 0), len(self._series) - 1)])

    def observe(self) -> tuple[float, ...]:
        return (self.grid_power_W,)
