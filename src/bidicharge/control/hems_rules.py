"""HEMS rules: the fast fallback between optimiser plans, and the two baselines of the study.

Three pure rules map the measurements of one instant to setpoints held for one step
(issue 6, items 2 and 5):

* :func:`fallback_rule` — runs between MPC plans and whenever the solver fails: charge the
  EV at full power below the owner's reserve and when the time left is just enough for the
  departure target; otherwise charge from PV surplus; cover the house load by discharging
  (battery first, then the EV down to its reserve, V2H) when the tariff is at or above a
  threshold (the evening peak); export from the EV only with V2G consent and above a V2G
  price; never break the grid-connection, §14a (BK6-22-300) or feed-in limits.
* :func:`evcc_pv_rule` — the peer baseline: evcc's "PV" mode, charge-only, current in whole
  amperes from 6 A, automatic 1p/3p switching, enable/disable delays (evcc
  ``core/loadpoint.go`` ``pvMaxCurrent``/``pvScalePhases``, defaults enable 1 min,
  disable 3 min, threshold 0 W); below ``min_soc`` it charges fast, as evcc's minSoc does.
* :func:`no_control_rule` — charge at full power from arrival until the limit SoC.

:func:`follow_plan` turns one step of an optimiser plan into setpoints checked against what
is measured now: forecasts err, so the limits, the consent and the SoC are enforced again
on the measured values before anything reaches a device.

:func:`self_consumption_battery` is the stationary battery's own self-consumption mode
(charge the surplus, cover the deficit), shared by the baselines.

Powers are non-negative and named by direction (``ev_charge_W``/``ev_discharge_W``);
``load_W`` is the house load without EV and battery.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace

from bidicharge.control.hems_mpc import HemsPlan

_WH_PER_WS = 1.0 / 3600.0


def _check_fraction(value: float, name: str) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} = {value} is outside 0..1")


@dataclass(frozen=True, slots=True, kw_only=True)
class EvState:
    """The EV at the wallbox, as measured now, with the owner's settings."""

    plugged: bool
    soc: float
    capacity_Wh: float
    max_charge_power_W: float
    min_charge_power_W: float = 0.0
    max_discharge_power_W: float = 0.0
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    soc_max: float = 1.0
    target_soc: float = 0.8
    departure_s: float | None = None
    """Time of the next departure on the caller's clock (the one ``now_s`` is read from)."""
    reserve_soc: float = 0.0
    v2h_allowed: bool = False
    v2g_allowed: bool = False

    def __post_init__(self) -> None:
        for value, name in ((self.soc, "soc"), (self.soc_max, "soc_max"), (self.target_soc, "target_soc"),
                            (self.reserve_soc, "reserve_soc")):
            _check_fraction(value, f"ev.{name}")
        if self.capacity_Wh <= 0:
            raise ValueError("ev.capacity_Wh must be positive")
        if min(self.max_charge_power_W, self.min_charge_power_W, self.max_discharge_power_W) < 0:
            raise ValueError("ev power limits must not be negative")
        if self.min_charge_power_W > self.max_charge_power_W:
            raise ValueError("ev.min_charge_power_W > max_charge_power_W")
        for value, name in ((self.charge_efficiency, "charge"), (self.discharge_efficiency, "discharge")):
            if not 0.0 < value <= 1.0:
                raise ValueError(f"ev.{name}_efficiency = {value} is outside (0, 1]")


