"""The HEMS follows an aggregator's schedule for its car (issue 8: home-charged cars in a pool).

A technical aggregator steers the car through the HEMS backend (I-14 with the backend in the
CPO role, ``interfaces/i14_hems_aggregator.py``); the backend hands the accepted schedule to
the HEMS on I-06 (MQTT ``…/aggregator_schedule``, retained; in a study in memory). A mixin of
the `Hems` component.

How it enters the strategy — a setpoint override, not an MPC constraint: while a schedule is
in force (from its start while the car stays plugged in; unplugging ends it, an empty one
withdraws it) its setpoint replaces the EV part of whatever the strategy decided (`mpc`,
`rules`, `evcc`, `none`); the house battery keeps its own plan. The aggregator has already
optimised the car against the market, so re-optimising it at home would only fight the pool;
an override also works the same for every strategy. The owner's rules stay hard limits
(``control.hems_schedule_follow``: consent, minimum SoC, departure target, power limits), then
§14a clips as for every setpoint. When the command differs from the schedule, the HEMS says
why in its state (``aggregator_deviation``) and as an event; the backend passes it to the
aggregator, which sees the car's measured power off its setpoint and re-dispatches the rest
of the pool.

Timing in a study: the backend hands a new schedule over the moment it accepts it; a HEMS
that has already run its control cycle at that time decides its car's setpoint again at once
(as a live HEMS does at its next control period). List the HEMS before the aggregator in the
scenario, so that the state it reports at a step is measured before the aggregator reads it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bidicharge.components.hems.chargers import plannable, split
from bidicharge.components.interfaces.i06_hems_backend import (
    AggregatorSchedule,
    HemsEvent,
    HemsRetained,
    HemsSettings,
    HemsState,
    HemsSubscribe,
    next_departure_s,
)
from bidicharge.control.hems_schedule_follow import CarAtHome, follow_schedule

if TYPE_CHECKING:
    from bidicharge.components.hems import HemsConfig
    from bidicharge.components.interfaces.i03_energy_manager import ChargerStatus
    from bidicharge.control import home_rule
    from bidicharge.runtime.component import RunContext
    from bidicharge.runtime.ports import Link

log = logging.getLogger(__name__)


class HemsAggregatorSchedule:
    cfg: HemsConfig
    now: float
    context: RunContext
    settings: home_rule.RuleSettings
    user_settings: HemsSettings | None
    limit_14a_W: float | None
    ev_setpoint_W: float
    battery_setpoint_W: float
    _live: bool

    if TYPE_CHECKING:  # provided by Component, Hems and the other mixins
        def link(self, port: str) -> Link | None: ...

        def apply_settings(self, settings: HemsSettings) -> None: ...

        def _publish(self, message: HemsState | HemsEvent) -> None: ...

        def _send_setpoint(self, link: Link, power_W: float, now: float) -> None: ...

        def _clip_14a(self, ev_sp: float, bat_sp: float, reason: str, cs: ChargerStatus | None, house_W: float,
                      pv_W: float) -> tuple[float, float, str]: ...

    def _aggregator_init(self) -> None:
        self.aggregator_schedule: AggregatorSchedule | None = None
        self.aggregator_setpoint_W: float | None = None
        self.aggregator_deviation = ""
        self.aggregator_stats: dict[str, Any] = {"schedules": 0, "refused": 0, "cycles_in_force": 0, "clipped": {}}
        self._subscribed = False
        self._cycle: tuple[float, list[tuple[Link, ChargerStatus | None]], ChargerStatus | None, float, float] | None = None

    # -- I-06 from the backend --------------------------------------------------------------
    def _subscribe(self) -> None:
        """Study mode: ask the backend once for the retained settings and schedule."""
        backend = self.link("backend")
        if self._subscribed or self._live or backend is None:
            return
        self._subscribed = True
        retained = backend.request(HemsSubscribe(site=self.cfg.site))
        if isinstance(retained, HemsRetained):
            for message in (retained.settings, retained.schedule):
                if message is not None:
                    self.on_backend_message(message, self.now)

    def on_backend_message(self, message: HemsSettings | AggregatorSchedule, now: float) -> None:
        """A retained message from the backend (settings or an aggregator's schedule)."""
        if isinstance(message, HemsSettings):
            self.apply_settings(message)
            return
        if message.site != self.cfg.site:
            self.aggregator_stats["refused"] += 1
            log.warning("HEMS %s: refused a schedule for site %r", self.cfg.site, message.site)
            return
        self.aggregator_schedule = message if message.periods else None
        self.aggregator_stats["schedules"] += 1
        if self._cycle is not None and self._cycle[0] == now:
            self._decide_again()

    # -- the override ---------------------------------------------------------------------------
    def _follow_aggregator(self, now: float, cs: ChargerStatus | None, ev_sp: float, reason: str,
                           per_charger: list[tuple[Link, ChargerStatus | None]], house_W: float,
                           pv_W: float) -> tuple[float, str]:
        """The EV setpoint (vehicle side) with the schedule in force, within the owner's limits."""
        self._cycle = (now, per_charger, cs, house_W, pv_W)
        requested = self.aggregator_schedule.setpoint_at(now) if self.aggregator_schedule is not None else None
        if cs is None or not plannable(cs):
            self.aggregator_schedule = None  # unplugged: the schedule ends with the plug-in session
            requested = None
        self.aggregator_setpoint_W = requested
        self.aggregator_deviation = ""
        if requested is None:
            return ev_sp, reason
        assert cs is not None and cs.soc is not None and cs.capacity_Wh is not None
        eta = cs.stage_efficiency  # the status's powers are the car's side, its efficiencies grid to cells
        hold_s = max(self.cfg.control_period_s, self.context.step_s)
        car = CarAtHome(
            soc=cs.soc, capacity_Wh=cs.capacity_Wh, max_charge_W=cs.max_charge_W / eta,
            max_discharge_W=cs.max_discharge_W * eta, charge_efficiency=cs.charge_efficiency,
            discharge_efficiency=cs.discharge_efficiency,
            target_soc=self.user_settings.target_soc if self.user_settings else (cs.target_soc or 0.8),
            departure_s=self._departure_s(now, cs), min_soc=max(self.settings.reserve_soc, cs.min_soc or 0.0),
            v2g_consent=self.settings.v2g, min_power_W=cs.min_power_W / eta, measured_W=cs.grid_power_W,
            measured_for_s=hold_s)
        followed = follow_schedule(requested, car, now_s=now, hold_s=hold_s)
        grid = followed.power_W
        self.aggregator_deviation = followed.reason
        return (grid * eta if grid >= 0 else grid / eta), "aggregator"

    def _departure_s(self, now: float, cs: ChargerStatus) -> float | None:
        """The earliest departure known: the car's (ISO 15118) and the owner's setting."""
        times = [t for t in (cs.departure_s,) if t is not None]
        if self.user_settings is not None:
            times.append(next_departure_s(self.user_settings.departure_time, now, self.cfg.timezone))
        return min(times) if times else None

    def _after_14a(self, ev_sp: float, reason: str, cs: ChargerStatus | None, *, again: bool = False) -> None:
        """Record how the command compares with the schedule (after §14a); report a new deviation."""
        if self.aggregator_setpoint_W is None:
            return
        stats = self.aggregator_stats
        stats["cycles_in_force"] += 0 if again else 1
        if reason == "limited_14a":
            self.aggregator_deviation = "§14a limit"
        if self.aggregator_deviation:
            clipped = stats["clipped"]
            clipped[self.aggregator_deviation] = clipped.get(self.aggregator_deviation, 0) + 1
            eta = cs.stage_efficiency if cs is not None else 1.0
            grid = ev_sp / eta if ev_sp >= 0 else ev_sp * eta
            if stats.get("last_deviation") != self.aggregator_deviation:
                self._publish(HemsEvent(
                    site=self.cfg.site, time_s=self.now, level="warning",
                    message=f"aggregator schedule asks {self.aggregator_setpoint_W:.0f} W, commanded {grid:.0f} W: "
                            f"{self.aggregator_deviation}"))
        stats["last_deviation"] = self.aggregator_deviation

    def _decide_again(self) -> None:
        """A new schedule after this step's control cycle: the car's setpoint again, at once."""
        assert self._cycle is not None
        now, per_charger, cs, house_W, pv_W = self._cycle
        ev_sp, reason = self._follow_aggregator(now, cs, self.ev_setpoint_W, "aggregator", per_charger, house_W, pv_W)
        if self.limit_14a_W is not None:
            ev_sp, _, reason = self._clip_14a(ev_sp, self.battery_setpoint_W, reason, cs, house_W, pv_W)
        self._after_14a(ev_sp, reason, cs, again=True)
        self.ev_setpoint_W = ev_sp
        for link, share_W in split(ev_sp, per_charger, now, self.settings):
            self._send_setpoint(link, share_W, now)

    def aggregator_report(self) -> dict[str, Any]:
        stats = dict(self.aggregator_stats)
        stats.pop("last_deviation", None)
        return stats
