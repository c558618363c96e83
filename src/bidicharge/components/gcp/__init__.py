"""Grid connection point (C-GCP): the balance of the EVSEs (I-41) and of everything behind
the meter (I-40 → mMU → I-39 plants); measured by the mMU. Reports overloads of the main
fuse and breaches of a feed-in limit. Wired to a distribution grid (I-38, `grid`), it is the
connection point at its load bus `household_id` and the grid draws what it balances."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from bidicharge.physics import grid_connection as gc
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import ELECTRICAL, requires


class GcpConfig(ComponentConfig):
    fuse_A: float = Field(35.0, gt=0)
    phases: int = Field(3, ge=1, le=3)
    voltage_V: float = Field(230.0, gt=0)
    feed_in_limit_W: float | None = Field(None, ge=0)
    household_id: str | None = Field(None, description="load bus in the grid model when wired on `grid` (I-38)")


@component_type
class Gcp(Component):
    kind = "gcp"
    catalogue_id = "C-GCP"
    Config = GcpConfig
    PORTS = (
        requires("chargers", "I-41", ELECTRICAL, many=True, optional=True),
        requires("meter", "I-40", ELECTRICAL),
        requires("grid", "I-38", ELECTRICAL, optional=True, description="the distribution grid's `connections`"),
    )
    phase = Phase.BALANCE
    OBSERVABLES: ClassVar[tuple[str, ...]] = ("grid_power_W", "import_W", "export_W", "overload")

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.params = gc.ConnectionParams(
            fuse_A=config.fuse_A, phases=config.phases, voltage_V=config.voltage_V, feed_in_limit_W=config.feed_in_limit_W
        )
        self.balance = gc.balance(self.params, ())
        self.overload_steps = 0

    @property
    def grid_power_W(self) -> float:
        """What the connection point draws from the grid (+ import), for the grid model (I-38)."""
        return self.balance.grid_power_W

    def start(self, now: float) -> None:
        super().start(now)
        if self.link("grid") is not None and self.config.household_id is None:
            raise ValueError(f"{self.name}: wired to a grid (I-38) but no `household_id` (its load bus) is set")

    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        meter_link = self.link("meter")
        assert meter_link is not None
        mmu = meter_link.peer
        nodes = [link.peer.grid_power_W for link in self.peers("chargers")]  # type: ignore[attr-defined]
        nodes.append(mmu.plants_power_W())  # type: ignore[attr-defined]
        self.balance = gc.balance(self.params, nodes)
        self.overload_steps += self.balance.overload
        mmu.measure(now, self.balance.grid_power_W, dt_s)  # type: ignore[attr-defined]

    def observe(self) -> tuple[float, ...]:
        b = self.balance
        return (b.grid_power_W, b.import_W, b.export_W, 1.0 if b.overload else 0.0)

    def report(self) -> dict[str, Any]:
        return {"overload_steps": self.overload_steps, "max_power_W": self.params.max_power_W}