@dataclass(frozen=True, slots=True, kw_only=True)
class BatteryState:
    soc: float
    capacity_Wh: float
    max_charge_power_W: float
    max_discharge_power_W: float
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    soc_min: float = 0.0
    soc_max: float = 1.0

    def __post_init__(self) -> None:
        for value, name in ((self.soc, "soc"), (self.soc_min, "soc_min"), (self.soc_max, "soc_max")):
            _check_fraction(value, f"battery.{name}")
        if self.capacity_Wh <= 0:
            raise ValueError("battery.capacity_Wh must be positive")
        if min(self.max_charge_power_W, self.max_discharge_power_W) < 0:
            raise ValueError("battery power limits must not be negative")
        for value, name in ((self.charge_efficiency, "charge"), (self.discharge_efficiency, "discharge")):
            if not 0.0 < value <= 1.0:
                raise ValueError(f"battery.{name}_efficiency = {value} is outside (0, 1]")


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteState:
    """Measurements and limits of the household at one instant."""

    pv_W: float
    load_W: float
    import_price_EUR_per_MWh: float | None = None
    export_price_EUR_per_MWh: float | None = None
    grid_import_limit_W: float = math.inf
    import_limit_14a_W: float = math.inf
    """Allowed grid draw of the controllable devices (§14a EnWG); ``inf`` when not dimmed."""
    export_limit_W: float = math.inf
    ev: EvState | None = None
    battery: BatteryState | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.pv_W) and math.isfinite(self.load_W)) or self.pv_W < 0 or self.load_W < 0:
            raise ValueError(f"pv_W={self.pv_W} and load_W={self.load_W} must be finite and non-negative")
        if min(self.grid_import_limit_W, self.import_limit_14a_W, self.export_limit_W) < 0:
            raise ValueError("limits must not be negative")


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleSettings:
    step_s: float = 900.0
    """How long the setpoints hold; bounds the energy moved before the next call."""
    discharge_min_price_EUR_per_MWh: float | None = None
    """Cover the house load from storage only at or above this import price (None: always)."""
    v2g_min_price_EUR_per_MWh: float | None = None
    """Export from the EV (needs V2G consent) at or above this feed-in price; None: never."""
    departure_margin_s: float = 1800.0
    """Start the departure guarantee this much earlier than the bare minimum."""


class EvMode(enum.Enum):
    IDLE = "idle"
    UNPLUGGED = "unplugged"
    RESERVE = "charge to reserve"
    DEPARTURE = "departure guarantee"
    PV_SURPLUS = "pv surplus"
    V2H = "v2h"
    V2G = "v2g"
    FULL_POWER = "full power on arrival"
    LIMITED = "held back by a grid limit"


@dataclass(frozen=True, slots=True, kw_only=True)
class Setpoints:
    ev_charge_W: float = 0.0
    ev_discharge_W: float = 0.0
    battery_charge_W: float = 0.0
    battery_discharge_W: float = 0.0
    pv_curtailment_W: float = 0.0
    ev_mode: EvMode = EvMode.IDLE

    def grid_import_W(self, site: SiteState) -> float:
        return max(0.0, self._net_W(site))

    def grid_export_W(self, site: SiteState) -> float:
        return max(0.0, -self._net_W(site))

    def _net_W(self, site: SiteState) -> float:
        return (site.load_W + self.ev_charge_W + self.battery_charge_W - site.pv_W + self.pv_curtailment_W
                - self.ev_discharge_W - self.battery_discharge_W)


# --- energy bookkeeping for one step -------------------------------------------------------

def _ev_charge_room_W(ev: EvState, step_s: float, up_to_soc: float) -> float:
    room_Wh = max(0.0, (min(up_to_soc, ev.soc_max) - ev.soc) * ev.capacity_Wh)
    return min(ev.max_charge_power_W, room_Wh / ev.charge_efficiency / (step_s * _WH_PER_WS))


def _departure_need_Wh(ev: EvState) -> float:
    return max(0.0, (min(ev.target_soc, ev.soc_max) - ev.soc) * ev.capacity_Wh)


def _must_charge_for_departure(ev: EvState, settings: RuleSettings, now_s: float) -> bool:
    """True if idling one more step would leave too little time at full power."""
    if ev.departure_s is None or ev.max_charge_power_W <= 0:
        return False
    need_Wh = _departure_need_Wh(ev)
    if need_Wh <= 0:
        return False
    full_power_s = need_Wh / (ev.max_charge_power_W * ev.charge_efficiency * _WH_PER_WS)
    return ev.departure_s - now_s - settings.step_s - settings.departure_margin_s < full_power_s


