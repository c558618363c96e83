"""Aggregator app (C-AGG-APP): what the owners and the fleet manager see of the pool (I-11).

The REST API and WebSocket push are served by the technical aggregator (``api.py`` is mounted
there). In a study this component stands for the app: every ``poll_period_s`` it asks the
technical aggregator for the user's cars (``CarsRequest``), so the trace shows what the app
showed, and it keeps the latest view for the report.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from bidicharge.components.interfaces.i11_aggregator_app import CarsRequest, CarsView
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import requires

__all__ = ["AggregatorApp", "AggregatorAppConfig"]


class AggregatorAppConfig(ComponentConfig):
    user: str | None = Field(None, description="an owner's car id; None: the fleet manager (every car)")
    poll_period_s: float = Field(3600.0, gt=0)


@component_type
class AggregatorApp(Component):
    kind = "aggregator_app"
    catalogue_id = "C-AGG-APP"
    Config = AggregatorAppConfig
    PORTS = (requires("backend", "I-11", "in-memory", wire_protocol="REST + WebSocket (served by tech_aggregator)"),)
    phase = Phase.BACKEND
    OBSERVABLES: ClassVar[tuple[str, ...]] = ("shown_power_W", "shown_revenue_EUR")

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.cfg: AggregatorAppConfig = config
        self.view: CarsView | None = None
        self._next = context.start_s

    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        if now + 1e-9 < self._next:
            return
        self._next = now + self.cfg.poll_period_s
        link = self.link("backend")
        assert link is not None
        view = link.request(CarsRequest(user=self.cfg.user))
        assert isinstance(view, CarsView)
        self.view = view

    def observe(self) -> tuple[float, ...]:
        if self.view is None:
            return (0.0, 0.0)
        return (sum(c.power_W for c in self.view.cars), sum(c.revenue_EUR for c in self.view.cars))

    def report(self) -> dict[str, Any]:
        cars = self.view.cars if self.view else ()
        return {"cars": len(cars), "revenue_EUR": sum(c.revenue_EUR for c in cars),
                "cost_EUR": sum(c.cost_EUR for c in cars),
                "discharging": sum(c.direction == "discharging" for c in cars)}
