"""Fleet state from the two sources the technical aggregator reads: I-13 (OEM) and I-14 (CPO).

The OEM backend knows the owner's rules (departure, target, minimum SoC for discharge,
consent) and, for a car on the road, its ETA and expected SoC at arrival; the CPO backend
knows which EVSE a plugged car is at, its SoC as the charger reads it and the EVSE's limits.
``car_sessions`` merges them into ``control.fleet_flexibility.CarSession`` objects; cars whose
data is inconsistent are refused with the reason (``InvalidCarData``) and left uncontrolled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bidicharge.components.interfaces.i02_telematics import VehicleView
from bidicharge.components.interfaces.i14_cpo_aggregator import EvseLive
from bidicharge.control.fleet_flexibility import CarSession, InvalidCarData, validate_car


@dataclass(frozen=True, slots=True, kw_only=True)
class FleetState:
    sessions: tuple[CarSession, ...]
    evse_of: dict[str, str]  # car id -> EVSE id (cars plugged in now)
    refused: dict[str, str]  # car id -> reason


def car_sessions(views: Iterable[VehicleView], live: Iterable[EvseLive], *, now_s: float) -> FleetState:
    at_evse = {e.vehicle_id: e for e in live if e.connected and e.vehicle_id is not None}
    sessions: list[CarSession] = []
    refused: dict[str, str] = {}
    evse_of: dict[str, str] = {}
    for view in views:
        status, settings = view.status, view.settings
        if status is None or settings is None:
            refused[view.vin] = "no status or no owner's settings from the OEM backend"
            continue
        evse = at_evse.get(view.vin)
        if evse is not None:
            arrival, soc = now_s, evse.soc if evse.soc is not None else status.soc
            max_c = min(status.max_charge_power_W, evse.max_charge_power_W)
            max_d = min(status.max_discharge_power_W, evse.max_discharge_power_W)
            evse_of[view.vin] = evse.evse_id
        elif status.eta_s is not None and status.expected_arrival_soc is not None:
            arrival, soc = max(status.eta_s, now_s), status.expected_arrival_soc
            max_c, max_d = status.max_charge_power_W, status.max_discharge_power_W
        else:
            refused[view.vin] = "neither plugged in nor announced"
            continue
        session = CarSession(
            car_id=view.vin, arrival_s=arrival, departure_s=settings.departure_s, soc=soc,
            capacity_Wh=status.capacity_Wh, max_charge_power_W=max_c, max_discharge_power_W=max_d,
            target_soc=settings.target_soc, min_soc_for_discharge=settings.min_soc_for_discharge,
            v2g_consent=settings.v2g_consent, charge_efficiency=status.charge_efficiency,
            discharge_efficiency=status.discharge_efficiency)
        try:
            validate_car(session, now_s=now_s)
        except InvalidCarData as exc:
            refused[view.vin] = exc.reason
            evse_of.pop(view.vin, None)
            continue
        sessions.append(session)
    return FleetState(sessions=tuple(sessions), evse_of=evse_of, refused=refused)