def _ev_dischargeable_W(ev: EvState, settings: RuleSettings, now_s: float) -> float:
    """Discharge power for one step that keeps the reserve and the departure reachable."""
    available_Wh = (ev.soc - ev.reserve_soc) * ev.capacity_Wh
    if ev.departure_s is not None:
        spare_s = ev.departure_s - now_s - settings.step_s - settings.departure_margin_s
        rechargeable_Wh = max(0.0, spare_s) * _WH_PER_WS * ev.max_charge_power_W * ev.charge_efficiency
        available_Wh = min(available_Wh, rechargeable_Wh - _departure_need_Wh(ev))
    power_W = max(0.0, available_Wh) * ev.discharge_efficiency / (settings.step_s * _WH_PER_WS)
    return min(ev.max_discharge_power_W, power_W)


def self_consumption_battery(battery: BatteryState | None, surplus_W: float, step_s: float) -> tuple[float, float]:
    """(charge_W, discharge_W) of a battery in self-consumption mode; ``surplus_W`` may be negative."""
    if battery is None:
        return 0.0, 0.0
    dt_h = step_s * _WH_PER_WS
    if surplus_W > 0:
        room_W = max(0.0, (battery.soc_max - battery.soc) * battery.capacity_Wh) / battery.charge_efficiency / dt_h
        return min(surplus_W, battery.max_charge_power_W, room_W), 0.0
    stored_W = max(0.0, (battery.soc - battery.soc_min) * battery.capacity_Wh) * battery.discharge_efficiency / dt_h
    return 0.0, min(-surplus_W, battery.max_discharge_power_W, stored_W)


# --- the fallback rule ------------------------------------------------------------------------

def fallback_rule(site: SiteState, settings: RuleSettings, now_s: float) -> Setpoints:
    """Setpoints for the next step without an optimiser plan."""
    ev = site.ev
    surplus_W = site.pv_W - site.load_W
    price = site.import_price_EUR_per_MWh
    peak = settings.discharge_min_price_EUR_per_MWh is None or (
        price is not None and price >= settings.discharge_min_price_EUR_per_MWh)
    ev_charge = ev_discharge = 0.0
    mode = EvMode.IDLE
    if ev is None or not ev.plugged:
        mode = EvMode.UNPLUGGED if ev is not None else EvMode.IDLE
    elif ev.soc < ev.reserve_soc:
        ev_charge, mode = _ev_charge_room_W(ev, settings.step_s, ev.soc_max), EvMode.RESERVE
    elif _must_charge_for_departure(ev, settings, now_s):
        ev_charge, mode = _ev_charge_room_W(ev, settings.step_s, ev.target_soc), EvMode.DEPARTURE
    elif surplus_W > 0:
        ev_charge = min(surplus_W, _ev_charge_room_W(ev, settings.step_s, ev.soc_max))
        if ev_charge < ev.min_charge_power_W:
            ev_charge = 0.0
        mode = EvMode.PV_SURPLUS if ev_charge > 0 else EvMode.IDLE
    battery_charge, battery_discharge = self_consumption_battery(site.battery, surplus_W - ev_charge,
                                                                 settings.step_s)
    # The battery covers the house, never the car; off-peak it waits for the expensive hours.
    battery_discharge = min(battery_discharge, max(0.0, -surplus_W)) if peak else 0.0
    if ev is not None and ev.plugged and mode is EvMode.IDLE and ev.v2h_allowed:
        ev_discharge, mode = _ev_discharge(ev, site, settings, now_s, -surplus_W - battery_discharge, peak)
    setpoints = Setpoints(ev_charge_W=ev_charge, ev_discharge_W=ev_discharge, battery_charge_W=battery_charge,
                          battery_discharge_W=battery_discharge, ev_mode=mode)
    return enforce_site_limits(setpoints, site)


