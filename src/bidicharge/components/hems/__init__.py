"""(H)EMS (C-HEMS): coordinates the wallbox, the home battery and PV with the dynamic tariff.

Every `control_period_s` it reads the meter (I-47), the chargers (I-03), the plants (I-08)
and the prices (I-45), runs its strategy and sends setpoints. Strategies:

- `mpc`: the model-predictive optimiser (`control.hems_mpc`, HiGHS), re-planned every
  `replan_period_s` over `horizon_h`, followed by `control.hems_rules.follow_plan`, with the
  fallback rule when the solver fails (see `planner.py`);
- `rules`: the first rule-based HEMS (`control.home_rule`);
- `evcc`: evcc's PV-surplus mode, charge only (the peer baseline);
- `none`: no control — the car charges at full power on arrival, the battery does
  self-consumption.
In live mode it also fetches prices over REST and talks MQTT with its backend (`live.py`).

I-03 and I-09 speak EEBUS (`eebus.py`): a wallbox wired on its `eebus` port is read and
commanded as the CEM (OPEV obligation, discharge extension), and an Energy Guard wired to
`grid_guard` limits the HEMS's controllable devices (LPC, §14a): the `mpc` strategy plans with
the limit (`import_limit_14a_W`), every strategy's setpoints are clipped to it. A wallbox wired
on the older in-memory `energy_manager` port is still served in memory. Several wallboxes: the
strategies plan their cars as one, the setpoint is shared by need (`chargers.py`). I-47 speaks
EEBUS MGCP when `meter` is wired to the meter's `eebus` port (else the in-memory HAN contract).

An aggregator's schedule for the car (from the backend on I-06) overrides the EV part of the
strategy's decision while it is in force, within the owner's hard limits (minimum SoC,
departure target, V2G consent) and §14a; what the HEMS cannot follow it reports back with the
reason (`aggregator_schedule.py`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from bidicharge.components.hems.aggregator_schedule import HemsAggregatorSchedule
from bidicharge.components.hems.chargers import aggregate, split
from bidicharge.components.hems.eebus import HemsEebus, OwnerEvConfig
from bidicharge.components.hems.eebus_live import HemsEebusLive
from bidicharge.components.hems.live import HemsLive
from bidicharge.components.hems.planner import MpcPlanner, Oracle, PlannerSettings
from bidicharge.components.hems.plants_live import PlantsLive
from bidicharge.components.interfaces.i03_energy_manager import ChargerStatus
from bidicharge.components.interfaces.i06_hems_backend import HemsSettings, HemsState
from bidicharge.components.interfaces.i08_plants import (
    BatterySetpoint,
    BatteryStatus,
    PlantStatusRequest,
    PvStatus,
)
from bidicharge.components.interfaces.i45_tariff import PriceRequest, PriceSchedule
from bidicharge.components.interfaces.i47_han import MeterReading
from bidicharge.control import hems_rules, home_rule
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import Link, requires

STRATEGIES = ("mpc", "rules", "evcc", "none")
log = logging.getLogger(__name__)


class HemsConfig(ComponentConfig):
    strategy: str = Field("rules", pattern="^(mpc|rules|evcc|none)$")
    control_period_s: float = Field(60.0, gt=0)
    v2h: bool = True
    v2g: bool = False
    reserve_soc: float = Field(0.5, ge=0, le=1, description="the car is not discharged below this for V2H")
    wear_EUR_per_kWh: float = Field(0.03, ge=0, description="battery-wear cost per kWh cycled")
    price_refresh_s: float = Field(3600.0, gt=0)
    # model-predictive strategy
    replan_period_s: float = Field(900.0, gt=0)
    plan_step_s: float = Field(900.0, gt=0)
    horizon_h: float = Field(36.0, ge=1, le=24 * 400)
    forecast: str = Field("persistence", pattern="^(perfect|persistence|noisy)$")
    forecast_noise: float = Field(0.25, ge=0, le=2)
    # backend
    site: str = Field("home", pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="site id towards the backend")
    timezone: str = Field("Europe/Berlin", description="where the owner's HH:MM departure time is meant")
    publish_period_s: float = Field(300.0, gt=0, description="how often the state goes to the backend")
    broker: str | None = Field(None, description="live mode without a wired backend: mqtt://host:port")
    # EEBUS (I-03 to wallboxes on their `eebus` port, I-09 from an Energy Guard on `grid_guard`)
    ev: OwnerEvConfig = Field(default_factory=lambda: OwnerEvConfig.model_validate({}), description="owner's settings for the car (EEBUS)")
    failsafe_limit_W: float = Field(4200.0, ge=0, description="LPC failsafe limit announced to the Energy Guard")
    contractual_max_W: float = Field(24000.0, gt=0, description="LPC contractual nominal max of the controllable devices")
    eebus_state_dir: str | None = Field(None, description="live mode: keeps the SHIP identity (our SKI)")
    eebus_devices: tuple[str, ...] = Field(
        (), description="live mode: EEBUS wallboxes outside the scenario, '<ski>@host:port' (trusted by being listed)"
    )


@component_type
class Hems(HemsAggregatorSchedule, HemsEebusLive, HemsLive, PlantsLive, Component):
    kind = "hems"
    catalogue_id = "C-HEMS"
    Config = HemsConfig
    PORTS = (
        requires("chargers", "I-03", "EEBUS SPINE", many=True, optional=True,
                 description="wallboxes' `eebus` ports (EEBUS) or in-memory `energy_manager` ports; all commanded"),
        requires("grid_guard", "I-09", "EEBUS SPINE", optional=True,
                 description="an Energy Guard (LPC) that limits the controllable devices (§14a)"),
        requires("plants", "I-08", "SunSpec Modbus/TCP", many=True, optional=True),
        requires("meter", "I-47", "EEBUS SPINE", wire_protocol="SMGW HAN",
                 description="the meter side's `eebus` port (EEBUS MGCP) or its in-memory `han` port"),
        requires("tariff", "I-45", "REST (OpenAPI)", optional=True),
        requires("backend", "I-06", "MQTT", optional=True),
    )
    phase = Phase.CONTROL
    OBSERVABLES: ClassVar[tuple[str, ...]] = ("ev_setpoint_W", "battery_setpoint_W")

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.cfg: HemsConfig = config
        self.settings = home_rule.RuleSettings(
            v2h=config.v2h, v2g=config.v2g, reserve_soc=config.reserve_soc, wear_EUR_per_kWh=config.wear_EUR_per_kWh
        )
        self._next_control = context.start_s
        self._next_replan = context.start_s
        self._prices: PriceSchedule | None = None
        self._prices_until = -1.0
        self.ev_setpoint_W = 0.0
        self.battery_setpoint_W = 0.0
        self.reasons: dict[str, int] = {}
        # persistence forecast of the PV surplus for the rule: what was spare in the same slot
        # of the day, one day earlier (slots of one control period; unvisited slots count as 0)
        self._slot_s = config.control_period_s
        self._surplus_Wh = np.zeros(max(1, round(86400.0 / config.control_period_s)))
        self._feed_in: float | None = None
        self._next_publish = context.start_s
        self._live = False
        self._outbox: asyncio.Queue[tuple[str, bytes, bool]] | None = None
        self.user_settings: HemsSettings | None = None
        self.settings_rejected = 0
        self.planner: MpcPlanner | None = None
        self._evcc_state = hems_rules.EvccState()
        self._plants_init()
        self.faults: dict[str, str] = {}
        self.eebus: HemsEebus | None = None
        self.limit_14a_W: float | None = None
        self._aggregator_init()

    # -- the owner's settings (from the app, through the backend) -----------------------------
    def apply_settings(self, settings: HemsSettings) -> None:
        self.user_settings = settings
        self.settings = home_rule.RuleSettings(
            v2h=settings.v2h,
            v2g=settings.v2g_consent,
            reserve_soc=settings.min_soc_v2h,
            wear_EUR_per_kWh=self.cfg.wear_EUR_per_kWh,
        )

    # -- set-up ------------------------------------------------------------------------------
    def start(self, now: float) -> None:
        super().start(now)
        self._eebus_start(now)
        if self.cfg.strategy == "mpc":
            whole_span = self.cfg.horizon_h * 3600.0 >= self.context.end_s - self.context.start_s
            steps = round(self.cfg.horizon_h * 3600.0 / self.cfg.plan_step_s)
            if whole_span:
                steps = round((self.context.end_s - now) / self.cfg.plan_step_s)
                self._next_replan = float("inf")  # one plan for the whole span, made at the first step
            self.planner = MpcPlanner(
                PlannerSettings(
                    step_s=self.cfg.plan_step_s,
                    horizon_steps=steps,
                    forecast=self.cfg.forecast,
                    noise_relative_std=self.cfg.forecast_noise,
                    wear_EUR_per_kWh=self.cfg.wear_EUR_per_kWh,
                ),
                self.context.rng,
                self._study_oracle(now, steps) if self.cfg.forecast != "persistence" else None,
            )
            self._whole_span = whole_span

    def _study_oracle(self, now: float, horizon_steps: int) -> Oracle | None:
        """The realised PV and house-load series of the plants behind the meter — known only in
        a study (the simulator knows the future); used by the `perfect` and `noisy` forecasts."""
        meter = self.link("meter")
        if meter is None:
            return None
        pv_parts, load_parts = [], []
        for link in meter.peer.peers("plants"):
            kind = type(link.peer).kind
            series = getattr(link.peer, "_series", None)
            if series is None and hasattr(link.peer, "compute"):
                link.peer.start(now)  # type: ignore[attr-defined]
                series = link.peer._series  # type: ignore[attr-defined]
            if series is None:
                continue
            if kind == "pv_system":
                pv_parts.append(series)
            elif kind in ("household_load", "heat_pump"):
                load_parts.append(series)
        ctx = self.context
        n_study = round((ctx.end_s - ctx.start_s) / ctx.step_s)
        zero = np.zeros(n_study)
        pv = sum(pv_parts, zero)
        load = sum(load_parts, zero)
        k = max(1, round(self.cfg.plan_step_s / ctx.step_s))
        n_plan = n_study // k
        pv_p = np.asarray(pv[: n_plan * k], dtype=np.float64).reshape(n_plan, k).mean(axis=1)
        load_p = np.asarray(load[: n_plan * k], dtype=np.float64).reshape(n_plan, k).mean(axis=1)
        pad = horizon_steps + 2  # beyond the study: repeat the last day
        day = max(1, round(86400.0 / self.cfg.plan_step_s))
        pv_p = np.concatenate([pv_p, np.resize(pv_p[-day:], pad)])
        load_p = np.concatenate([load_p, np.resize(load_p[-day:], pad)])
        return Oracle(ctx.start_s, self.cfg.plan_step_s, pv_p, load_p)

    def _vehicle_oracle(self, now: float, n: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Study only, `perfect` forecast: the car's real trips over the horizon (plugged mask
        and trip energy per plan step), read from the vehicle behind the wallbox."""
        chargers = self.peers("chargers")
        if len(chargers) != 1:  # several cars: planned as one by their status, not by their trips
            return None
        vehicle_link = chargers[0].peer.link("vehicle")
        bev = vehicle_link.peer if vehicle_link is not None else None
        events = getattr(bev, "events", None)
        if bev is None or events is None:
            return None
        step = self.cfg.plan_step_s
        times = now + step * np.arange(n)
        plugged = np.ones(n, dtype=bool)
        trip = np.zeros(n)
        for ev in events:
            if ev.arrive_at_s <= now or ev.depart_at_s >= times[-1] + step:
                continue
            away = (times + step > ev.depart_at_s) & (times < ev.arrive_at_s)
            plugged &= ~away
            k = int(np.clip((ev.depart_at_s - now) // step, 0, n - 1))
            trip[k] += ev.trip.distance_km * bev.cfg.consumption_Wh_per_km  # type: ignore[attr-defined]
        return plugged, trip

    # -- the rule's PV-surplus memory --------------------------------------------------------
    def _slot(self, t: float) -> int:
        return int((t % 86400.0) // self._slot_s) % len(self._surplus_Wh)

    def _surplus_forecast_Wh(self, now: float, until_s: float | None) -> float:
        horizon = (until_s if until_s is not None else now + 86400.0) - now
        slots = self._surplus_Wh
        if horizon >= 86400.0:
            return float(slots.sum()) * horizon / 86400.0
        i = self._slot(now) + 1
        j = i + int(horizon // self._slot_s)
        if j <= len(slots):
            return float(slots[i:j].sum())
        return float(slots[i:].sum() + slots[: j - len(slots)].sum())

    def _refresh_prices(self, now: float) -> PriceSchedule | None:
        tariff = self.link("tariff")
        if tariff is None:
            return None
        if not self._live and (self._prices is None or now >= self._prices_until):
            horizon = max(36 * 3600.0, self.cfg.horizon_h * 3600.0 if self.cfg.strategy == "mpc" else 0.0)
            self._prices = tariff.request(PriceRequest(from_s=now, to_s=now + horizon))
            self._prices_until = now + self.cfg.price_refresh_s
            self._feed_in = self._prices.feed_in_EUR_per_kWh
        return self._prices

    def _price_view(self, now: float, departure_s: float | None) -> tuple[float | None, float | None]:
        ps = self._refresh_prices(now)
        if ps is None:
            return None, None
        self._feed_in = ps.feed_in_EUR_per_kWh
        i = int((now - ps.start_s) // ps.step_s)
        if not 0 <= i < len(ps.import_EUR_per_kWh):
            return None, None
        end = departure_s if departure_s is not None else now + 24 * 3600.0
        j = max(i + 1, min(len(ps.import_EUR_per_kWh), int((end - ps.start_s) // ps.step_s)))
        return ps.import_EUR_per_kWh[i], min(ps.import_EUR_per_kWh[i:j])

    # -- one control cycle -------------------------------------------------------------------
    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        self._subscribe()  # the backend's retained settings and aggregator schedule (study mode)
        if self.eebus is not None:
            self._eebus_tick(now)
        if now < self._next_control:
            return
        self._next_control = now + self.cfg.control_period_s
        reading = self._meter_reading()
        if reading is None:  # MGCP has not told us the grid power yet (live: the meter not yet paired)
            self._next_control = now
            return
        per_charger = [(link, self._charger_status(link)) for link in self.peers("chargers")]
        cs = aggregate([status for _, status in per_charger if status is not None])  # chargers.py
        limit_14a = self.eebus.import_limit_14a_W() if self.eebus is not None else None
        # The wallboxes' own standby counts against the allowance (the limit bounds the controllable
        # device's whole draw) but the meter cannot tell it from the house load: keep it aside.
        self.limit_14a_W = None if limit_14a is None else max(
            0.0, limit_14a - self.cfg.ev.wallbox_standby_W * len(per_charger))
        ev_on = cs is not None and cs.vehicle_connected and cs.soc is not None and cs.capacity_Wh is not None
        battery_link: Link | None = None
        bat: BatteryStatus | None = None
        pv_W = 0.0
        for link in self.peers("plants"):
            if self._live_plants:
                status = self.live_plant_status(link, now, 3 * self.cfg.control_period_s)
                if status is None:
                    continue  # faulty or silent: treated as absent until it answers sensibly again
            else:
                status = link.request(PlantStatusRequest())
            if isinstance(status, PvStatus):
                pv_W += status.power_W
            elif isinstance(status, BatteryStatus) and battery_link is None:
                battery_link, bat = link, status
        ev_grid = cs.grid_power_W if cs is not None else 0.0
        base_W = reading.power_W - ev_grid - (bat.power_W if bat else 0.0)  # house net of PV
        load_W = max(0.0, base_W - pv_W)
        target = self.user_settings.target_soc if self.user_settings else (cs.target_soc if cs else None)
        departure = cs.departure_s if ev_on and cs else None
        price_now, price_min = self._price_view(now, departure)
        self._surplus_Wh[self._slot(now)] = max(0.0, -base_W) * self.cfg.control_period_s / 3600.0
        if self.cfg.strategy == "rules":
            ev_sp, bat_sp, reason = self._rules(now, reading, cs if ev_on else None, bat, target, price_now, price_min)
        else:
            ev_sp, bat_sp, reason = self._site_strategy(now, cs if ev_on else None, bat, -pv_W, load_W, target, price_now)
        ev_sp, reason = self._follow_aggregator(now, cs if ev_on else None, ev_sp, reason, per_charger, load_W, -pv_W)
        if self.limit_14a_W is not None:
            ev_sp, bat_sp, reason = self._clip_14a(ev_sp, bat_sp, reason, cs, load_W, -pv_W)
        self._after_14a(ev_sp, reason, cs)
        self.ev_setpoint_W, self.battery_setpoint_W = ev_sp, bat_sp
        self.reasons[reason] = self.reasons.get(reason, 0) + 1
        for link, share_W in split(ev_sp, per_charger, now, self.settings):
            self._send_setpoint(link, share_W, now)
        if self._live_plants and battery_link is None:
            for link in self.peers("plants"):  # a battery that is faulty or silent is told to hold still
                plant = self.plant_readings.get(link.peer.name)
                if plant is not None and type(link.peer).kind == "home_battery":
                    plant.target_W = 0.0
        if battery_link is not None:
            if self._live_plants:
                self.plant_readings[battery_link.peer.name].target_W = bat_sp
            else:
                battery_link.request(BatterySetpoint(power_W=bat_sp))
        if now >= self._next_publish and (self._live or self.link("backend") is not None):
            self._next_publish = now + self.cfg.publish_period_s
            self._publish(
                HemsState(
                    site=self.cfg.site,
                    time_s=now,
                    grid_W=reading.power_W,
                    pv_W=pv_W,
                    house_W=load_W,
                    battery_W=bat.power_W if bat else 0.0,
                    battery_soc=bat.soc if bat else None,
                    ev_connected=bool(ev_on),
                    ev_W=ev_grid,
                    ev_soc=cs.soc if ev_on and cs else None,
                    price_EUR_per_kWh=price_now,
                    strategy=self.cfg.strategy,
                    reason=reason,
                    faults=[f"{n}: {r.fault}" for n, r in self.plant_readings.items() if r.fault]
                    + [f"{k}: {v}" for k, v in self.faults.items()],
                    aggregator_setpoint_W=self.aggregator_setpoint_W, aggregator_deviation=self.aggregator_deviation,
                )
            )

    def _rules(
        self,
        now: float,
        reading: MeterReading,
        cs: ChargerStatus | None,
        bat: BatteryStatus | None,
        target: float | None,
        price_now: float | None,
        price_min: float | None,
    ) -> tuple[float, float, str]:
        ev_view = None
        if cs is not None and cs.soc is not None and cs.capacity_Wh is not None:
            ev_view = home_rule.EvView(
                soc=cs.soc,
                capacity_Wh=cs.capacity_Wh,
                max_charge_W=cs.max_charge_W,
                max_discharge_W=cs.max_discharge_W,
                min_power_W=cs.min_power_W,
                charge_efficiency=cs.charge_efficiency,
                discharge_efficiency=cs.discharge_efficiency,
                departure_s=cs.departure_s,
                target_soc=target,
                min_soc=cs.min_soc if cs.min_soc is not None else 0.0,
                grid_power_W=cs.grid_power_W,
            )
        bat_view = None
        if bat is not None:
            bat_view = home_rule.BatteryView(
                soc=bat.soc, max_charge_W=bat.max_charge_W, max_discharge_W=bat.max_discharge_W, power_W=bat.power_W
            )
        snap = home_rule.HomeSnapshot(
            now_s=now,
            grid_power_W=reading.power_W,
            ev=ev_view,
            battery=bat_view,
            price_now_EUR_per_kWh=price_now,
            min_price_before_departure_EUR_per_kWh=price_min,
            feed_in_EUR_per_kWh=self._feed_in,
            pv_surplus_forecast_Wh=self._surplus_forecast_Wh(now, ev_view.departure_s if ev_view else None),
        )
        d = home_rule.decide(snap, self.settings)
        return d.ev_setpoint_W, d.battery_setpoint_W, d.reason

    def _site_strategy(
        self,
        now: float,
        cs: ChargerStatus | None,
        bat: BatteryStatus | None,
        pv_gen_W: float,
        load_W: float,
        target: float | None,
        price_now: float | None,
    ) -> tuple[float, float, str]:
        """mpc / evcc / none, on the optimiser's view of the site (grid-side powers)."""
        eta = cs.stage_efficiency if cs is not None else 1.0
        ev = None
        if cs is not None and cs.soc is not None and cs.capacity_Wh is not None:
            ev = hems_rules.EvState(
                plugged=True,
                soc=min(max(cs.soc, 0.0), 1.0),
                capacity_Wh=cs.capacity_Wh,
                max_charge_power_W=cs.max_charge_W / eta,
                min_charge_power_W=min(cs.min_power_W / eta, cs.max_charge_W / eta),
                max_discharge_power_W=cs.max_discharge_W * eta,
                charge_efficiency=cs.charge_efficiency,
                discharge_efficiency=cs.discharge_efficiency,
                target_soc=target if target is not None else 0.8,
                departure_s=cs.departure_s,
                reserve_soc=max(self.settings.reserve_soc, cs.min_soc or 0.0),
                v2h_allowed=self.settings.v2h,
                v2g_allowed=self.settings.v2g and self.settings.v2h,
            )
        battery = None
        if bat is not None:
            battery = hems_rules.BatteryState(
                soc=min(max(bat.soc, 0.0), 1.0),
                capacity_Wh=bat.capacity_Wh,
                max_charge_power_W=bat.max_charge_W,
                max_discharge_power_W=bat.max_discharge_W,
                charge_efficiency=1.0,
                discharge_efficiency=1.0,
                soc_min=min(bat.min_soc, bat.soc),
            )
        price_MWh = price_now * 1000.0 if price_now is not None else None
        site = hems_rules.SiteState(
            pv_W=max(0.0, pv_gen_W),
            load_W=load_W,
            import_limit_14a_W=self.limit_14a_W if self.limit_14a_W is not None else float("inf"),
            import_price_EUR_per_MWh=price_MWh,
            export_price_EUR_per_MWh=self._feed_in * 1000.0 if self._feed_in is not None else None,
            ev=ev,
            battery=battery,
        )
        rules = hems_rules.RuleSettings(step_s=self.cfg.control_period_s)
        if self.cfg.strategy == "none":
            sp = hems_rules.no_control_rule(site, step_s=self.cfg.control_period_s)
        elif self.cfg.strategy == "evcc":
            sp, self._evcc_state = hems_rules.evcc_pv_rule(
                site, self._evcc_state, hems_rules.EvccSettings(step_s=self.cfg.control_period_s), now
            )
        else:
            sp = self._mpc(now, site, rules, cs)
        ev_grid = sp.ev_charge_W - sp.ev_discharge_W
        ev_sp = ev_grid * eta if ev_grid >= 0 else ev_grid / eta  # to the vehicle side of the stage
        return ev_sp, sp.battery_charge_W - sp.battery_discharge_W, sp.ev_mode.value

    def _mpc(self, now: float, site: hems_rules.SiteState, rules: hems_rules.RuleSettings, cs: ChargerStatus | None) -> hems_rules.Setpoints:
        planner = self.planner
        assert planner is not None
        planner.observe(now, site.pv_W, site.load_W)
        first = planner.plan is None
        limit_changed = self.eebus is not None and self.eebus.limit_changed
        if first or now >= self._next_replan or limit_changed:
            if not self._whole_span:
                self._next_replan = now + self.cfg.replan_period_s
            ps = self._refresh_prices(now)
            n = planner.s.horizon_steps
            prices = (
                planner.known_prices(now, ps.start_s, ps.step_s, ps.import_EUR_per_kWh, n) if ps is not None
                else np.full(n, 300.0)
            )
            if self.cfg.forecast == "perfect" and ps is not None:  # perfect foresight: every price is known
                times = now + planner.s.step_s * np.arange(n)
                idx = np.clip(((times - ps.start_s) // ps.step_s).astype(np.int64), 0, len(ps.import_EUR_per_kWh) - 1)
                prices = np.asarray(ps.import_EUR_per_kWh, dtype=np.float64)[idx] * 1000.0
            vehicle = self._vehicle_oracle(now, n) if self.cfg.forecast == "perfect" else None
            ev_state = site.ev
            if ev_state is None and vehicle is not None and cs is not None and cs.capacity_Wh is not None:
                ev_state = None  # away: the next plan after it returns covers it
            planner.replan(
                now,
                ev=ev_state,
                battery=site.battery,
                import_prices_EUR_per_MWh=prices,
                feed_in_EUR_per_MWh=(self._feed_in or 0.0) * 1000.0,
                grid_import_limit_W=float("inf"),
                import_limit_14a_W=self._limit_14a_horizon(now, n),
                ev_plugged=vehicle[0] if vehicle is not None and ev_state is not None else None,
                ev_trip_energy_Wh=vehicle[1] if vehicle is not None and ev_state is not None else None,
            )
            if self.eebus is not None:
                self.eebus.limit_changed = False
        plan = planner.plan
        if plan is not None and (first or now >= self._next_replan - self.cfg.replan_period_s):
            self._check_plan(now, plan)
        return planner.setpoints(now, site, rules)

    def _check_plan(self, now: float, plan: Any) -> None:
        """Say what is wrong with a plan: an unreachable departure or a failed solve."""
        problem = None
        if not plan.ok:
            problem = f"optimiser failed ({plan.status.value}); the fallback rule runs"
        elif plan.departure_shortfall_Wh > 1.0:
            problem = f"departure target unreachable: {plan.departure_shortfall_Wh / 1000:.1f} kWh short; charging flat out"
        if problem != self.faults.get("plan"):
            if problem is None:
                self.faults.pop("plan", None)
            else:
                self.faults["plan"] = problem
                log.warning("HEMS %s: %s", self.cfg.site, problem)
                self._report_fault("plan", problem)

    def observe(self) -> tuple[float, ...]:
        return (self.ev_setpoint_W, self.battery_setpoint_W)

    def report(self) -> dict[str, Any]:
        rep: dict[str, Any] = {"decisions": dict(self.reasons)}
        if self.aggregator_stats["schedules"]:
            rep["aggregator"] = self.aggregator_report()
        if self.planner is not None and self.planner.solve_times_s:
            t = np.asarray(self.planner.solve_times_s)
            rep.update(plans=len(t), plan_failures=self.planner.failures, faults=dict(self.faults),
                       plan_median_s=float(np.median(t)), plan_p99_s=float(np.percentile(t, 99)))
        return rep
