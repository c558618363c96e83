"""DSO backend (C-DSO-BACKEND, kind ``dso_backend``): the DSO's side of §14a.

* Holds what the DSO knows: meter master data (I-33, lazily at first use), TAF 10 grid-state
  values and TAF 7 energies from the pEMP (I-35), the substation telemetry (I-43) and the
  control units' status (polled every `status_poll_s` through the aEMP, I-26, or the CLS
  management when no aEMP is wired). A unit reached
  only by ripple control reports nothing; its draw is estimated as at most its rating and at
  most its home's TAF 10 power.
* Answers the grid controller (I-31) with the grid state — a connection point whose meter
  went silent keeps its last good value and is reported as stale — and dispatches its
  dimming orders to the CLS management (I-20), which passes them to the aEMP and through
  the gateway to the control unit. An order that did not get through (``cls-unreachable``,
  a refusal on the way) is retried each step until its command has expired; an order the
  control unit refused is logged and not retried.
* Logs every dimming event (`control.section14a_compensation.dimming_log`: start, duration,
  affected units and homes, triggers, lowest limit, energy not served) from the limits the
  control units report in force, and computes each customer's §14a compensation (modules
  1, 2, 3) from the TAF 7 energies in `report()`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import math
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field

from bidicharge.components.interfaces.i10_cls import CommandStatus, DimmingCommand, LimitRelease, StatusQuery
from bidicharge.components.interfaces.i16_taf import MeterValues, MeterValuesReceived
from bidicharge.components.interfaces.i20_dso import ControlOrder, ControlOutcome
from bidicharge.components.interfaces.i31_grid import (
    DimmingOrders,
    DispatchReport,
    GridState,
    GridStateRequest,
    ScadaMeasurement,
    ScadaRequest,
    UnitsCatalogue,
    UnitsRequest,
)
from bidicharge.components.interfaces.i33_master_data import MasterData, MasterDataRequest, MeteringPoint
from bidicharge.control import section14a_compensation as comp
from bidicharge.control.grid_controller import UnitId
from bidicharge.physics.lv_grid import HouseholdId
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import Link, provides, requires

log = logging.getLogger(__name__)


class DsoBackendConfig(ComponentConfig):
    status_poll_s: float = Field(60.0, gt=0)
    stale_after_s: float = Field(180.0, gt=0)
    timezone: str = "Europe/Berlin"


@component_type
class DsoBackend(Component):
    kind = "dso_backend"
    catalogue_id = "C-DSO-BACKEND"
    Config = DsoBackendConfig
    PORTS = (
        requires("metering", "I-33", "in-memory", wire_protocol="proprietary"),
        requires("cls", "I-20", "in-memory", wire_protocol="BSI TR-03109"),
        requires("aemp", "I-26", "in-memory", wire_protocol="via CLS", optional=True),
        requires("grid", "I-43", "in-memory", wire_protocol="IEC 60870-5-104", optional=True),
        provides("grid_controller", "I-31", "in-memory", wire_protocol="proprietary"),
        provides("meter_data", "I-35", "in-memory", wire_protocol="AS4 (MaKo 2022)"),
    )
    phase = Phase.BACKEND

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self._points: dict[str, MeteringPoint] | None = None
        self.taf10: dict[str, tuple[float, float | None]] = {}  # household -> (captured at, power or None)
        self.last_good: dict[str, float] = {}
        self.energy: dict[str, list[tuple[float, float]]] = {}  # household -> [(start, Wh)]
        self.status: dict[str, CommandStatus] = {}
        self.scada: ScadaMeasurement | None = None
        self.queue: list[ControlOrder] = []
        self.events: list[dict[str, Any]] = []  # every command and release with its outcome
        self.steps: list[comp.DimmingStep] = []
        self._triggers: tuple[str, ...] = ()
        self._order_no = itertools.count(1)
        self._next_poll = context.start_s
        self._tz = ZoneInfo(config.timezone)

    # -- master data ------------------------------------------------------------------------
    @property
    def points(self) -> dict[str, MeteringPoint]:
        if self._points is None:
            link = self.link("metering")
            assert link is not None
            data: MasterData = link.request(MasterDataRequest())
            self._points = {p.household_id: p for p in data.points}
        return self._points

    def _by_meter(self, meter_id: str) -> MeteringPoint | None:
        return next((p for p in self.points.values() if p.meter_id == meter_id), None)

    def _by_unit(self, unit_id: str) -> MeteringPoint | None:
        return next((p for p in self.points.values() if p.unit_id == unit_id), None)

    # -- inbound: meter values (I-35), grid controller (I-31) --------------------------------
    def handle(self, port: str, message: object, link: Link) -> object:
        if self.context.clock is not None:
            self.now = max(self.now, self.context.clock.now())
        if isinstance(message, MeterValues):
            return self._store(message)
        if isinstance(message, UnitsRequest):
            return UnitsCatalogue(points=tuple(p for p in self.points.values() if p.unit_id is not None))
        if isinstance(message, GridStateRequest):
            return self.grid_state()
        if isinstance(message, DimmingOrders):
            return self._dispatch_orders(message)
        return super().handle(port, message, link)

    def _store(self, values: MeterValues) -> MeterValuesReceived:
        for v in values.grid_state:
            point = self._by_meter(v.meter_id)
            if point is None:
                continue
            self.taf10[point.household_id] = (v.captured_at_s, v.power_W)
            if v.power_W is not None:
                self.last_good[point.household_id] = v.power_W
        for iv in values.intervals:
            point = self._by_meter(iv.meter_id)
            if point is not None and iv.import_Wh is not None:
                self.energy.setdefault(point.household_id, []).append((iv.start_s, iv.import_Wh))
        return MeterValuesReceived(count=len(values.grid_state) + len(values.intervals))

    def grid_state(self) -> GridState:
        stale = tuple(sorted(h for h, (at, p) in self.taf10.items()
                             if p is None or self.now - at > self.config.stale_after_s))
        unit_power = {u: s.consumption_W for u, s in self.status.items() if math.isfinite(s.consumption_W)}
        for point in self.points.values():
            # a unit that reports no draw (ripple control, a HEMS that tells the control unit nothing):
            # at most its rating, at most the home's draw
            if point.unit_id is not None and point.unit_id not in unit_power and point.household_id in self.last_good:
                rated = sum(d.rated_power_W for d in point.devices)
                unit_power[point.unit_id] = max(0.0, min(rated, self.last_good[point.household_id]))
        return GridState(
            household_power_W=dict(self.last_good),
            stale=stale,
            unit_power_W=unit_power,
            unit_demand_W={u: s.demand_W for u, s in self.status.items() if math.isfinite(s.demand_W)},
            transformer_loading_pct=None if self.scada is None else self.scada.transformer_loading_pct,
            transformer_power_W=None if self.scada is None else self.scada.transformer_power_W,
        )

    def _order(self, unit_id: str, payload: DimmingCommand | LimitRelease | StatusQuery) -> ControlOrder | None:
        point = self._by_unit(unit_id)
        if point is None or point.gateway_id is None or point.channel_id is None:
            return None
        return ControlOrder(order_id=f"{self.name}-{next(self._order_no)}", unit_id=unit_id,
                            gateway_id=point.gateway_id, channel_id=point.channel_id, payload=payload)

    def _dispatch_orders(self, orders: DimmingOrders) -> DispatchReport:
        self._triggers = orders.triggers
        delivered: list[str] = []
        refused: dict[str, str] = {}
        queued: list[str] = []
        for payload in (*orders.commands, *orders.releases):
            order = self._order(payload.unit_id, payload)
            if order is None:
                self._log(payload, "ripple" if self._by_unit(payload.unit_id) else "unknown-unit", None)
                continue
            outcome = self._send(order)
            if outcome is None:
                queued.append(payload.command_id)
            elif outcome.status is not None and outcome.status.accepted:
                delivered.append(payload.command_id)
            else:
                refused[payload.command_id] = outcome.reason if outcome.status is None else outcome.status.reason
        return DispatchReport(delivered=tuple(delivered), refused=refused, queued=tuple(queued))

    def _send(self, order: ControlOrder) -> ControlOutcome | None:
        """One attempt; None when it did not get through and was queued for a retry. Status
        queries go to the aEMP directly when it is wired (I-26), commands always through the
        CLS management (I-20), which keeps the book of what was sent."""
        link = self.link("aemp") if isinstance(order.payload, StatusQuery) else None
        link = link or self.link("cls")
        assert link is not None
        outcome: ControlOutcome = link.request(order)
        payload = order.payload
        if outcome.status is not None:
            self.status[order.unit_id] = outcome.status
        if not outcome.delivered:
            if isinstance(payload, DimmingCommand | LimitRelease) and order not in self.queue:
                self.queue.append(order)
                log.warning("DSO %s: %s for %s not delivered (%s), will retry", self.name, payload.command_id,
                            order.unit_id, outcome.reason)
            return None
        if isinstance(payload, DimmingCommand | LimitRelease):
            self._log(payload, outcome.status.reason if outcome.status else outcome.reason, outcome.status)
        return outcome

    def _log(self, payload: DimmingCommand | LimitRelease, outcome: str, status: CommandStatus | None) -> None:
        point = self._by_unit(payload.unit_id)
        self.events.append({
            "time_s": self.now, "command_id": payload.command_id, "unit_id": payload.unit_id,
            "household_id": None if point is None else point.household_id,
            "devices": () if point is None else tuple(d.device_id for d in point.devices),
            "limit_W": payload.limit_W if isinstance(payload, DimmingCommand) else None,
            "duration_s": payload.duration_s if isinstance(payload, DimmingCommand) else None,
            "outcome": outcome, "consumption_W": None if status is None else status.consumption_W,
        })

    # -- each step: retries, status polls, telemetry, the dimming log -------------------------
    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        retry, self.queue = self.queue, []
        for order in retry:
            p = order.payload
            if isinstance(p, DimmingCommand) and p.start_s + p.duration_s <= now:
                self._log(p, "expired-undelivered", None)
                continue
            self._send(order)
        if now >= self._next_poll:
            self._next_poll = now + self.config.status_poll_s
            for point in self.points.values():
                if point.unit_id is not None:
                    order = self._order(point.unit_id, StatusQuery(unit_id=point.unit_id))
                    if order is not None:
                        self._send(order)
        grid = self.link("grid")
        if grid is not None:
            self.scada = grid.request(ScadaRequest())
        limits = {UnitId(u): s.limit_W for u, s in self.status.items() if s.limit_W is not None}
        household_of = {UnitId(p.unit_id): HouseholdId(p.household_id) for p in self.points.values() if p.unit_id}
        self.steps.append(comp.DimmingStep(
            now_s=now, dt_s=dt_s, limit_W=limits,
            demand_W={UnitId(u): s.demand_W for u, s in self.status.items() if math.isfinite(s.demand_W)},
            household_of=household_of, triggers=self._triggers if limits else ()))

    # -- end of run: the dimming log and the compensation per customer --------------------------
    def dimming_log(self) -> tuple[comp.DimmingLogRecord, ...]:
        return comp.dimming_log(self.steps)

    def compensation(self) -> dict[str, Any]:
        start = dt.datetime.fromtimestamp(self.context.start_s, self._tz).date()
        end = dt.datetime.fromtimestamp(self.context.end_s, self._tz).date() + dt.timedelta(days=1)
        out: dict[str, Any] = {}
        for home, point in self.points.items():
            if point.unit_id is None:
                continue
            customer = comp.Customer(customer_id=point.customer_id, modules=frozenset(comp.Module(m) for m in point.modules),
                                     period_start=start, period_end=end, smart_meter=point.gateway_id is not None)
            energy = [comp.IntervalEnergy(start=dt.datetime.fromtimestamp(s, self._tz), energy_Wh=wh)
                      for s, wh in self.energy.get(home, [])]
            try:
                c = comp.compensation(customer, energy)
            except comp.CompensationError as exc:
                out[point.customer_id] = {"error": str(exc)}
                continue
            out[point.customer_id] = {"module1_EUR": c.module1_EUR, "module2_EUR": c.module2_EUR,
                                      "module3_EUR": c.module3_EUR, "total_EUR": c.total_EUR,
                                      "energy_kWh": c.energy_kWh}
        return out

    def report(self) -> dict[str, Any]:
        records = self.dimming_log()
        return {
            "events": list(self.events),
            "dimming_log": [{"event_id": r.event_id, "start_s": r.start_s, "duration_s": r.duration_s,
                             "units": list(r.affected_units), "households": list(r.affected_households),
                             "triggers": list(r.triggers), "lowest_limit_W": r.lowest_limit_W,
                             "energy_not_served_Wh": r.energy_not_served_Wh} for r in records],
            "compensation": self.compensation(),
            "retries_pending": len(self.queue),
        }
