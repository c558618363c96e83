"""The study engine: a simulated clock, a fixed step, components stepped in a defined order.

Each step runs every component's `step(now, dt_s)` (ordered by `Phase`, then scenario
order) and records its `observe()` values. The result holds the time series (one column
per `component.observable`), each component's end-of-run `report()`, and the trace.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from bidicharge.runtime.assembly import assemble, step_order
from bidicharge.runtime.clock import ManualClock
from bidicharge.runtime.component import Component
from bidicharge.runtime.scenario import Scenario
from bidicharge.runtime.trace import TraceRecorder

ProgressFn = Callable[[int, int], None]


@dataclass
class StudyResult:
    scenario: Scenario
    times_s: npt.NDArray[np.float64]
    series: dict[str, npt.NDArray[np.float64]]  # "component.observable" -> values per step
    kinds: dict[str, str]  # component name -> kind
    reports: dict[str, dict[str, Any]]
    trace: TraceRecorder
    wall_time_s: float = 0.0
    kpis: dict[str, Any] = field(default_factory=dict)

    def frame(self) -> pd.DataFrame:
        index = pd.DatetimeIndex(pd.to_datetime(self.times_s, unit="s", utc=True), name="time")
        return pd.DataFrame(self.series, index=index)

    def of_kind(self, kind: str) -> list[str]:
        return [name for name, k in self.kinds.items() if k == kind]

    def column(self, name: str) -> npt.NDArray[np.float64]:
        return self.series[name]


def run_study(scenario: Scenario, *, progress: ProgressFn | None = None, trace: TraceRecorder | None = None) -> StudyResult:
    import time as _time  # wall time of the run itself, for the benchmark figure only

    trace = trace if trace is not None else TraceRecorder(scenario.trace)
    clock = ManualClock(start_s=scenario.start_s)
    components = assemble(scenario, trace, clock)
    order = step_order(components)
    n = scenario.steps
    dt = scenario.step_s
    buffers: list[tuple[Component, npt.NDArray[np.float64]]] = []
    for comp in components.values():
        if comp.OBSERVABLES:
            buffers.append((comp, np.empty((n, len(comp.OBSERVABLES)))))
    t_wall = _time.perf_counter()
    for comp in order:
        comp.start(scenario.start_s)
    t0 = scenario.start_s
    every = max(1, n // 200)
    for i in range(n):
        now = t0 + i * dt
        clock.set(now)
        for comp in order:
            comp.step(now, dt)
        for comp, buf in buffers:
            buf[i] = comp.observe()
        if progress is not None and i % every == 0:
            progress(i, n)
    if progress is not None:
        progress(n, n)
    wall = _time.perf_counter() - t_wall
    series: dict[str, npt.NDArray[np.float64]] = {}
    for comp, buf in buffers:
        for j, obs in enumerate(comp.OBSERVABLES):
            series[f"{comp.name}.{obs}"] = buf[:, j]
    return StudyResult(
        scenario=scenario,
        times_s=t0 + dt * np.arange(n, dtype=np.float64),
        series=series,
        kinds={name: type(c).kind for name, c in components.items()},
        reports={name: c.report() for name, c in components.items()},
        trace=trace,
        wall_time_s=wall,
    )
