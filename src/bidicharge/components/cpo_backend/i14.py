"""The CPO backend's side of I-14 (technical aggregator – CPO backend) in the in-memory contract of
``components/interfaces/i14_cpo_aggregator.py``.

EVSE ids on I-14 are the station identity (``WB-7``) for EVSE 1 — one EVSE per station, the
common case — and ``identity/evse`` (``HPC-1/2``) for further EVSEs of a station. Live data come
from the CSMS's tables (transactions, charging needs) and the latest meter values; a schedule
becomes one SetChargingProfile (TxProfile, ``operationMode = CentralSetpoint``, W) per EVSE.
``vehicle_id`` is the idToken of the EVSE's open transaction (``LiveEv.vehicle_id``: the car's
EVCCID, its Plug & Charge contract id or a configured token), which is how the aggregator finds
the car.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bidicharge.components.interfaces.i14_cpo_aggregator import ChargingSchedule, EvseLive, LiveData

from .engine import CsmsEngine, LiveEv, SchedulePeriod


def i14_evse_id(station: str, evse_id: int) -> str:
    return station if evse_id == 1 else f"{station}/{evse_id}"


def parse_evse_id(text: str) -> tuple[str, int]:
    """``WB-7`` -> (``WB-7``, 1), ``HPC-1/2`` -> (``HPC-1``, 2); ValueError names what is wrong."""
    station, _, evse = text.rpartition("/")
    if not station:
        return text, 1
    if not evse.isdigit() or int(evse) < 1:
        raise ValueError(f"EVSE id {text!r}: after the '/' must come an EVSE number >= 1")
    return station, int(evse)


def live_data(engine: CsmsEngine, now_s: float, wanted: Sequence[str] = ()) -> LiveData:
    evses: list[EvseLive] = []
    for ev in engine.live_evs():
        name = i14_evse_id(ev.station, ev.evse_id)
        if wanted and name not in wanted:
            continue
        evses.append(_evse_live(engine, ev, name))
    return LiveData(time_s=now_s, evses=tuple(evses))


def _evse_live(engine: CsmsEngine, ev: LiveEv, name: str) -> EvseLive:
    meter = engine.meters.get((ev.station, ev.evse_id))
    connected = ev.connected
    return EvseLive(
        evse_id=name, connected=connected, vehicle_id=ev.vehicle_id if connected else None,
        soc=ev.soc if connected else None,
        power_W=round(meter.power_W, 3) if meter is not None and connected else 0.0,
        setpoint_W=engine.setpoints.get((ev.station, ev.evse_id)) if connected else None,
        max_charge_power_W=(ev.max_charge_power_W or 0.0) if connected else 0.0,
        max_discharge_power_W=(ev.max_discharge_power_W or 0.0) if connected else 0.0,
        imported_Wh=0.0 if meter is None else round(meter.import_Wh, 3),
        exported_Wh=0.0 if meter is None else round(meter.export_Wh, 3),
        departure_s=ev.departure_time.timestamp() if connected and ev.departure_time is not None else None,
        energy_request_Wh=max(0.0, ev.energy_request_Wh - (ev.imported_Wh - ev.exported_Wh))
        if connected and ev.energy_request_Wh is not None else None)


def schedule_problem(schedule: ChargingSchedule) -> str | None:
    """Why a schedule cannot become a charging profile, or None."""
    periods = schedule.periods
    if not periods:
        return "a schedule needs at least one period"
    if periods[0].start_offset_s != 0:
        return "the first period must start at offset 0 (OCPP startPeriod 0)"
    if any(b.start_offset_s <= a.start_offset_s for a, b in zip(periods, periods[1:], strict=False)):
        return "period start offsets must increase"
    return None


def profile_periods(schedule: ChargingSchedule) -> tuple[datetime, list[SchedulePeriod]]:
    """OCPP 2.1 CentralSetpoint periods (W, negative discharges) and the absolute start."""
    start = datetime.fromtimestamp(schedule.start_s, UTC)
    periods = [SchedulePeriod(start_s=round(p.start_offset_s), operation_mode="CentralSetpoint", setpoint_W=p.setpoint_W)
               for p in schedule.periods]
    return start, periods
