"""Live mode: the same components on a wall (or accelerated) clock.

One `asyncio.TaskGroup` owns every task: a ticker that steps the components in phase order
at the scenario's step, and each component's `serve()` (its protocol endpoints, as they
land with their issues). Cancellation is how it stops; `duration_s` bounds a run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bidicharge.runtime.assembly import assemble, step_order
from bidicharge.runtime.clock import AcceleratedClock, Clock, WallClock
from bidicharge.runtime.component import Component
from bidicharge.runtime.scenario import Scenario
from bidicharge.runtime.trace import TraceRecorder


def clock_for(scenario: Scenario, accelerate: float | None = None) -> Clock:
    factor = accelerate
    if factor is None and scenario.clock.startswith("accelerated:"):
        factor = float(scenario.clock.split(":", 1)[1])
    if factor is not None and factor != 1.0:
        return AcceleratedClock(start_s=scenario.start_s, factor=factor)
    return WallClock()


class LiveRun:
    def __init__(self, scenario: Scenario, clock: Clock, trace: TraceRecorder | None = None) -> None:
        self.scenario = scenario
        self.clock = clock
        self.trace = trace if trace is not None else TraceRecorder(scenario.trace)
        self.components: dict[str, Component] = assemble(scenario, self.trace, clock)
        self.steps_done = 0

    async def _ticker(self, on_step: Callable[[int, float], None] | None, duration_s: float | None) -> None:
        order = step_order(self.components)
        dt = self.scenario.step_s
        t = self.clock.now()
        for comp in order:
            comp.start(t)
        if isinstance(self.clock, AcceleratedClock):
            self.clock.rebase(t)  # set-up (profiles, forecasts) must not eat simulated time
        end = t + duration_s if duration_s is not None else float("inf")
        while t + dt <= end:
            await self.clock.sleep_until(t + dt)
            for comp in order:
                comp.step(t, dt)
            self.steps_done += 1
            if on_step is not None:
                on_step(self.steps_done, t)
            t += dt

    async def run(self, duration_s: float | None = None, on_step: Callable[[int, float], None] | None = None) -> None:
        """Run until `duration_s` of simulated time has passed (None: until cancelled)."""
        async with asyncio.TaskGroup() as tg:
            servers = [tg.create_task(comp.serve(self.clock)) for comp in self.components.values()]
            await self._ticker(on_step, duration_s)
            for task in servers:
                task.cancel()
