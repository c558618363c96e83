"""A first rule-based home energy manager: PV surplus into the car, the car through the
evening peak down to a reserve, and the departure target always met.

Pure: a function of the latest measurements, the prices ahead and the owner's settings.
Sign convention: power positive into the vehicle / battery (charging), negative out.

The rules, in order of precedence, for the EV:
1. Departure guarantee — if the energy still missing for the departure target needs (almost)
   all remaining time at full power, charge at full power.
2. PV surplus — charge with the power that would otherwise be exported.
3. Evening discharge (V2H) — when discharging now is worth more than recharging later
   (price now ≥ cheapest price before departure / round-trip efficiency + wear), cover the
   house's deficit down to the reserve SoC; export from the car only with V2G consent.
   The home battery goes first (it cycles more cheaply); the car covers what it cannot.
The home battery then takes what is left: surplus in, deficit out.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class EvView:
    soc: float
    capacity_Wh: float
    max_charge_W: float
    max_discharge_W: float
    min_power_W: float
    charge_efficiency: float  # grid → battery
    discharge_efficiency: float  # battery → grid
    departure_s: float | None
    target_soc: float | None
    min_soc: float
    grid_power_W: float  # present, at the connection point


@dataclass(frozen=True, slots=True, kw_only=True)
class BatteryView:
    soc: float
    max_charge_W: float
    max_discharge_W: float
    power_W: float  # present


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleSettings:
    v2h: bool = True
    v2g: bool = False
    reserve_soc: float = 0.5  # the car is not discharged below this for V2H
    wear_EUR_per_kWh: float = 0.03  # battery-wear cost per kWh discharged
    guarantee_margin_s: float = 1800.0  # start the forced charge this much earlier
    pv_surplus_threshold_W: float = 100.0


@dataclass(frozen=True, slots=True, kw_only=True)
class HomeSnapshot:
    now_s: float
    grid_power_W: float  # meter, + import
    ev: EvView | None  # None: no vehicle connected
    battery: BatteryView | None
    price_now_EUR_per_kWh: float | None
    min_price_before_departure_EUR_per_kWh: float | None
    feed_in_EUR_per_kWh: float | None = None
    pv_surplus_forecast_Wh: float = 0.0  # expected PV surplus between now and the departure


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    ev_setpoint_W: float
    battery_setpoint_W: float
    reason: str


def departure_critical(ev: EvView, now_s: float, margin_s: float) -> bool:
    """True when the missing energy needs (almost) all the time left at full power."""
    if ev.departure_s is None or ev.target_soc is None:
        return False
    missing_Wh = (ev.target_soc - ev.soc) * ev.capacity_Wh
    if missing_Wh <= 0:
        return False
    if ev.max_charge_W <= 0:
        return True
    needed_s = missing_Wh / (ev.max_charge_W * ev.charge_efficiency) * 3600.0
    return ev.departure_s - now_s <= needed_s + margin_s


def recharge_price(snap: HomeSnapshot, ev: EvView) -> float | None:
    """What a kWh put back into the car before departure will cost: the feed-in rate given
    up when the expected PV surplus covers what the car still needs, else the cheapest
    grid price before departure."""
    grid = snap.min_price_before_departure_EUR_per_kWh
    if snap.feed_in_EUR_per_kWh is None:
        return grid
    missing_Wh = 0.0
    if ev.target_soc is not None:
        missing_Wh = max(0.0, (ev.target_soc - ev.soc) * ev.capacity_Wh / ev.charge_efficiency)
    room_Wh = snap.pv_surplus_forecast_Wh - missing_Wh
    if room_Wh >= 0.1 * ev.capacity_Wh * max(0.0, ev.soc - ev.min_soc):
        return snap.feed_in_EUR_per_kWh if grid is None else min(grid, snap.feed_in_EUR_per_kWh)
    return grid


def discharge_pays(snap: HomeSnapshot, ev: EvView, s: RuleSettings) -> bool:
    """Discharging now saves the price now; it costs the recharge (after round-trip losses) and wear."""
    refill = recharge_price(snap, ev)
    if snap.price_now_EUR_per_kWh is None or refill is None:
        return False
    round_trip = ev.charge_efficiency * ev.discharge_efficiency
    return snap.price_now_EUR_per_kWh >= refill / round_trip + s.wear_EUR_per_kWh


def decide(snap: HomeSnapshot, s: RuleSettings) -> Decision:
    ev, bat = snap.ev, snap.battery
    ev_grid = ev.grid_power_W if ev is not None else 0.0
    bat_now = bat.power_W if bat is not None else 0.0
    base_W = snap.grid_power_W - ev_grid - bat_now  # the house net of PV, without car and battery
    ev_sp = 0.0
    reason = "idle"
    if ev is not None:
        if departure_critical(ev, snap.now_s, s.guarantee_margin_s):
            ev_sp, reason = ev.max_charge_W, "departure guarantee"
        elif -base_W >= max(s.pv_surplus_threshold_W, ev.min_power_W) and ev.max_charge_W > 0 and (
            ev.target_soc is None or ev.soc < 1.0
        ):
            ev_sp, reason = min(-base_W, ev.max_charge_W), "PV surplus"
        elif (
            s.v2h
            and base_W > 0
            and ev.soc > max(s.reserve_soc, ev.min_soc)
            and ev.max_discharge_W > 0
            and discharge_pays(snap, ev, s)
        ):
            # the home battery cycles more cheaply: the car covers what it cannot
            bat_avail = bat.max_discharge_W if bat is not None else 0.0
            want = ev.max_discharge_W if s.v2g else min(base_W - bat_avail, ev.max_discharge_W)
            if want >= max(ev.min_power_W, 1.0):
                ev_sp, reason = -want, "V2G peak" if s.v2g else "V2H evening"
    rest_W = base_W + ev_sp  # what the house still needs (+) or has spare (−) after the car
    bat_sp = 0.0
    if bat is not None:
        if rest_W < 0:
            bat_sp = min(-rest_W, bat.max_charge_W)
        elif ev_sp <= 0:  # never empty the home battery into the car
            bat_sp = -min(rest_W, bat.max_discharge_W)
    return Decision(ev_setpoint_W=ev_sp, battery_setpoint_W=bat_sp, reason=reason)