def _ev_discharge(ev: EvState, site: SiteState, settings: RuleSettings, now_s: float,
                  residual_W: float, peak: bool) -> tuple[float, EvMode]:
    dischargeable = _ev_dischargeable_W(ev, settings, now_s)
    v2g_price = settings.v2g_min_price_EUR_per_MWh
    export_price = site.export_price_EUR_per_MWh
    if (ev.v2g_allowed and v2g_price is not None and export_price is not None and export_price >= v2g_price
            and dischargeable > 0):
        return dischargeable, EvMode.V2G
    power = min(dischargeable, max(0.0, residual_W)) if peak else 0.0
    return power, (EvMode.V2H if power > 0 else EvMode.IDLE)


def enforce_site_limits(setpoints: Setpoints, site: SiteState) -> Setpoints:
    """Cut charging to the import limits and curtail PV to the feed-in limit.

    The §14a allowance is added to the house load (only controllable devices are dimmed).
    House load above the connection limit cannot be helped by the HEMS and is left as is.
    """
    import_limit = min(site.grid_import_limit_W, site.load_W + site.import_limit_14a_W)
    excess = setpoints.grid_import_W(site) - import_limit
    if excess > 0:
        battery_cut = min(excess, setpoints.battery_charge_W)
        ev_cut = min(excess - battery_cut, setpoints.ev_charge_W)
        ev_charge = setpoints.ev_charge_W - ev_cut
        mode = setpoints.ev_mode
        if site.ev is not None and 0 < ev_charge < site.ev.min_charge_power_W:
            ev_charge = 0.0
        if ev_cut > 0:
            mode = EvMode.LIMITED
        setpoints = replace(setpoints, battery_charge_W=setpoints.battery_charge_W - battery_cut,
                            ev_charge_W=ev_charge, ev_mode=mode)
    excess = setpoints.grid_export_W(site) - site.export_limit_W
    if excess > 0:
        ev_cut = min(excess, setpoints.ev_discharge_W)
        battery_cut = min(excess - ev_cut, setpoints.battery_discharge_W)
        curtail = min(site.pv_W, excess - ev_cut - battery_cut)
        setpoints = replace(setpoints, ev_discharge_W=setpoints.ev_discharge_W - ev_cut,
                            battery_discharge_W=setpoints.battery_discharge_W - battery_cut,
                            pv_curtailment_W=setpoints.pv_curtailment_W + curtail)
    return setpoints


def follow_plan(plan: HemsPlan, step: int, site: SiteState, settings: RuleSettings) -> Setpoints:
    """Setpoints of ``plan`` at ``step``, made safe for the measured ``site``.

    Falls back to :func:`fallback_rule` if the plan is not usable (not optimal, or past its end).
    """
    if not plan.ok or not 0 <= step < len(plan.ev_charge_W):
        return fallback_rule(site, settings, now_s=step * settings.step_s)
    dt_h = settings.step_s * _WH_PER_WS
    ev_charge = float(plan.ev_charge_W[step])
    ev_discharge = float(plan.ev_discharge_W[step])
    battery_charge = float(plan.battery_charge_W[step])
    battery_discharge = float(plan.battery_discharge_W[step])
    ev = site.ev
    mode = EvMode.IDLE
    if ev is None or not ev.plugged:
        ev_charge = ev_discharge = 0.0
        mode = EvMode.UNPLUGGED if ev is not None else EvMode.IDLE
    else:
        ev_charge = min(ev_charge, _ev_charge_room_W(ev, settings.step_s, ev.soc_max))
        above_reserve_Wh = max(0.0, (ev.soc - ev.reserve_soc) * ev.capacity_Wh)
        ev_discharge = min(ev_discharge, above_reserve_Wh * ev.discharge_efficiency / dt_h,
                           ev.max_discharge_power_W if ev.v2h_allowed else 0.0)
        if ev_charge > 0:
            mode = EvMode.PV_SURPLUS if ev_charge <= site.pv_W - site.load_W else EvMode.DEPARTURE
    battery = site.battery
    if battery is None:
        battery_charge = battery_discharge = 0.0
    else:
        room_Wh = max(0.0, (battery.soc_max - battery.soc) * battery.capacity_Wh)
        stored_Wh = max(0.0, (battery.soc - battery.soc_min) * battery.capacity_Wh)
        battery_charge = min(battery_charge, battery.max_charge_power_W, room_Wh / battery.charge_efficiency / dt_h)
        battery_discharge = min(battery_discharge, battery.max_discharge_power_W,
                                stored_Wh * battery.discharge_efficiency / dt_h)
    house_need_W = max(0.0, site.load_W - site.pv_W - battery_discharge)
    if ev is not None and not ev.v2g_allowed:
        # Measured, not forecast: the car covers at most what the house still needs.
        ev_discharge = min(ev_discharge, house_need_W)
    if ev_discharge > 0:
        mode = EvMode.V2G if ev_discharge > house_need_W else EvMode.V2H
    setpoints = Setpoints(ev_charge_W=ev_charge, ev_discharge_W=ev_discharge, battery_charge_W=battery_charge,
                          battery_discharge_W=battery_discharge, ev_mode=mode)
    return enforce_site_limits(setpoints, site)


