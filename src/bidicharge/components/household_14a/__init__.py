"""A home with one §14a controllable device, standing in for HEMS + wallbox (kind
``household_14a``, C-HEMS) until the integrator wires the real HEMS behind the control unit.

It is the *provider* of the I-09 contract (`interfaces.i09_control_unit`): it takes a
`PowerLimit` (EEBUS LPC semantics), SPINE datagrams for its LPC Controllable System
(`protocols.spine`, failsafe 4.2 kW when the control unit's heartbeat is lost) or a
`ContactState` (relay contacts of a control unit,
or of a ripple receiver on I-28) and limits its controllable device's grid draw to it,
answering with `GridGuardStatus` (applied, consumption, demand). A limit lapses at
`issued_s + duration_s` (the control unit renews it before).

Physics, per step: a household base load (mean `base_load_W`, seeded noise) plus a car that
arrives at `car_arrives_at` needing `car_energy_Wh` and charges at up to `car_power_W`
(`car_phases` phases), below the limit in force. The home tells its meter what it draws
(I-47 link: the meter measures the home behind it) and is a connection point of the grid
(I-38).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from bidicharge.components.control_unit.spine_link import deliver, outgoing
from bidicharge.components.interfaces.i09_control_unit import (
    ContactState,
    GridGuardStatus,
    PowerLimit,
    SpineDatagrams,
    StatusRequest,
)
from bidicharge.protocols.spine import LocalDevice, SpineNode
from bidicharge.protocols.spine.usecases import ControllableSystem, Direction, PowerLimitConfig
from bidicharge.protocols.spine.usecases.lpc import PowerLimitChanged
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import ELECTRICAL, Link, provides, requires
from bidicharge.runtime.scenario import parse_time_s


class Household14aConfig(ComponentConfig):
    household_id: str  # the grid model's connection point, e.g. "loadbus_1_1"
    base_load_W: float = Field(2000.0, ge=0)
    base_noise: float = Field(0.1, ge=0, le=1)  # relative standard deviation per step
    car_power_W: float = Field(0.0, ge=0)  # 0: no controllable device
    car_phases: int = Field(3, ge=1, le=3)
    car_arrives_at: str | None = None
    car_energy_Wh: float = Field(30_000.0, ge=0)
    contact_steps_W: tuple[float, ...] = (4200.0,)  # relay input: step k -> limit (I-09 relay / I-28)


@component_type
class Household14a(Component):
    kind = "household_14a"
    catalogue_id = "C-HEMS"
    ACTS_AS = ("C-GCP",)  # the stand-in is the whole home, its connection point included
    Config = Household14aConfig
    PORTS = (
        provides("grid_guard", "I-09", "in-memory", wire_protocol="EEBUS LPC / relay contacts"),
        provides("relay_input", "I-28", "potential-free contact"),
        requires("meter", "I-47", "in-memory", wire_protocol="SMGW HAN (TR-03109)"),
        requires("grid", "I-38", ELECTRICAL),
    )
    phase = Phase.ACTUATION
    OBSERVABLES: ClassVar[tuple[str, ...]] = ("grid_power_W", "car_power_W", "limit_W", "car_energy_Wh")

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.arrives_s = parse_time_s(config.car_arrives_at) if config.car_arrives_at else None
        self.limit_W: float | None = None
        self.limit_until_s: float | None = None
        self.contact_limit_W: float | None = None
        self.car_power_W = 0.0
        self.car_delivered_Wh = 0.0
        self.base_W = config.base_load_W
        self.grid_power_W = self.base_W
        self.min_car_power_seen_while_limited_W: float | None = None
        self.limits_received: list[float | None] = []
        self.spine: SpineNode | None = None
        self.lpc: ControllableSystem | None = None

    # -- control (I-09 / I-28) ---------------------------------------------------------
    def effective_limit_W(self, now: float) -> float | None:
        if self.limit_W is not None and self.limit_until_s is not None and now >= self.limit_until_s:
            self.limit_W = self.limit_until_s = None  # lapsed without renewal: back to unlimited
        lpc = None if self.lpc is None else self.lpc.limit_W(Direction.CONSUME)
        limits = [x for x in (self.limit_W, self.contact_limit_W, lpc) if x is not None]
        return min(limits) if limits else None

    def demand_W(self, now: float) -> float:
        cfg = self.config
        if self.arrives_s is None or now < self.arrives_s or self.car_delivered_Wh >= cfg.car_energy_Wh:
            return 0.0
        return float(cfg.car_power_W)

    def status(self) -> GridGuardStatus:
        now = self.context.clock.now() if self.context.clock is not None else self.now
        return GridGuardStatus(applied=True, limit_W=self.effective_limit_W(now), consumption_W=self.car_power_W,
                               demand_W=self.demand_W(now))

    def handle(self, port: str, message: object, link: Link) -> object:
        if isinstance(message, PowerLimit):
            self.limits_received.append(message.limit_W)
            self.limit_W = message.limit_W
            self.limit_until_s = (None if message.limit_W is None or message.duration_s is None
                                  else message.issued_s + message.duration_s)
            return self.status()
        if isinstance(message, ContactState):
            steps = self.config.contact_steps_W
            if not 0 <= message.step <= len(steps):
                return GridGuardStatus(applied=False, limit_W=self.contact_limit_W, consumption_W=self.car_power_W,
                                       demand_W=self.demand_W(self.now))
            self.contact_limit_W = None if message.step == 0 else steps[message.step - 1]
            self.limits_received.append(self.contact_limit_W)
            return self.status()
        if isinstance(message, StatusRequest):
            return self.status()
        if isinstance(message, SpineDatagrams):
            return self._spine(message, link.local.name)
        return super().handle(port, message, link)

    def _spine(self, message: SpineDatagrams, peer: str) -> SpineDatagrams:
        now = self.context.clock.now() if self.context.clock is not None else self.now
        if self.spine is None:
            device = LocalDevice(f"d:_i:bidicharge_{self.name}", "EnergyManagementSystem")
            self.spine = SpineNode(device)
            rated = max(self.config.car_power_W, 1.0)
            self.lpc = ControllableSystem(self.spine, device.add_entity("CEM"), now=now, consumption=PowerLimitConfig(
                nominal_max_W=rated, failsafe_limit_W=min(4200.0, rated), contractual_nominal_max_W=rated))
            self.spine.connect(peer, now)
        deliver(self.spine, peer, message, now)
        assert self.lpc is not None
        for event in self.lpc.events():
            if isinstance(event, PowerLimitChanged):
                self.limits_received.append(event.limit_W)
        return SpineDatagrams(datagrams=outgoing(self.spine, peer))

    # -- physics -----------------------------------------------------------------------
    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        if self.lpc is not None and self.spine is not None:
            self.lpc.step(now)  # heartbeat watchdog, limit expiry, failsafe end
            self.spine.handle_timeout(now)
        cfg = self.config
        noise = float(self.context.rng.normal(1.0, cfg.base_noise)) if cfg.base_noise > 0 else 1.0
        self.base_W = max(0.0, cfg.base_load_W * noise)
        demand = self.demand_W(now)
        limit = self.effective_limit_W(now)
        power = demand if limit is None else min(demand, limit)
        remaining_Wh = max(cfg.car_energy_Wh - self.car_delivered_Wh, 0.0)
        power = min(power, remaining_Wh * 3600.0 / dt_s)
        self.car_power_W = power
        self.car_delivered_Wh += power * dt_s / 3600.0
        if limit is not None and demand > 0:
            seen = self.min_car_power_seen_while_limited_W
            self.min_car_power_seen_while_limited_W = power if seen is None else min(seen, power)
        self.grid_power_W = self.base_W + power
        meter_link = self.link("meter")
        if meter_link is not None:
            meter_link.peer.measure(now, self.grid_power_W, dt_s)  # type: ignore[attr-defined]

    def observe(self) -> tuple[float, ...]:
        limit = self.effective_limit_W(self.now)
        return (self.grid_power_W, self.car_power_W, float("nan") if limit is None else limit, self.car_delivered_Wh)

    def report(self) -> dict[str, Any]:
        return {
            "car_delivered_Wh": self.car_delivered_Wh,
            "car_energy_Wh": self.config.car_energy_Wh if self.arrives_s is not None else 0.0,
            "min_car_power_while_limited_W": self.min_car_power_seen_while_limited_W,
            "limits_received": list(self.limits_received),
        }
