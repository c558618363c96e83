"""A fleet of battery electric vehicles (C-BEV): many cars, their trips and their telematics.

Each car is a ``physics/battery`` stepped by the EVSE it is plugged into (I-01, batched for the
whole fleet, ``messages.py``) and reports SoC, home/away, plug state and the owner's charge
settings to the OEM backend (I-02) on every plug event and every ``report_period_s``.

Sessions come from ``control/fleet_samples.sample_fleet`` (shaped after the German national
travel survey MiD 2017; see that module) drawn with the scenario's seeded generator around a
planning time at ``plan_hour`` of the first day. The car announces its session in advance —
ETA and expected SoC from its trip planner, departure from the owner's settings — and keeps
to it, except for the deviations the config asks for (drawn at random among suitable cars):
late arrivals, early unplugging and cars that refuse to discharge ("does not follow").
"""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from bidicharge.components.fleet_bev.messages import ChargeStep, ChargeStepResult
from bidicharge.components.interfaces.i02_telematics import (
    Location,
    OwnerSettings,
    Publish,
    VehicleStatus,
    topic,
)
from bidicharge.control.fleet_flexibility import CarSession
from bidicharge.control.fleet_samples import sample_fleet
from bidicharge.physics import battery
from bidicharge.runtime.clock import Clock
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import Link, provides, requires
from bidicharge.transports.mqtt import BrokerAddress, MqttSession

__all__ = ["ChargeStep", "ChargeStepResult", "FleetBev", "FleetBevConfig"]


class DeviationsConfig(ComponentConfig):
    late_arrivals: int = Field(0, ge=0, description="cars that arrive later than announced")
    late_by_s: float = Field(2700.0, ge=0)
    early_unplugs: int = Field(0, ge=0, description="cars unplugged before the announced departure")
    early_by_s: float = Field(3600.0, ge=0)
    no_discharge: int = Field(0, ge=0, description="cars that do not follow discharge setpoints (stay at 0 W)")


class FleetBevConfig(ComponentConfig):
    n_cars: int = Field(200, ge=1, le=100_000)
    plan_hour: float = Field(12.0, ge=0, lt=24, description="hour of the first day the sessions are drawn around")
    report_period_s: float = Field(900.0, gt=0)
    aggregator: str | None = Field("tech_agg", description="the aggregator every owner authorises on I-13 (None: none)")
    taper_charge_from_soc: float = Field(0.95, gt=0, le=1)
    deviations: DeviationsConfig = Field(default_factory=lambda: DeviationsConfig.model_validate({}))


@dataclass(slots=True)
class Car:
    session: CarSession
    params: battery.BatteryParams
    state: battery.BatteryState
    arrival_s: float  # actual
    departure_s: float  # actual
    deviation: str = ""  # "", "late_arrival", "early_unplug", "no_discharge"
    plugged: bool = False
    gone: bool = False
    departure_soc: float | None = None
    min_soc_plugged: float = 1.0
    min_soc_discharging: float = 1.0
    discharged_Wh: float = 0.0
    initial_energy_Wh: float = 0.0
    last_report_s: float = -math.inf

    @property
    def soc(self) -> float:
        return self.state.energy_Wh / self.params.capacity_Wh