# --- baselines --------------------------------------------------------------------------------

def no_control_rule(site: SiteState, *, limit_soc: float = 1.0, step_s: float = 900.0) -> Setpoints:
    """Charge at full power from arrival until ``limit_soc``; battery in self-consumption."""
    ev = site.ev
    ev_charge = 0.0
    if ev is not None and ev.plugged:
        ev_charge = _ev_charge_room_W(ev, step_s, limit_soc)
    battery_charge, battery_discharge = self_consumption_battery(
        site.battery, site.pv_W - site.load_W - ev_charge, step_s)
    # The battery covers the house, never the car (as a stand-alone home battery does).
    battery_discharge = min(battery_discharge, max(0.0, site.load_W - site.pv_W))
    mode = EvMode.FULL_POWER if ev_charge > 0 else EvMode.IDLE
    return enforce_site_limits(Setpoints(ev_charge_W=ev_charge, battery_charge_W=battery_charge,
                                         battery_discharge_W=battery_discharge, ev_mode=mode), site)


@dataclass(frozen=True, slots=True, kw_only=True)
class EvccSettings:
    voltage_V: float = 230.0
    min_current_A: float = 6.0
    max_current_A: float = 16.0
    max_phases: int = 3
    phase_switching: bool = True
    enable_threshold_W: float = 0.0
    disable_threshold_W: float = 0.0
    enable_delay_s: float = 60.0
    disable_delay_s: float = 180.0
    min_soc: float = 0.0
    """evcc minSoc: below it, charge at full power regardless of PV."""
    limit_soc: float = 1.0
    departure_guarantee: bool = True
    """Stand-in for evcc's charging plan: full power once the time left is just enough."""
    step_s: float = 900.0

    def __post_init__(self) -> None:
        if self.max_phases not in (1, 3):
            raise ValueError("max_phases must be 1 or 3")
        if not 0 < self.min_current_A <= self.max_current_A:
            raise ValueError("need 0 < min_current_A <= max_current_A")


@dataclass(frozen=True, slots=True, kw_only=True)
class EvccState:
    enabled: bool = False
    phases: int = 3
    pv_timer_s: float | None = None
    phase_timer_s: float | None = None


def _elapsed(timer_s: float | None, now_s: float) -> tuple[float, float]:
    start = now_s if timer_s is None else timer_s
    return start, now_s - start


