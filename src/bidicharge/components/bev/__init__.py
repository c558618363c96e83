"""BEV (C-BEV): the vehicle with its traction battery, its owner's settings and its trips.

Provides I-01 to the EVSE in two forms: ``charger_iso15118`` — ISO 15118-20 / IEC 61851-1, the
car's inlet with its EVCC (:mod:`.iso15118`) — and ``charger``, the older in-memory contract kept
for the year-long studies. When a trip
starts the car unplugs, the trip's energy leaves the battery, and whether the SoC met the
owner's departure target is recorded; it plugs in again on return.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bidicharge.components.bev.iso15118 import BevInlet, BevIso15118Config
from bidicharge.components.bev.iso15118_live import BevIso15118Live, timeout_factor_for
from bidicharge.components.interfaces.i01_vehicle import (
    EnergyTransfer,
    EnergyTransferResult,
    Iso15118InletRequest,
    VehicleStatus,
    VehicleStatusRequest,
)
from bidicharge.physics import battery, mobility
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import Link, provides


def _clock_s(text: str) -> float:
    try:
        hh, mm = text.split(":")
        h, m = int(hh), int(mm)
    except ValueError:
        raise ValueError(f"time of day must be 'HH:MM', got {text!r}") from None
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ValueError(f"time of day out of range: {text!r}")
    return h * 3600.0 + m * 60.0


class TripConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    days: list[str] = Field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])
    depart: str = "07:30"
    arrive: str = "17:30"
    distance_km: float = Field(50.0, ge=0)
    target_soc: float | None = Field(None, gt=0, le=1)

    @field_validator("days")
    @classmethod
    def _days(cls, v: list[str]) -> list[str]:
        bad = [d for d in v if d not in mobility.WEEKDAYS]
        if bad:
            raise ValueError(f"unknown weekday(s) {bad}; use {list(mobility.WEEKDAYS)}")
        return v

    @field_validator("depart", "arrive")
    @classmethod
    def _time(cls, v: str) -> str:
        _clock_s(v)
        return v


class BevConfig(ComponentConfig):
    capacity_kWh: float = Field(77.0, gt=0)
    initial_soc: float = Field(0.6, ge=0, le=1)
    max_charge_W: float = Field(11000.0, ge=0, description="on-board charger / inlet limit")
    max_discharge_W: float = Field(11000.0, ge=0)
    charge_efficiency: float = Field(0.94, gt=0, le=1)
    discharge_efficiency: float = Field(0.94, gt=0, le=1)
    consumption_Wh_per_km: float = Field(180.0, gt=0)
    departure_soc: float = Field(0.8, gt=0, le=1, description="owner's target at every departure")
    min_soc: float = Field(0.3, ge=0, lt=1, description="owner's minimum for discharging (V2H/V2G)")
    utc_offset_h: float = Field(1.0, ge=-12, le=14)
    trips: list[TripConfig] = Field(default_factory=lambda: [TripConfig()])
    iso15118: BevIso15118Config = Field(default_factory=BevIso15118Config, description="the EVCC (port charger_iso15118)")

    @model_validator(mode="after")
    def _soc_order(self) -> BevConfig:
        if self.min_soc >= self.departure_soc:
            raise ValueError(f"min_soc ({self.min_soc}) must be below departure_soc ({self.departure_soc})")
        return self


@component_type
class Bev(BevIso15118Live, Component):
    kind = "bev"
    catalogue_id = "C-BEV"
    Config = BevConfig
    PORTS = (
        provides("charger", "I-01", "in-memory", wire_protocol="ISO 15118-20 / IEC 61851"),
        provides("charger_iso15118", "I-01", "ISO 15118-20 / IEC 61851", description="the inlet: EVCC, control pilot"),
    )
    phase = Phase.ENVIRONMENT
    OBSERVABLES: ClassVar[tuple[str, ...]] = ("plugged_in", "soc", "power_W", "energy_Wh")

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.cfg: BevConfig = config
        self.params = battery.BatteryParams(
            capacity_Wh=config.capacity_kWh * 1000.0,
            max_charge_W=config.max_charge_W,
            max_discharge_W=config.max_discharge_W,
            charge_efficiency=config.charge_efficiency,
            discharge_efficiency=config.discharge_efficiency,
        )
        self.state = battery.initial_state(self.params, config.initial_soc)
        trips = tuple(
            mobility.Trip(
                days=tuple(mobility.WEEKDAYS.index(d) for d in t.days),
                depart_s=_clock_s(t.depart),
                arrive_s=_clock_s(t.arrive),
                distance_km=t.distance_km,
                target_soc=t.target_soc,
            )
            for t in config.trips
        )
        self.events = mobility.occurrences(trips, context.start_s, context.end_s, config.utc_offset_h * 3600.0)
        self._next = 0
        self._away_until: float | None = None
        self.plugged_in = True
        self.power_W = 0.0
        self.departures: list[dict[str, Any]] = []
        self.driven_Wh = 0.0
        self.stranded_Wh = 0.0
        self.inlet: BevInlet | None = None

    def start(self, now: float) -> None:
        super().start(now)
        if self.inbound.get("charger_iso15118"):
            self.inlet = BevInlet(self, self.cfg.iso15118, step_s=self.context.step_s,
                                  timeout_factor=timeout_factor_for(self.context.clock))
            if self.plugged_in:
                self.inlet.plug_in(now)

    # -- the owner's view ------------------------------------------------------------------
    def next_departure(self) -> mobility.TripEvent | None:
        return self.events[self._next] if self._next < len(self.events) else None

    def target_soc(self, event: mobility.TripEvent | None) -> float | None:
        if event is None:
            return None
        return event.trip.target_soc if event.trip.target_soc is not None else self.cfg.departure_soc

    @property
    def soc(self) -> float:
        return self.state.energy_Wh / self.params.capacity_Wh

    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        self.power_W = 0.0
        if self._away_until is not None and now >= self._away_until:
            self._away_until = None
            self.plugged_in = True
            if self.inlet is not None:
                self.inlet.plug_in(now)
        event = self.next_departure()
        while event is not None and event.depart_at_s <= now:
            target = self.target_soc(event)
            assert target is not None
            soc = self.soc
            self.departures.append(
                {"depart_s": event.depart_at_s, "soc": soc, "target_soc": target, "met": soc >= target - 1e-3}
            )
            need = event.trip.distance_km * self.cfg.consumption_Wh_per_km
            self.state, short = battery.drain(self.params, self.state, need)
            self.driven_Wh += need - short
            self.stranded_Wh += short
            self.plugged_in = False
            if self.inlet is not None:
                self.inlet.leave(now)  # SessionStop, then the plug comes out
            self._away_until = event.arrive_at_s
            self._next += 1
            event = self.next_departure()

    def observe(self) -> tuple[float, ...]:
        return (1.0 if self.plugged_in else 0.0, self.soc, self.power_W, self.state.energy_Wh)

    # -- I-01 ------------------------------------------------------------------------------
    def status(self) -> VehicleStatus:
        max_c, max_d = battery.power_limits_W(self.params, self.state)
        if self.soc <= self.cfg.min_soc:
            max_d = 0.0
        event = self.next_departure()
        return VehicleStatus(
            plugged_in=self.plugged_in,
            soc=self.soc,
            capacity_Wh=self.params.capacity_Wh,
            max_charge_W=max_c if self.plugged_in else 0.0,
            max_discharge_W=max_d if self.plugged_in else 0.0,
            departure_s=event.depart_at_s if event is not None else None,
            target_soc=self.target_soc(event),
            min_soc=self.cfg.min_soc,
            charge_efficiency=self.params.charge_efficiency,
            discharge_efficiency=self.params.discharge_efficiency,
        )

    def transfer(self, power_W: float, duration_s: float) -> float:
        if not self.plugged_in:
            return 0.0
        if power_W < 0:
            # never below the owner's minimum: limit the discharge to the energy above it
            above_Wh = max(0.0, self.state.energy_Wh - self.cfg.min_soc * self.params.capacity_Wh)
            max_out_W = above_Wh * self.params.discharge_efficiency * 3600.0 / duration_s
            power_W = max(power_W, -max_out_W)
        self.state, accepted = battery.step(self.params, self.state, power_W, duration_s)
        self.power_W += accepted
        return accepted

    def handle(self, port: str, message: object, link: Link) -> object:
        if isinstance(message, VehicleStatusRequest):
            return self.status()
        if isinstance(message, Iso15118InletRequest) and self.inlet is not None:
            return self.inlet
        if isinstance(message, EnergyTransfer):
            accepted = self.transfer(message.power_W, message.duration_s)
            return EnergyTransferResult(power_W=accepted, soc=self.soc)
        return super().handle(port, message, link)

    def report(self) -> dict[str, Any]:
        return {
            "departures": list(self.departures),
            "charged_Wh": self.state.charged_Wh,
            "discharged_Wh": self.state.discharged_Wh,
            "losses_Wh": self.state.losses_Wh,
            "driven_Wh": self.driven_Wh,
            "stranded_Wh": self.stranded_Wh,
            "equivalent_full_cycles": battery.equivalent_full_cycles(self.params, self.state),
            "capacity_Wh": self.params.capacity_Wh,
            "trips": [
                (e.depart_at_s, e.arrive_at_s, e.trip.distance_km * self.cfg.consumption_Wh_per_km) for e in self.events
            ],
        }
