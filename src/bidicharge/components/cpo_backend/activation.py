"""Balancing-reserve activations from the technical aggregator (I-14) to the stations (I-04).

The seed's I-25 asks that the TSO's control signals reach the plants "without delay"; the CPO
backend therefore sends them on at once, one SetChargingProfile per EVSE, in OCPP 2.1 terms:

* ``ActivateSetpoints`` (central FCR path, aFRR): a TxProfile with ``operationMode =
  CentralSetpoint`` and the EVSE's new ``setpoint`` (W, negative discharges), replacing the
  one in force (same purpose and stack level, OCPP 2.x K01);
* ``SetLocalFrequency`` (local FCR path): a TxProfile with ``operationMode = LocalFrequency``
  and the EVSE's ``v2xBaseline`` and ``v2xFreqWattCurve`` (frequency → power added to the
  baseline, W, + charges more: the station sets baseline + curve(f), see ``evse/ocpp_v2x.py``).
  The station measures the frequency itself; the backend is out of the fast loop.

Answers are per EVSE like schedules (``SetChargingSchedulesResult``): a station that is not
connected, has no transaction or answers Rejected is named with the reason; the rest go on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial
from typing import Any

from bidicharge.components.interfaces.i14_cpo_aggregator import (
    ActivateSetpoints,
    EvseFrequencyDroop,
    SetChargingSchedulesResult,
    SetLocalFrequency,
)
from bidicharge.protocols.ocppj import v2_1
from bidicharge.protocols.ocppj.memory import MemoryCallError

from . import i14
from .engine import SchedulePeriod


def activate_setpoints(backend: Any, message: ActivateSetpoints) -> SetChargingSchedulesResult:
    """Each activation becomes a CentralSetpoint profile to its station, sent now."""
    return _send_all(backend, [(a.evse_id, partial(_setpoint_periods, a.setpoint_W), None) for a in message.activations])


def set_local_frequency(backend: Any, message: SetLocalFrequency) -> SetChargingSchedulesResult:
    """Each droop becomes a LocalFrequency profile with its frequency-watt curve."""
    return _send_all(backend, [(d.evse_id, partial(_droop_periods, d), d) for d in message.droops])


def dispatch(backend: Any, message: ActivateSetpoints | SetLocalFrequency) -> SetChargingSchedulesResult:
    if isinstance(message, ActivateSetpoints):
        return activate_setpoints(backend, message)
    return set_local_frequency(backend, message)


def curve_problem(droop: EvseFrequencyDroop) -> str | None:
    """Why a curve cannot go on the wire (OCPP 2.1: 1..20 points), or None."""
    points = droop.curve
    if not 1 <= len(points) <= 20:
        return f"a frequency-watt curve has 1 to 20 points, not {len(points)}"
    if any(b.frequency_Hz <= a.frequency_Hz for a, b in zip(points, points[1:], strict=False)):
        return "curve frequencies must increase"
    return None


def _setpoint_periods(setpoint_W: float) -> list[SchedulePeriod]:
    return [SchedulePeriod(operation_mode="CentralSetpoint", setpoint_W=round(setpoint_W, 1))]


def _droop_periods(droop: EvseFrequencyDroop) -> list[SchedulePeriod]:
    return [SchedulePeriod(operation_mode="LocalFrequency")]


def _with_curve(request: Any, droop: EvseFrequencyDroop) -> Any:
    """The engine builds the profile; the curve and the baseline go into its one period."""
    schedule = request.charging_profile.charging_schedule[0]
    period = schedule.charging_schedule_period[0]
    curve = tuple(v2_1.V2XFreqWattPointType(frequency=p.frequency_Hz, power=round(p.power_W, 1)) for p in droop.curve)
    # OCPP 2.1 adds the v2xFreqWattCurve value *on top of* v2xBaseline (evse/ocpp_v2x.py): the
    # curve carries the droop around the baseline, the baseline the EVSE's operating point
    period = dataclasses.replace(period, v2x_freq_watt_curve=curve, v2x_baseline=round(droop.baseline_W, 1))
    schedule = dataclasses.replace(schedule, charging_schedule_period=(period,))
    profile = dataclasses.replace(request.charging_profile, charging_schedule=(schedule,))
    return dataclasses.replace(request, charging_profile=profile)


def _send_all(backend: Any, items: list[tuple[str, Callable[[], list[SchedulePeriod]], EvseFrequencyDroop | None]],
              ) -> SetChargingSchedulesResult:
    accepted, rejected = 0, []
    for evse_name, periods, droop in items:
        why = _send_one(backend, evse_name, periods, droop)
        if why is None:
            accepted += 1
        else:
            rejected.append((evse_name, why))
            backend.refused.append((evse_name, why))
    return SetChargingSchedulesResult(accepted=accepted, rejected=tuple(rejected))


def _send_one(backend: Any, evse_name: str, periods: Callable[[], list[SchedulePeriod]],
              droop: EvseFrequencyDroop | None) -> str | None:
    if droop is not None and (problem := curve_problem(droop)) is not None:
        return problem
    try:
        station, evse_id = i14.parse_evse_id(evse_name)
        endpoint = backend.engine.sessions.get(station)
        if endpoint is None:
            return "not connected"
        request = backend.engine.charging_profile_request(station, endpoint.version, evse_id, periods())
        if droop is not None:
            request = _with_curve(request, droop)
        status = backend.engine.profile_answered(station, request, backend.call_station(station, request))
    except (LookupError, ValueError, MemoryCallError) as exc:
        return str(exc)
    return None if status == "Accepted" else f"station answered {status}"
