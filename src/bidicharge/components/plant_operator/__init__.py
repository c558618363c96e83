"""Power plant operator (C-PLANT-OP): runs its plants to the sold schedule and the grid's calls.

* I-48 (trading system, in memory until AS4 lands): answers ``AvailabilityRequest`` with what
  each plant can sell (capacity less the primary reserve it holds, and its must-run power) and
  takes ``PlantSchedules`` (one power per quarter-hour and plant), refusing unknown plants or a
  wrong length with a reason.
* I-51 (TSO, IEC 60870-5-104, controlled station): reports total generation, the frequency
  measured at its plants and the schedule in force; executes the TSO's aFRR set-point (MW,
  shared over its plants pro rata to the capacity they can move).
* I-52 (DSO, IEC 60870-5-104, controlled station): reports generation; executes a feed-in
  limit (redispatch), refused with a negative confirmation below the plants' must-run power.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any, ClassVar

from pydantic import Field

from bidicharge.components.interfaces.i2x_markets import (
    I51,
    I52,
    IEC104,
    AvailabilityRequest,
    PlantAvailability,
    PlantOffer,
    PlantSchedules,
    ScheduleAck,
)
from bidicharge.components.power_plant import units
from bidicharge.components.tso_control_center.telecontrol import ControlledEnd
from bidicharge.protocols.iec104 import CommandRequest, PointDatabase, TypeId
from bidicharge.runtime.clock import Clock
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import Link, provides


class PlantOperatorConfig(ComponentConfig):
    operator_id: str = "plant-operator"
    plants: list[str] = Field(..., min_length=1, description="the power_plant instances this operator runs")
    tso_common_address: int = Field(51, ge=1, le=65534)
    dso_common_address: int = Field(52, ge=1, le=65534)
    report_threshold_MW: float = Field(1.0, gt=0)
    frequency_threshold_Hz: float = Field(0.001, gt=0)


@component_type
class PlantOperator(Component):
    kind = "plant_operator"
    catalogue_id = "C-PLANT-OP"
    Config = PlantOperatorConfig
    PORTS = (
        provides("trading", "I-48", "in-memory", wire_protocol="AS4"),
        provides("tso", "I-51", IEC104),
        provides("dso", "I-52", IEC104),
    )
    phase = Phase.CONTROL
    OBSERVABLES: ClassVar[tuple[str, ...]] = ("generation_MW", "schedule_MW", "afrr_MW")

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.cfg: PlantOperatorConfig = config
        tso = PointDatabase(config.tso_common_address)
        for ioa in (I51.GENERATION_MW, I51.FREQUENCY_HZ, I51.AFRR_FEEDBACK_MW, I51.SCHEDULE_MW):
            tso.add_monitor(ioa, TypeId.M_ME_NC_1, value=50.0 if ioa == I51.FREQUENCY_HZ else 0.0)
        tso.add_command(I51.AFRR_SETPOINT_MW, TypeId.C_SE_NC_1, feedback_ioa=I51.AFRR_FEEDBACK_MW)
        dso = PointDatabase(config.dso_common_address)
        dso.add_monitor(I52.GENERATION_MW, TypeId.M_ME_NC_1)
        dso.add_monitor(I52.LIMIT_FEEDBACK_MW, TypeId.M_ME_NC_1, value=-1.0)
        dso.add_command(I52.LIMIT_MW, TypeId.C_SE_NC_1, feedback_ioa=I52.LIMIT_FEEDBACK_MW)
        self.ends = {"tso": ControlledEnd(tso, self._on_tso), "dso": ControlledEnd(dso, self._on_dso)}
        self.schedules: dict[str, dict[int, float]] = {}  # plant -> absolute MTU -> MW
        self.afrr_MW = 0.0
        self.limit_MW: float | None = None
        self._reported: dict[tuple[str, int], float] = {}
        self._plants: list[Any] | None = None

    def telecontrol_end(self, port: str) -> ControlledEnd:
        return self.ends[port]

    def plants(self) -> list[Any]:
        """The operator's own plants (no catalogue interface: found by name, see ``power_plant/units.py``)."""
        if self._plants is None:
            self._plants = [units.lookup(self, name, "power_plant") for name in self.cfg.plants]
        return self._plants

    # --- I-51 / I-52 commands --------------------------------------------------------------
    def _on_tso(self, request: CommandRequest) -> bool:
        if request.ioa != I51.AFRR_SETPOINT_MW or not math.isfinite(float(request.value)):
            return False
        self.afrr_MW = float(request.value)
        return True

    def _on_dso(self, request: CommandRequest) -> bool:
        value = float(request.value)
        if request.ioa != I52.LIMIT_MW or not math.isfinite(value):
            return False
        if value < 0:  # a negative limit lifts the limit
            self.limit_MW = None
            return True
        if value < sum(p.params.min_stable_MW for p in self.plants()):
            return False  # below must-run: cannot be executed, and says so
        self.limit_MW = value
        return True

    # --- I-48 ------------------------------------------------------------------------------
    def handle(self, port: str, message: object, link: Link) -> object:
        if isinstance(message, AvailabilityRequest):
            return PlantAvailability(operator_id=self.cfg.operator_id, plants=tuple(
                PlantOffer(plant_id=p.name, available_MW=p.params.capacity_MW - p.params.primary_reserve_MW,
                           must_run_MW=p.params.min_stable_MW + p.params.primary_reserve_MW,
                           marginal_cost_EUR_per_MWh=p.params.marginal_cost_EUR_per_MWh) for p in self.plants()))
        if isinstance(message, PlantSchedules):
            known = {p.name for p in self.plants()}
            unknown = sorted(set(message.generation_MW) - known)
            if unknown:
                return ScheduleAck(accepted=False, detail=f"unknown plants {unknown}")
            if message.step_s != 900.0 or any(len(v) != 96 for v in message.generation_MW.values()):
                return ScheduleAck(accepted=False, detail="one power per quarter-hour of the day (96) expected")
            first = int(message.delivery_day_start_s // 900)
            for plant, values in message.generation_MW.items():
                book = self.schedules.setdefault(plant, {})
                book.update({first + q: v for q, v in enumerate(values)})
            return ScheduleAck(accepted=True)
        return super().handle(port, message, link)

    # --- operation -------------------------------------------------------------------------
    def start(self, now: float) -> None:
        super().start(now)
        self.plants()  # an unknown plant name fails here, before the first step

    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        plants = self.plants()
        mtu = int(now // 900)
        movable = [max(0.0, p.params.capacity_MW - p.params.min_stable_MW) for p in plants]
        total = sum(movable) or 1.0
        limit_total = sum(p.params.capacity_MW for p in plants)
        for p, room in zip(plants, movable, strict=True):
            sched = self.schedules.get(p.name, {}).get(mtu)
            if sched is not None:
                p.schedule_MW = sched
            p.afrr_MW = self.afrr_MW * room / total
            p.limit_MW = None if self.limit_MW is None else self.limit_MW * p.params.capacity_MW / limit_total
        generation = sum(p.generation_MW for p in plants)
        frequency = plants[0].measured_frequency_Hz() if plants else 50.0
        self._report("tso", I51.GENERATION_MW, generation, self.cfg.report_threshold_MW, now)
        self._report("tso", I51.SCHEDULE_MW, sum(p.schedule_MW for p in plants), self.cfg.report_threshold_MW, now)
        self._report("tso", I51.FREQUENCY_HZ, frequency, self.cfg.frequency_threshold_Hz, now)
        self._report("dso", I52.GENERATION_MW, generation, self.cfg.report_threshold_MW, now)

    def _report(self, end: str, ioa: int, value: float, threshold: float, now: float) -> None:
        last = self._reported.get((end, ioa))
        if last is None or abs(value - last) >= threshold:
            self._reported[end, ioa] = value
            self.ends[end].update(ioa, value, now=now)

    def observe(self) -> tuple[float, ...]:
        plants = self.plants()
        return (sum(p.generation_MW for p in plants), sum(p.schedule_MW for p in plants), self.afrr_MW)

    async def serve(self, clock: Clock) -> None:
        """Live mode: both controlled stations on free loopback ports."""
        async with asyncio.TaskGroup() as tg:
            for end in self.ends.values():
                tg.create_task(end.serve())
