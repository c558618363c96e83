"""DSO control centre (C-DSO-CC): the distribution grid's control room.

* I-21 (TSO, IEC 60870-5-104, the DSO's controlled station): reports the generation of the
  plants in its area and the feed-in limit in force; takes the system frequency the TSO sends.
* I-52 (plant operators, IEC 60870-5-104, the DSO controlling): reads their generation and
  sends feed-in limits (redispatch) in the windows its config names; a limit the operator
  cannot execute comes back as a negative confirmation and is counted, not hidden.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from bidicharge.components.interfaces.i2x_markets import I21, I52, IEC104
from bidicharge.components.tso_control_center.telecontrol import ControlCentreLinks, ControlledEnd
from bidicharge.protocols.iec104 import CommandRequest, PointDatabase, TypeId
from bidicharge.runtime.clock import Clock
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import provides, requires


class Redispatch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    start_h: float = Field(..., ge=0, description="hours after the run's start")
    end_h: float = Field(..., gt=0)
    limit_MW: float = Field(..., ge=0)


class DsoConfig(ComponentConfig):
    common_address: int = Field(21, ge=1, le=65534)
    redispatch: list[Redispatch] = Field(default_factory=list)
    report_threshold_MW: float = Field(1.0, gt=0)


@component_type
class DsoControlCenter(Component):
    kind = "dso_control_center"
    catalogue_id = "C-DSO-CC"
    Config = DsoConfig
    PORTS = (
        provides("tso", "I-21", IEC104),
        requires("plant_operators", "I-52", IEC104, many=True, optional=True),
    )
    phase = Phase.CONTROL
    OBSERVABLES: ClassVar[tuple[str, ...]] = ("generation_MW", "limit_MW", "tso_frequency_Hz")

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.cfg: DsoConfig = config
        db = PointDatabase(config.common_address)
        db.add_monitor(I21.DISTRIBUTED_GENERATION_MW, TypeId.M_ME_NC_1)
        db.add_monitor(I21.LIMIT_ACTIVE_MW, TypeId.M_ME_NC_1, value=-1.0)
        db.add_monitor(I21.FREQUENCY_FEEDBACK_HZ, TypeId.M_ME_NC_1, value=50.0)
        db.add_command(I21.FREQUENCY_HZ, TypeId.C_SE_NC_1, feedback_ioa=I21.FREQUENCY_FEEDBACK_HZ)
        self.tso_end = ControlledEnd(db, self._on_command)
        self.telecontrol = ControlCentreLinks(self, ("plant_operators",))
        self.tso_frequency_Hz = 50.0
        self.limit_MW = -1.0
        self._last_generation: float | None = None

    def telecontrol_end(self, port: str) -> ControlledEnd:
        return self.tso_end

    def _on_command(self, request: CommandRequest) -> bool:
        if request.ioa == I21.FREQUENCY_HZ and 45.0 <= float(request.value) <= 55.0:
            self.tso_frequency_Hz = float(request.value)
            return True
        return False

    def _limit_now(self, now: float) -> float:
        hours = (now - self.context.start_s) / 3600.0
        for r in self.cfg.redispatch:
            if r.start_h <= hours < r.end_h:
                return r.limit_MW
        return -1.0  # no limit

    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        ends = self.telecontrol.poll(now)["plant_operators"]
        limit = self._limit_now(now)
        if limit != self.limit_MW and all([end.send_setpoint(I52.LIMIT_MW, limit, now=now) for end in ends]):
            self.limit_MW = limit
            self.tso_end.update(I21.LIMIT_ACTIVE_MW, limit, now=now)
        generation = sum(e.values.get(I52.GENERATION_MW, 0.0) for e in ends)
        if self._last_generation is None or abs(generation - self._last_generation) >= self.cfg.report_threshold_MW:
            self._last_generation = generation
            self.tso_end.update(I21.DISTRIBUTED_GENERATION_MW, generation, now=now)

    def observe(self) -> tuple[float, ...]:
        return (self._last_generation or 0.0, self.limit_MW, self.tso_frequency_Hz)

    def report(self) -> dict[str, Any]:
        ends = (self.telecontrol.by_port or {}).get("plant_operators", [])
        return {e.link.peer.name: {"confirmed": e.confirmed, "refused": e.refused} for e in ends}

    async def serve(self, clock: Clock) -> None:
        import asyncio

        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.tso_end.serve())
            tg.create_task(self.telecontrol.serve())