def evcc_pv_rule(site: SiteState, state: EvccState, settings: EvccSettings,
                 now_s: float) -> tuple[Setpoints, EvccState]:
    """One evcc control cycle in PV mode; returns the setpoints and the next state."""
    ev = site.ev
    surplus_W = site.pv_W - site.load_W  # EV has priority over the battery (prioritySoc 0)
    if ev is None or not ev.plugged or ev.soc >= settings.limit_soc:
        state = replace(state, enabled=False, pv_timer_s=None, phase_timer_s=None)
        return _with_battery(site, 0.0, EvMode.UNPLUGGED if ev is not None and not ev.plugged else EvMode.IDLE,
                             settings.step_s), state
    fast = ev.soc < settings.min_soc
    if not fast and settings.departure_guarantee:
        fast = _must_charge_for_departure(replace(ev, target_soc=min(ev.target_soc, settings.limit_soc)),
                                          RuleSettings(step_s=settings.step_s), now_s)
    if fast:
        phases = settings.max_phases
        current = settings.max_current_A
        state = replace(state, enabled=True, phases=phases, pv_timer_s=None, phase_timer_s=None)
        power = min(current * settings.voltage_V * phases, _ev_charge_room_W(ev, settings.step_s, settings.limit_soc))
        return _with_battery(site, power, EvMode.DEPARTURE if ev.soc >= settings.min_soc else EvMode.RESERVE,
                             settings.step_s), state
    state = _scale_phases(state, settings, surplus_W, now_s)
    current, state = _pv_current(state, settings, surplus_W, now_s)
    power = current * settings.voltage_V * state.phases
    power = min(power, _ev_charge_room_W(ev, settings.step_s, settings.limit_soc))
    return _with_battery(site, power, EvMode.PV_SURPLUS if power > 0 else EvMode.IDLE, settings.step_s), state


def _scale_phases(state: EvccState, settings: EvccSettings, surplus_W: float, now_s: float) -> EvccState:
    if not settings.phase_switching or settings.max_phases == 1:
        return replace(state, phases=settings.max_phases, phase_timer_s=None)
    min_1p_W = settings.min_current_A * settings.voltage_V
    if state.phases == 3 and surplus_W < 3 * min_1p_W and surplus_W >= min_1p_W:
        start, elapsed = _elapsed(state.phase_timer_s, now_s)
        if elapsed >= settings.disable_delay_s:
            return replace(state, phases=1, phase_timer_s=None)
        return replace(state, phase_timer_s=start)
    if state.phases == 1 and surplus_W >= 3 * min_1p_W:
        start, elapsed = _elapsed(state.phase_timer_s, now_s)
        if elapsed >= settings.enable_delay_s:
            return replace(state, phases=3, phase_timer_s=None)
        return replace(state, phase_timer_s=start)
    return replace(state, phase_timer_s=None)


def _pv_current(state: EvccState, settings: EvccSettings, surplus_W: float,
                now_s: float) -> tuple[float, EvccState]:
    per_ampere_W = settings.voltage_V * state.phases
    target_A = max(surplus_W / per_ampere_W, 0.0)
    min_A = settings.min_current_A
    if state.enabled and target_A < min_A:
        site_power_at_min_W = min_A * per_ampere_W - surplus_W
        if site_power_at_min_W >= settings.disable_threshold_W:
            start, elapsed = _elapsed(state.pv_timer_s, now_s)
            if elapsed >= settings.disable_delay_s:
                return 0.0, replace(state, enabled=False, pv_timer_s=None)
            return min_A, replace(state, pv_timer_s=start)
        return min_A, replace(state, pv_timer_s=None)
    if not state.enabled:
        threshold = settings.enable_threshold_W
        ready = target_A >= min_A if threshold == 0 else -surplus_W <= threshold
        if not ready:
            return 0.0, replace(state, pv_timer_s=None)
        start, elapsed = _elapsed(state.pv_timer_s, now_s)
        if elapsed < settings.enable_delay_s:
            return 0.0, replace(state, pv_timer_s=start)
        state = replace(state, enabled=True, pv_timer_s=None)
    # evcc sets whole amperes on chargers without milliampere control: round down.
    current = min(max(math.floor(target_A), min_A), settings.max_current_A)
    return float(current), replace(state, pv_timer_s=None)


def _with_battery(site: SiteState, ev_charge_W: float, mode: EvMode, step_s: float) -> Setpoints:
    battery_charge, battery_discharge = self_consumption_battery(
        site.battery, site.pv_W - site.load_W - ev_charge_W, step_s)
    battery_discharge = min(battery_discharge, max(0.0, site.load_W - site.pv_W))
    return enforce_site_limits(Setpoints(ev_charge_W=ev_charge_W, battery_charge_W=battery_charge,
                                         battery_discharge_W=battery_discharge, ev_mode=mode), site)
