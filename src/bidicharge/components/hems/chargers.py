"""Several wallboxes under one HEMS: one aggregated EV for the strategies, shared back by need.

The strategies (`mpc`, `rules`, `evcc`, `none`) plan one EV. With several wallboxes on
``chargers`` (EEBUS or in memory) the HEMS reads each, adds the plugged-in cars up into one
:class:`ChargerStatus` (capacities, power limits, energy to the target and to the minimum SoC;
the earliest departure, so that every car's target is planned for by the first one's departure —
on the safe side, it may charge a later car earlier than it must) and splits the strategy's
setpoint over the cars with `control.ev_share` (urgency when charging, spare energy when
discharging). With one wallbox nothing changes: its status and setpoint pass through as they are.
A car whose SoC or capacity is unknown is not part of the plan and is told 0 W.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bidicharge.components.interfaces.i03_energy_manager import ChargerStatus
from bidicharge.control.ev_share import CarNeed, share_ev_power

if TYPE_CHECKING:
    from bidicharge.control import home_rule
    from bidicharge.runtime.ports import Link


def plannable(cs: ChargerStatus | None) -> bool:
    return cs is not None and cs.vehicle_connected and cs.soc is not None and cs.capacity_Wh is not None


def aggregate(statuses: list[ChargerStatus]) -> ChargerStatus | None:
    """One status for the strategies: the plannable cars added up, every wallbox's power counted."""
    if not statuses:
        return None
    cars = [cs for cs in statuses if plannable(cs)]
    if len(statuses) == 1:
        return statuses[0]
    grid_W = sum(cs.grid_power_W for cs in statuses)
    power_W = sum(cs.power_W for cs in statuses)
    if not cars:
        return ChargerStatus(vehicle_connected=False, power_W=power_W, grid_power_W=grid_W, max_charge_W=0.0,
                             max_discharge_W=0.0, min_power_W=0.0, soc=None, capacity_Wh=None, departure_s=None,
                             target_soc=None, min_soc=None, charge_efficiency=statuses[0].charge_efficiency,
                             discharge_efficiency=statuses[0].discharge_efficiency,
                             stage_efficiency=statuses[0].stage_efficiency)
    cap = {id(cs): float(cs.capacity_Wh or 0.0) for cs in cars}
    total = sum(cap.values())

    def weighted(value: list[float]) -> float:
        return sum(v * cap[id(cs)] for v, cs in zip(value, cars, strict=True)) / total

    socs = [float(cs.soc or 0.0) for cs in cars]
    # A car past its target keeps its SoC as its target: its surplus must not count for another's need.
    targets = [max(cs.target_soc, soc) if cs.target_soc is not None else soc for cs, soc in zip(cars, socs, strict=True)]
    needing = [cs for cs, soc, target in zip(cars, socs, targets, strict=True) if target > soc + 1e-6]
    departures = [cs.departure_s for cs in cars if cs.departure_s is not None]
    return ChargerStatus(
        vehicle_connected=True, power_W=power_W, grid_power_W=grid_W,
        # the power that reaches a need: only the cars still short of their target (else all, for surplus)
        max_charge_W=sum(cs.max_charge_W for cs in (needing or cars)),
        max_discharge_W=sum(cs.max_discharge_W for cs in cars),
        min_power_W=min(cs.min_power_W for cs in cars), soc=weighted(socs), capacity_Wh=total,
        departure_s=min(departures) if departures else None,
        target_soc=weighted(targets) if any(cs.target_soc is not None for cs in cars) else None,
        min_soc=weighted([cs.min_soc or 0.0 for cs in cars]),
        charge_efficiency=weighted([cs.charge_efficiency for cs in cars]),
        discharge_efficiency=weighted([cs.discharge_efficiency for cs in cars]),
        stage_efficiency=weighted([cs.stage_efficiency for cs in cars]))


def car_need(cs: ChargerStatus, now: float, settings: home_rule.RuleSettings) -> CarNeed:
    capacity, soc = float(cs.capacity_Wh or 0.0), float(cs.soc or 0.0)
    target = max(cs.target_soc if cs.target_soc is not None else soc, cs.min_soc or 0.0)
    floor = max(cs.min_soc or 0.0, settings.reserve_soc)
    return CarNeed(need_Wh=max(0.0, target - soc) * capacity, spare_Wh=max(0.0, soc - floor) * capacity,
                   max_charge_W=cs.max_charge_W, max_discharge_W=cs.max_discharge_W,
                   seconds_to_departure=None if cs.departure_s is None else cs.departure_s - now)


def split(power_W: float, per_link: list[tuple[Link, ChargerStatus | None]], now: float,
          settings: home_rule.RuleSettings) -> list[tuple[Link, float]]:
    """Each wallbox's setpoint (vehicle side): the plannable cars share ``power_W``, others get 0."""
    if len(per_link) == 1:
        return [(per_link[0][0], power_W)]
    cars = [(link, cs) for link, cs in per_link if cs is not None and plannable(cs)]
    shares = share_ev_power(power_W, [car_need(cs, now, settings) for _, cs in cars])
    by_link = {id(link): p for (link, _), p in zip(cars, shares, strict=True)}
    return [(link, by_link.get(id(link), 0.0)) for link, _ in per_link]
