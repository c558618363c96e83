"""The component base: typed config, ports by catalogue id, behaviour in study and live mode.

A component is the only place where a protocol, physics and control meet. Subclasses set
`kind` (the scenario name), `catalogue_id`, `Config` (a pydantic model, validated before
anything starts), `PORTS`, and `phase` (when it is stepped in study mode), and implement
`step(now, dt_s)`, `observe()` and `handle(port, message, link)`.

Registration is by the `@component_type` decorator; `bidicharge architecture --status` and
the scenario loader read the registry, so nothing about ports is typed twice.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict

from bidicharge.runtime.clock import Clock
from bidicharge.runtime.ports import Direction, Link, Port
from bidicharge.runtime.trace import TraceRecorder


class Phase(enum.IntEnum):
    """Study-mode step order within one time step."""

    ENVIRONMENT = 0  # exogenous: prices, weather, household demand, vehicle trips
    CONTROL = 1  # energy managers decide from the latest measurements
    ACTUATION = 2  # power stages and storage apply setpoints within their limits
    BALANCE = 3  # connection points and meters sum the flows
    BACKEND = 4  # backends read results


class ComponentConfig(BaseModel):
    """Base for component configs: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RunContext:
    """What a component gets from the runtime: trace, random generator, scenario location."""

    def __init__(
        self,
        *,
        trace: TraceRecorder,
        rng: np.random.Generator,
        start_s: float,
        end_s: float,
        step_s: float,
        base_dir: str = ".",
        clock: Clock | None = None,
    ) -> None:
        self.trace = trace
        self.rng = rng
        self.start_s = start_s
        self.end_s = end_s
        self.step_s = step_s
        self.base_dir = base_dir
        self.clock = clock


class Component:
    kind: ClassVar[str]
    catalogue_id: ClassVar[str]
    Config: ClassVar[type[ComponentConfig]] = ComponentConfig
    PORTS: ClassVar[tuple[Port, ...]] = ()
    phase: ClassVar[Phase] = Phase.BACKEND
    #: catalogue components this one also stands in for (e.g. a home model acting as its GCP)
    ACTS_AS: ClassVar[tuple[str, ...]] = ()
    #: names of the values `observe()` returns, in order (columns of the study's time series)
    OBSERVABLES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, name: str, config: ComponentConfig, context: RunContext) -> None:
        self.name = name
        self.config = config
        self.context = context
        self.links: dict[str, list[Link]] = {}
        self.inbound: dict[str, list[Link]] = {}
        self.now = context.start_s

    # -- wiring -------------------------------------------------------------------------
    @classmethod
    def port(cls, name: str) -> Port | None:
        for p in cls.PORTS:
            if p.name == name:
                return p
        return None

    @classmethod
    def ports(cls, direction: Direction) -> Sequence[Port]:
        return [p for p in cls.PORTS if p.direction is direction]

    def link(self, port: str) -> Link | None:
        links = self.links.get(port)
        return links[0] if links else None

    def peers(self, port: str) -> list[Link]:
        return self.links.get(port, [])

    @classmethod
    def check_span(cls, config: ComponentConfig, start_s: float, end_s: float, base_dir: str) -> list[tuple[str, str]]:
        """Checks that need the scenario's span (e.g. a price series must cover it): (field, message)."""
        return []

    def report(self) -> dict[str, Any]:
        """End-of-run facts for KPIs (e.g. departures met), beyond the time series."""
        return {}

    # -- behaviour ----------------------------------------------------------------------
    def start(self, now: float) -> None:
        """Called once before the first step (study) or before `run` (live)."""
        self.now = now

    def step(self, now: float, dt_s: float) -> None:
        """Advance by `dt_s` ending at `now + dt_s`; `now` is the start of the step."""
        self.now = now

    def observe(self) -> tuple[float, ...]:
        """Values for the time series, in `OBSERVABLES` order."""
        return ()

    def handle(self, port: str, message: object, link: Link) -> Any:
        """Answer a message arriving on one of our provided ports."""
        raise NotImplementedError(f"{self.kind} {self.name!r} does not handle {type(message).__name__} on {port!r}")

    async def serve(self, clock: Clock) -> None:
        """Live mode: run this component's protocol endpoints (servers, clients) until
        cancelled. Components without endpoints return at once; their physics is stepped by
        the runner's ticker in phase order."""
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


COMPONENT_TYPES: dict[str, type[Component]] = {}


def component_type(cls: type[Component]) -> type[Component]:
    """Class decorator: register a component kind for scenarios and the conformance matrix."""
    if cls.kind in COMPONENT_TYPES and COMPONENT_TYPES[cls.kind] is not cls:
        raise ValueError(f"component kind {cls.kind!r} registered twice")
    COMPONENT_TYPES[cls.kind] = cls
    return cls


def load_component_types() -> dict[str, type[Component]]:
    """Import every package under `bidicharge.components` so their kinds register."""
    import importlib
    import pkgutil

    import bidicharge.components as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{pkg.__name__}.{info.name}")
    return COMPONENT_TYPES