@component_type
class FleetBev(Component):
    kind = "fleet_bev"
    catalogue_id = "C-BEV"
    Config = FleetBevConfig
    PORTS = (
        provides("charger", "I-01", "in-memory", wire_protocol="ISO 15118-20 / IEC 61851"),
        requires("oem", "I-02", "MQTT", optional=True, wire_protocol="LTE/5G, proprietary OEM API"),
    )
    phase = Phase.ENVIRONMENT
    OBSERVABLES: ClassVar[tuple[str, ...]] = ("power_W", "plugged", "stored_kWh")

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.cfg: FleetBevConfig = config
        day_start = context.start_s - config.plan_hour * 3600.0
        sessions = [_on_grid(s, context.start_s, context.step_s)
                    for s in sample_fleet(context.rng, config.n_cars, day_start_s=day_start, plan_hour=config.plan_hour)]
        self.cars = [self._car(s, config.taper_charge_from_soc) for s in sessions]
        self._draw_deviations(context.rng)
        self._power_W = np.zeros(len(self.cars))
        self._outbox: asyncio.Queue[Publish] | None = None
        self.published = 0

    @staticmethod
    def _car(s: CarSession, taper_from: float) -> Car:
        params = battery.BatteryParams(
            capacity_Wh=s.capacity_Wh, max_charge_W=s.max_charge_power_W, max_discharge_W=s.max_discharge_power_W,
            charge_efficiency=s.charge_efficiency, discharge_efficiency=s.discharge_efficiency,
            taper_charge_from_soc=taper_from)
        state = battery.initial_state(params, s.soc)
        return Car(session=s, params=params, state=state, arrival_s=s.arrival_s, departure_s=s.departure_s,
                   initial_energy_Wh=state.energy_Wh)

    def _draw_deviations(self, rng: np.random.Generator) -> None:
        dev = self.cfg.deviations
        start = self.context.start_s
        # only cars with room for the deviation: a late car must still be able to reach its target
        late = [i for i, c in enumerate(self.cars) if c.arrival_s > start + 3600 and
                _spare_s(c.session) > dev.late_by_s + 3600]
        early = [i for i, c in enumerate(self.cars) if c.departure_s - dev.early_by_s > max(c.arrival_s, start) + 3600
                 and c.departure_s < self.context.end_s]
        chosen: set[int] = set()
        for pool, n, kind in ((late, dev.late_arrivals, "late_arrival"), (early, dev.early_unplugs, "early_unplug"),
                              ([i for i, c in enumerate(self.cars) if c.session.v2g_consent], dev.no_discharge,
                               "no_discharge")):
            free = [i for i in pool if i not in chosen]
            for i in rng.choice(free, size=min(n, len(free)), replace=False) if free and n else ():
                car = self.cars[int(i)]
                car.deviation = kind
                chosen.add(int(i))
                if kind == "late_arrival":
                    car.arrival_s += dev.late_by_s
                elif kind == "early_unplug":
                    car.departure_s -= dev.early_by_s

    def settings(self, car: Car) -> OwnerSettings:
        s = car.session
        return OwnerSettings(departure_s=s.departure_s, target_soc=s.target_soc,
                             min_soc_for_discharge=s.min_soc_for_discharge, v2g_consent=s.v2g_consent,
                             aggregator=self.cfg.aggregator)

    def status(self, car: Car, now: float) -> VehicleStatus:
        s = car.session
        away = not car.plugged
        return VehicleStatus(
            vin=s.car_id, time_s=now, soc=round(car.soc, 6), location=Location.AWAY if away else Location.HOME,
            plugged=car.plugged, capacity_Wh=s.capacity_Wh, max_charge_power_W=s.max_charge_power_W,
            max_discharge_power_W=s.max_discharge_power_W, charge_efficiency=s.charge_efficiency,
            discharge_efficiency=s.discharge_efficiency,
            eta_s=s.arrival_s if away and not car.gone else None,
            expected_arrival_soc=s.soc if away and not car.gone else None,
            settings=None if car.gone else self.settings(car))

    # -- trips -----------------------------------------------------------------------------
    def start(self, now: float) -> None:
        super().start(now)
        self._events(now)

    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        self._events(now)

    def _events(self, now: float) -> None:
        link = self.link("oem")
        for car in self.cars:
            changed = False
            if not car.plugged and not car.gone and car.arrival_s <= now < car.departure_s:
                car.plugged, changed = True, True
            elif car.plugged and now >= car.departure_s:
                car.plugged, car.gone, changed = False, True, True
                car.departure_soc = car.soc
            if link is not None and (changed or (car.plugged and now - car.last_report_s >= self.cfg.report_period_s)
                                     or car.last_report_s == -math.inf):
                car.last_report_s = now
                status = self.status(car, now)
                message = Publish(topic=topic(status.vin, "status"), payload=status.model_dump(mode="json"),
                                  retain=True)
                if self._outbox is not None:  # live: over MQTT to the OEM backend's broker
                    self._outbox.put_nowait(message)
                else:
                    link.request(message)

    async def serve(self, clock: Clock) -> None:
        """Live: the cars publish on the OEM backend's broker (I-02 over MQTT) instead of in memory."""
        link = self.link("oem")
        ready = getattr(link.peer, "ready", None) if link is not None else None
        if link is None or not isinstance(ready, asyncio.Event):
            return
        async with asyncio.timeout(60):
            await ready.wait()
        address = getattr(link.peer, "broker_address", None)
        if not isinstance(address, BrokerAddress):
            return
        self._outbox = asyncio.Queue()
        session = MqttSession(address, client_id=f"bidicharge-fleet-{self.name}")
        async with asyncio.TaskGroup() as tg:
            tg.create_task(session.run())
            while True:
                message = await self._outbox.get()
                await session.publish(message.topic, json.dumps(message.payload).encode(), retain=message.retain)
                self.published += 1

    # -- I-01: the park transfers energy -----------------------------------------------------
    def handle(self, port: str, message: object, link: Link) -> object:
        if isinstance(message, ChargeStep):
            return self.charge(message)
        return super().handle(port, message, link)

    def charge(self, message: ChargeStep) -> ChargeStepResult:
        if message.dt_s <= 0 and not message.setpoint_W:
            message = ChargeStep(dt_s=0.0, setpoint_W=tuple(0.0 for _ in self.cars))  # status only
        if len(message.setpoint_W) != len(self.cars):
            raise ValueError(f"ChargeStep for {len(message.setpoint_W)} EVSEs, the fleet has {len(self.cars)} cars")
        power = np.zeros(len(self.cars))
        for i, (car, want) in enumerate(zip(self.cars, message.setpoint_W, strict=True)):
            if not car.plugged or message.dt_s <= 0:
                continue
            if car.deviation == "no_discharge":
                want = max(want, 0.0)
            car.state, power[i] = battery.step(car.params, car.state, want, message.dt_s)
            car.min_soc_plugged = min(car.min_soc_plugged, car.soc)
            if power[i] < 0:
                car.min_soc_discharging = min(car.min_soc_discharging, car.soc)
                car.discharged_Wh += -power[i] * message.dt_s / 3600.0
        self._power_W = power
        limits = [battery.power_limits_W(c.params, c.state) for c in self.cars]
        return ChargeStepResult(
            vehicle_id=tuple(c.session.car_id for c in self.cars),
            plugged=tuple(c.plugged for c in self.cars),
            power_W=tuple(float(p) for p in power),
            soc=tuple(round(c.soc, 6) for c in self.cars),
            max_charge_power_W=tuple(lim[0] for lim in limits),
            max_discharge_power_W=tuple(lim[1] for lim in limits),
        )

    def observe(self) -> tuple[float, ...]:
        return (float(self._power_W.sum()), float(sum(c.plugged for c in self.cars)),
                sum(c.state.energy_Wh for c in self.cars) / 1e3)

    def report(self) -> dict[str, Any]:
        cars = []
        for c in self.cars:
            s = c.session
            cars.append({
                "car_id": s.car_id, "deviation": c.deviation, "v2g_consent": s.v2g_consent,
                "target_soc": s.target_soc, "min_soc_for_discharge": s.min_soc_for_discharge,
                "arrival_soc": s.soc, "announced_departure_s": s.departure_s, "departure_s": c.departure_s,
                "departed": c.gone, "departure_soc": c.departure_soc, "soc": c.soc,
                "min_soc_discharging": c.min_soc_discharging, "discharged_Wh": c.state.discharged_Wh,
                "charged_Wh": c.state.charged_Wh, "losses_Wh": c.state.losses_Wh,
                "initial_energy_Wh": c.initial_energy_Wh, "energy_Wh": c.state.energy_Wh,
            })
        return {"cars": cars}


def _on_grid(s: CarSession, start_s: float, step_s: float) -> CarSession:
    """Plug events happen at step boundaries: announce them there (arrival and departure rounded up)."""
    from dataclasses import replace

    def up(t: float) -> float:
        return start_s + math.ceil((t - start_s) / step_s - 1e-9) * step_s

    arrival = min(up(s.arrival_s), s.arrival_s) if s.arrival_s <= start_s else up(s.arrival_s)
    return replace(s, arrival_s=arrival, departure_s=max(up(s.departure_s), arrival + step_s))


def _spare_s(s: CarSession) -> float:
    """Plugged-in time the car does not need at full power to reach its target."""
    need_h = max(s.target_soc - s.soc, 0.0) * s.capacity_Wh / (s.charge_efficiency * max(s.max_charge_power_W, 1.0))
    return s.departure_s - s.arrival_s - need_h * 3600.0
