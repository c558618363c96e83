"""Technical aggregator backend (C-TECH-AGG): many plugged-in cars as one controllable resource.

* gathers the fleet's state from the CPO side (I-14: which car is at which EVSE, SoC, limits,
  meters) and from the OEM backend (I-13: the owner's departure, target, minimum SoC for
  discharge, V2G consent; ETA and expected SoC of cars on the road);
* builds per-car flexibility and the pool's envelope (``control/fleet_flexibility``,
  ``control/fleet_envelope``: tubes around each car's optimal plan for the commercial side's
  price curve) and offers it on I-23 as 15-minute series;
* checks the commercial schedule against the envelope (rejecting it with the first violating
  interval), splits it into per-car schedules with positive and negative setpoints that keep
  every car's departure need and consent (``control/fleet_disaggregation``), and sends them
  as ChargingSchedules through I-14;
* measures every step and re-dispatches within the interval when cars deviate (early unplug,
  late arrival, a car that does not follow), ``dispatch.py``;
* serves the aggregator app (I-11) and, live, I-23 and I-11 as REST (+ WebSocket for I-11).
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from bidicharge.components.interfaces.i02_telematics import VehicleView
from bidicharge.components.interfaces.i11_aggregator_app import (
    CarsRequest,
    CarsView,
    History,
    HistoryEntry,
    HistoryRequest,
)
from bidicharge.components.interfaces.i13_oem_aggregator import FleetData, FleetDataRequest
from bidicharge.components.interfaces.i14_cpo_aggregator import (
    ChargingSchedule,
    EvseLive,
    LiveData,
    SchedulePeriod,
)
from bidicharge.components.interfaces.i23_flexibility import (
    DeliveryReport,
    DeliveryRequest,
    FlexibilityOffer,
    PoolSchedule,
    PriceCurve,
    ScheduleAnswer,
)
from bidicharge.components.tech_aggregator.app_view import cars_view
from bidicharge.components.tech_aggregator.balancing import RESERVE_MESSAGES, ReserveBalancer, step_reserves
from bidicharge.components.tech_aggregator.dispatch import PoolDispatcher
from bidicharge.components.tech_aggregator.fleet_state import FleetState, car_sessions
from bidicharge.components.tech_aggregator.plan import (
    Plan,
    plain_charging_cost_EUR,
    price_on,
    rounded,
    value_at,
)
from bidicharge.components.tech_aggregator.sources import FleetSources
from bidicharge.control.fleet_disaggregation import disaggregate
from bidicharge.control.fleet_envelope import (
    ScheduleOutsideEnvelope,
    build_envelope,
    build_tubes,
    check_schedule,
    reference_plan,
)
from bidicharge.control.fleet_flexibility import (
    SOC_JUMP_TOLERANCE,
    Horizon,
    build_flexibility,
)
from bidicharge.runtime.clock import Clock
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import Link, provides, requires

log = logging.getLogger(__name__)

__all__ = ["TechAggregator", "TechAggregatorConfig"]


class TechAggregatorConfig(ComponentConfig):
    aggregator_id: str = Field("tech_agg", pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="our id on I-13")
    interval_s: float = Field(900.0, gt=0, description="the I-23 series' resolution")
    horizon_h: float = Field(24.0, gt=0, le=72)
    follow_tolerance_W: float = Field(300.0, gt=0, description="a car off its setpoint by more does not follow")
    reserve_share: float = Field(0.1, ge=0, lt=1, description=(
        "share of every car's power kept out of the offer, to absorb deviations within the interval"))
    reserve_soc: float = Field(0.05, ge=0, lt=1, description=(
        "SoC above the owner's minimum kept out of the offer (energy to absorb deviations)"))
    resend_threshold_W: float = Field(50.0, ge=0, description="send a new schedule when a setpoint moves more")
    api_host: str = "127.0.0.1"
    api_port: int = Field(0, ge=0, le=65535, description="live: REST port for I-23 and I-11 (0 = a free port)")


@component_type
class TechAggregator(Component):
    kind = "tech_aggregator"
    catalogue_id = "C-TECH-AGG"
    Config = TechAggregatorConfig
    PORTS = (
        requires("cpo", "I-14", "in-memory", wire_protocol="OCPP 2.0.1, IEC 63110"),
        requires("oem", "I-13", "in-memory", optional=True, wire_protocol="REST (served by oem_backend)"),
        requires("homes", "I-14", "in-memory", many=True, optional=True,
                 wire_protocol="REST (served by hems_backend)", description="HEMS backends: home-charged cars"),
        provides("commercial", "I-23", "REST"),
        provides("app", "I-11", "REST + WebSocket"),
    )
    phase = Phase.CONTROL
    OBSERVABLES: ClassVar[tuple[str, ...]] = ("sold_W", "pool_W", "cars_controlled", "deviating_cars")

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.cfg: TechAggregatorConfig = config
        self.offer: FlexibilityOffer | None = None
        self._candidate: Plan | None = None
        self.plan: Plan | None = None
        self.schedules_rejected: list[ScheduleAnswer] = []
        self.refused_cars: dict[str, str] = {}
        self._offers = 0
        self._live: dict[str, EvseLive] = {}
        self._views: dict[str, VehicleView] = {}
        self._k = -1
        self._meter_start: dict[str, float] = {}
        self._energy_start = np.zeros(0)
        self._in_force = np.zeros(0)  # setpoint each car had during the last step (NaN: none)
        self._sent: dict[int, ChargingSchedule] = {}
        self._seen = np.zeros(0, dtype=bool)
        self._gone = np.zeros(0, dtype=bool)
        self._no_discharge = np.zeros(0)
        self._pinned = np.zeros(0)
        self.delivered_W: list[float] = []
        self.deviations: dict[str, str] = {}
        self._history: dict[str, list[HistoryEntry]] = {}
        self._pool_W = 0.0
        self._average = np.zeros(0)
        self.shortfall_W = np.zeros(0)
        self.plain_charging_cost_EUR: float | None = None
        self._soc = np.zeros(0)
        self._soc_t = np.zeros(0)
        self.refused_reports: list[tuple[float, str, str]] = []
        self.faults: list[tuple[float, str, str]] = []
        self.ready = asyncio.Event()
        self.api_url: str | None = None
        self._fleet_sources: FleetSources | None = None

    # -- gathering ------------------------------------------------------------------------------
    def _sources(self) -> FleetSources:
        if self._fleet_sources is None:
            cpo = self.link("cpo")
            assert cpo is not None
            self._fleet_sources = FleetSources(cpo, self.peers("homes"), self.cfg.aggregator_id, self.faults)
        return self._fleet_sources

    def _gather(self) -> FleetState:
        # the HEMS backends learn from this request which aggregator asks (their cars, then live data)
        home_views = self._sources().home_views(self.now)
        live = self._sources().live(self.now)
        self._live = {e.evse_id: e for e in live.evses}
        oem = self.link("oem")
        views: tuple[Any, ...] = ()
        if oem is not None:
            try:
                data = oem.request(FleetDataRequest(aggregator=self.cfg.aggregator_id))
            except (ConnectionError, TimeoutError, OSError) as exc:
                # plan with what the OEM backend told us last; cars we never heard of stay uncontrolled
                self.faults.append((self.now, "I-13", f"OEM backend unreachable: {exc}"))
                views = tuple(self._views.values())
            else:
                assert isinstance(data, FleetData)
                views = tuple(VehicleView.model_validate(v) for v in data.vehicles)
        views = (*views, *home_views)
        self._views = {v.vin: v for v in views}
        state = car_sessions(views, live.evses, now_s=self.now)
        self.refused_cars.update(state.refused)
        return state

    def _horizon(self) -> Horizon:
        step = self.cfg.interval_s
        start = math.ceil(self.now / step - 1e-9) * step
        return Horizon(start_s=start, n_steps=round(self.cfg.horizon_h * 3600.0 / step), step_s=step)

    # -- I-23 ------------------------------------------------------------------------------------
    def make_offer(self, curve: PriceCurve) -> FlexibilityOffer:
        horizon = self._horizon()
        price = price_on(curve, horizon)
        state = self._gather()
        now_s = min(self.now, horizon.start_s)
        keep = 1.0 - self.cfg.reserve_share
        offered = build_flexibility([replace(s, max_charge_power_W=s.max_charge_power_W * keep,
                                             max_discharge_power_W=s.max_discharge_power_W * keep,
                                             min_soc_for_discharge=min(s.min_soc_for_discharge + self.cfg.reserve_soc,
                                                                       s.max_soc))
                                     for s in state.sessions], horizon, now_s=now_s)
        # the tubes lie inside the reduced windows, hence inside the full ones: the dispatcher
        # splits within the full windows and keeps the reserve for deviations
        tubes = build_tubes(offered, reference_plan(offered, price))
        env = build_envelope(offered, tubes)
        flex = build_flexibility(state.sessions, horizon, now_s=now_s)
        self.plain_charging_cost_EUR = plain_charging_cost_EUR(flex, price)
        self._offers += 1
        offer_id = f"{self.name}-{self._offers}"
        self._candidate = Plan(flex, tubes, env, state, price, offer_id)
        self.offer = FlexibilityOffer(
            offer_id=offer_id, start_s=horizon.start_s, step_s=horizon.step_s, n_cars=flex.n_cars,
            baseline_power_W=rounded(env.baseline_power_W), min_power_W=rounded(env.min_power_W),
            max_power_W=rounded(env.max_power_W), baseline_energy_Wh=rounded(env.baseline_energy_Wh),
            min_energy_Wh=rounded(env.min_energy_Wh), max_energy_Wh=rounded(env.max_energy_Wh),
            rate_low=env.rate_low, rate_high=env.rate_high, price_EUR_per_MWh=rounded(price),
            wear_EUR_per_MWh=env.wear_EUR_per_MWh, wear_free_min_power_W=rounded(env.wear_free_min_power_W)
            if env.wear_free_min_power_W is not None else ())
        return self.offer

    def accept_schedule(self, schedule: PoolSchedule) -> ScheduleAnswer:
        cand = self._candidate
        if cand is None or schedule.offer_id != cand.offer_id:
            answer = ScheduleAnswer(accepted=False, reason=f"no open offer {schedule.offer_id!r}")
        elif schedule.start_s != cand.flex.horizon.start_s or schedule.step_s != cand.flex.horizon.step_s:
            answer = ScheduleAnswer(accepted=False, reason="start_s/step_s differ from the offer's")
        else:
            try:
                check_schedule(cand.envelope, np.asarray(schedule.power_W, dtype=np.float64))
            except ScheduleOutsideEnvelope as exc:
                answer = ScheduleAnswer(accepted=False, interval=exc.interval, reason=exc.reason)
            else:
                self._commit(cand, np.asarray(schedule.power_W, dtype=np.float64))
                return ScheduleAnswer(accepted=True)
        self.schedules_rejected.append(answer)
        return answer

    def _commit(self, plan: Plan, sold: np.ndarray) -> None:
        day = disaggregate(plan.flex, sold, plan.tubes)
        plan.dispatcher = PoolDispatcher(flex=plan.flex, tubes=plan.tubes, sold_W=sold, arrival_s=plan.arrival,
                                         departure_s=plan.departure)
        plan.plan_W = plan.dispatcher.plan_setpoints(day.power_W)
        self.plan = plan
        n = plan.flex.n_cars
        self._in_force = np.full(n, np.nan)
        self._sent = {}
        self._seen = np.zeros(n, dtype=bool)
        self._gone = np.zeros(n, dtype=bool)
        self._no_discharge = np.zeros(n)
        self._pinned = np.full(n, np.nan)
        self._energy_start = np.zeros(n)
        self._average = np.zeros(0)
        self.shortfall_W = np.zeros(plan.flex.horizon.n_steps)
        self._k = -1
        self.delivered_W = []

    def delivery(self) -> DeliveryReport:
        plan = self.plan
        if plan is None:
            return DeliveryReport(start_s=0.0, step_s=self.cfg.interval_s, sold_power_W=(), delivered_power_W=())
        h = plan.flex.horizon
        begun = min(max(self._k + 1, 0), h.n_steps)
        return DeliveryReport(start_s=h.start_s, step_s=h.step_s, sold_power_W=rounded(plan.dispatcher.sold_W),  # type: ignore[union-attr]
                              delivered_power_W=tuple(round(v, 3) for v in self.delivered_W),
                              shortfall_W=rounded(self.shortfall_W[:begun]))

    def handle(self, port: str, message: object, link: Link) -> object:
        if isinstance(message, PriceCurve):
            return self.make_offer(message)
        if isinstance(message, PoolSchedule):
            return self.accept_schedule(message)
        if isinstance(message, DeliveryRequest):
            return self.delivery()
        if isinstance(message, CarsRequest):
            return self.cars_view(message.user)
        if isinstance(message, HistoryRequest):
            return self.history(message.vin)
        if isinstance(message, RESERVE_MESSAGES):  # FCR (the seed's I-25 via I-23/I-14): balancing.py
            return ReserveBalancer.of(self).handle(message, self.now)
        return super().handle(port, message, link)

    # -- operation ----------------------------------------------------------------------------
    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        step_reserves(self, now)
        plan = self.plan
        if plan is None or plan.dispatcher is None:
            return
        h = plan.flex.horizon
        k = int(math.floor((now - h.start_s) / h.step_s + 1e-9))
        if k < 0 or self._k >= h.n_steps:
            return
        try:
            live = self._sources().live(now)
        except (ConnectionError, TimeoutError, OSError) as exc:
            # the EVSEs keep the schedules they have (the day plan); we re-dispatch when it is back
            self.faults.append((now, "I-14", f"CPO backend unreachable: {exc}"))
            return
        assert isinstance(live, LiveData)
        self._live = {e.evse_id: e for e in live.evses}
        evse_of = plan.state.evse_of
        by_vehicle: dict[str, EvseLive] = {e.vehicle_id: e for e in live.evses if e.connected and e.vehicle_id is not None}
        for vin, e in by_vehicle.items():
            if vin in plan.index and vin not in evse_of:
                evse_of[vin] = e.evse_id  # the car arrived: now we know its EVSE
        new_interval = k != self._k
        if new_interval:
            self._close_interval(plan, k)
            if k >= h.n_steps:
                self._k = k
                return
            self._k = k
            self._meter_start = {e.evse_id: e.imported_Wh - e.exported_Wh for e in live.evses}
            self._pinned = np.full(plan.flex.n_cars, np.nan)
            self._average = np.zeros(0)
        self._observe_cars(plan, now, dt_s, by_vehicle)
        energy_now = self._energy_now(plan)
        if new_interval:  # normally at the boundary; after an outage, from now on
            self._energy_start = energy_now
        self._dispatch(plan, k, now, energy_now)

    def _energy_now(self, plan: Plan) -> np.ndarray:
        """Each car's stored-energy change since its flexibility began, from the SoC the charger reads.

        A SoC that no charger could have produced since the last accepted reading (a jump:
        wrong car, a BMS reset, a unit error) is refused and the last accepted value kept.
        """
        energy = self._energy_start.copy() if self._energy_start.size else np.zeros(plan.flex.n_cars)
        if self._soc.size != plan.flex.n_cars:
            self._soc = np.full(plan.flex.n_cars, np.nan)
            self._soc_t = np.full(plan.flex.n_cars, np.nan)
        flex = plan.flex
        for vin, i in plan.index.items():
            e = self._live.get(plan.state.evse_of.get(vin, ""))
            if e is None or not e.connected or e.vehicle_id != vin or e.soc is None:
                if not np.isnan(self._soc[i]):
                    energy[i] = (self._soc[i] - plan.soc0[i]) * plan.capacity[i]
                continue
            if not np.isnan(self._soc[i]):
                hours = max(self.now - self._soc_t[i], 0.0) / 3600.0
                up = flex.charge_efficiency[i] * e.max_charge_power_W * hours / plan.capacity[i]
                down = e.max_discharge_power_W * hours / flex.discharge_efficiency[i] / plan.capacity[i]
                delta = e.soc - self._soc[i]
                if delta > up + SOC_JUMP_TOLERANCE or -delta > down + SOC_JUMP_TOLERANCE:
                    self.refused_reports.append((self.now, vin, f"SoC jumped from {self._soc[i]:.3f} to {e.soc:.3f}"))
                    energy[i] = (self._soc[i] - plan.soc0[i]) * plan.capacity[i]
                    continue
            self._soc[i], self._soc_t[i] = e.soc, self.now
            energy[i] = (e.soc - plan.soc0[i]) * plan.capacity[i]
        return energy

    def _observe_cars(self, plan: Plan, now: float, dt_s: float, by_vehicle: dict[str, EvseLive]) -> None:
        tol = self.cfg.follow_tolerance_W
        for vin, i in plan.index.items():
            e = by_vehicle.get(vin)
            if e is not None:
                self._seen[i] = True
                sp = self._in_force[i]
                if not np.isnan(sp) and abs(e.power_W - sp) > tol + 0.02 * abs(sp):
                    if sp < 0 and abs(e.power_W) <= tol:
                        if not self._no_discharge[i]:
                            self.deviations.setdefault(vin, "does not discharge")
                        self._no_discharge[i] = 1.0
                    else:
                        self.deviations.setdefault(vin, "does not follow")
                        self._pinned[i] = e.power_W
            elif self._seen[i] and not self._gone[i]:
                self._gone[i] = True
                if now < plan.departure[i] - dt_s:
                    self.deviations[vin] = "unplugged early"
            elif not self._seen[i] and plan.arrival[i] <= now - dt_s:
                self.deviations.setdefault(vin, "late")
            if self._gone[i] or (not self._seen[i] and plan.arrival[i] <= now - dt_s):
                self._pinned[i] = 0.0

    def _dispatch(self, plan: Plan, k: int, now: float, energy_now: np.ndarray) -> None:
        assert plan.dispatcher is not None
        h = plan.flex.horizon
        done = np.zeros(plan.flex.n_cars)
        for vin, i in plan.index.items():
            evse = plan.state.evse_of.get(vin)
            e = self._live.get(evse or "")
            if e is not None:
                done[i] = e.imported_Wh - e.exported_Wh - self._meter_start.get(e.evse_id, 0.0)
        max_c = np.array([plan.flex.max_power_W[i].max() for i in range(plan.flex.n_cars)])
        max_d = np.array([-plan.flex.min_power_W[i].min() for i in range(plan.flex.n_cars)])
        for vin, i in plan.index.items():
            e = self._live.get(plan.state.evse_of.get(vin, ""))
            if e is not None and e.connected and e.vehicle_id == vin:
                max_c[i], max_d[i] = e.max_charge_power_W, e.max_discharge_power_W
        if self._average.size == 0 or now == h.start_s + k * h.step_s:
            self._average, shortfall = plan.dispatcher.interval_average(k, self._energy_start, self._pinned,
                                                                         self._no_discharge)
            self.shortfall_W[k] = shortfall
        rest = plan.dispatcher.setpoints(
            k, now, self._average, done, self._pinned, energy_now_Wh=energy_now,
            max_charge_W=max_c, max_discharge_W=np.maximum(max_d, 0.0), min_step_s=self.context.step_s)
        h = plan.flex.horizon
        schedules = []
        for vin, i in plan.index.items():
            evse = plan.state.evse_of.get(vin)
            if evse is None or self._gone[i]:
                continue
            sp = float(rest[i])
            applied = value_at(self._sent.get(i), now)
            self._in_force[i] = applied
            # a small change may wait, one that would discharge more than the rules allow may not
            breaks_rule = applied < 0 and applied < sp - 1e-3
            if np.isnan(applied) or breaks_rule or abs(sp - applied) > self.cfg.resend_threshold_W:
                periods = [SchedulePeriod(start_offset_s=0.0, setpoint_W=round(sp, 1))]
                last = sp
                for j in range(k + 1, h.n_steps):
                    v = float(plan.plan_W[i, j])
                    if abs(v - last) > 0.05:
                        periods.append(SchedulePeriod(start_offset_s=h.start_s + j * h.step_s - now, setpoint_W=round(v, 1)))
                        last = v
                sched = ChargingSchedule(evse_id=evse, start_s=now, periods=tuple(periods))
                schedules.append(sched)
                self._sent[i] = sched
                self._in_force[i] = round(sp, 1)
        if schedules:
            self._sources().send(schedules, now)
        # what the cars will do next step if they follow (compared with the measurement then)
        self._pool_W = float(sum(e.power_W for vin, ev in plan.state.evse_of.items()
                                 if (e := self._live.get(ev)) is not None))

    def _close_interval(self, plan: Plan, k_now: int) -> None:
        """Book what the pool delivered since the last interval began; after an outage of I-14 the
        meters cover several intervals, and each gets their average."""
        if self._k < 0 or self._k >= plan.flex.horizon.n_steps:
            return
        h = plan.flex.horizon
        span = max(min(k_now, h.n_steps) - self._k, 1)
        total = 0.0
        t0 = h.start_s + self._k * h.step_s
        price = float(plan.price[self._k])
        for vin, evse in plan.state.evse_of.items():
            e = self._live.get(evse)
            if e is None:
                continue
            delta = e.imported_Wh - e.exported_Wh - self._meter_start.get(evse, 0.0)
            total += delta
            if abs(delta) > 1e-6:
                self._history.setdefault(vin, []).append(HistoryEntry(
                    start_s=t0, charged_Wh=round(max(delta, 0.0), 3), discharged_Wh=round(max(-delta, 0.0), 3),
                    price_EUR_per_MWh=round(price, 3)))
        self.delivered_W.extend([total * 3600.0 / (h.step_s * span)] * span)

    # -- I-11 -------------------------------------------------------------------------------------
    def history(self, vin: str) -> History:
        return History(vin=vin, entries=tuple(self._history.get(vin, ())))

    @property
    def views(self) -> dict[str, VehicleView]:
        return self._views

    @property
    def live(self) -> dict[str, EvseLive]:
        return self._live

    def cars_view(self, user: str | None) -> CarsView:
        return cars_view(self, user)

    def observe(self) -> tuple[float, ...]:
        plan = self.plan
        if plan is None or plan.dispatcher is None or not 0 <= self._k < plan.flex.horizon.n_steps:
            return (0.0, self._pool_W, 0.0, float(len(self.deviations)))
        return (float(plan.dispatcher.sold_W[self._k]), self._pool_W, float(plan.flex.n_cars),
                float(len(self.deviations)))

    def report(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "cars": plan.flex.n_cars if plan else 0,
            "refused_cars": dict(self.refused_cars),
            "deviations": dict(self.deviations),
            "refused_reports": list(self.refused_reports),
            "faults": list(self.faults),
            "schedules_rejected": [(a.interval, a.reason) for a in self.schedules_rejected],
            "sold_W": [float(v) for v in plan.dispatcher.sold_W] if plan and plan.dispatcher else [],
            "delivered_W": list(self.delivered_W),
            "shortfall_W": [float(v) for v in self.shortfall_W],
            "unreachable_targets": [plan.flex.car_ids[i] for i in np.nonzero(~plan.flex.target_reachable)[0]]
            if plan else [],
            "start_s": plan.flex.horizon.start_s if plan else None,
            "plain_charging_cost_EUR": self.plain_charging_cost_EUR,
            "evse_of": dict(plan.state.evse_of) if plan else {},
        }

    # -- live: I-23 and I-11 over REST -----------------------------------------------------------
    async def serve(self, clock: Clock) -> None:
        from bidicharge.components.tech_aggregator.api import create_app
        from bidicharge.transports.http_server import HttpApi

        api = HttpApi(create_app(self), self.cfg.api_host, self.cfg.api_port)
        self.api_url = api.url
        self.ready.set()
        await api.serve()


from bidicharge.components.tech_aggregator import commercial_standin as commercial_standin  # noqa: E402,F401  (registers the kind)
