"""I-14 technical aggregator – CPO backend: live EV data in, charging schedules back.

The seed names OCPP 2.0.1 / IEC 63110. The CPO backend of the OCPP issue
(``components/cpo_backend``) serves this contract as REST (``GET /v1/evs``,
``POST /v1/evs/{station}/{evse}/schedule``) and turns schedules into SetChargingProfile; in a
study the contract travels in memory as these messages, answered by the ``cpo_backend``
component from its OCPP stations (e.g. the ``charging_park``'s EVSEs, one station each).

A schedule is shaped like OCPP 2.1's ``ChargingSchedule`` with ``operationMode =
CentralSetpoint``: periods with a start offset and a setpoint in W (positive = charge,
negative = discharge, K01/Q-block V2X semantics). The CPO backend answers per EVSE: accepted,
or rejected with a reason (not connected, no transaction, what the station answered).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class EvseLive:
    evse_id: str
    connected: bool
    vehicle_id: str | None  # from Plug & Charge (ISO 15118 contract) when connected
    soc: float | None  # from ISO 15118-20 DisplayParameters
    power_W: float  # measured, positive = into the vehicle
    setpoint_W: float | None
    max_charge_power_W: float
    max_discharge_power_W: float
    imported_Wh: float  # meter registers since the start, never going back
    exported_Wh: float
    departure_s: float | None = None  # the car's departure, from its charging needs (K15)
    energy_request_Wh: float | None = None  # still wanted by the departure, grid side (K15 minus this session's net)


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveDataRequest:
    evse_ids: tuple[str, ...] = ()  # empty: all


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveData:
    time_s: float
    evses: tuple[EvseLive, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class SchedulePeriod:
    start_offset_s: float
    setpoint_W: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargingSchedule:
    evse_id: str
    start_s: float
    periods: tuple[SchedulePeriod, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class SetChargingSchedules:
    schedules: tuple[ChargingSchedule, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class SetChargingSchedulesResult:
    accepted: int
    rejected: tuple[tuple[str, str], ...] = ()  # (evse_id, reason)


# --- balancing reserves (the seed's I-25 through I-14 and I-04) ----------------------------
# An activation goes out at once as one SetChargingProfile per EVSE (OCPP 2.1 operationMode
# ``CentralSetpoint``); the local FCR path sets ``LocalFrequency`` profiles once, with the
# frequency-watt curve (``v2xFreqWattCurve``) each EVSE then follows itself.


@dataclass(frozen=True, slots=True, kw_only=True)
class EvseActivation:
    evse_id: str
    setpoint_W: float  # + charges, − discharges


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivateSetpoints:
    """Reserve activation: each EVSE to its setpoint now, until the next activation."""

    activation_id: str
    time_s: float
    activations: tuple[EvseActivation, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class FreqWattPoint:
    frequency_Hz: float
    power_W: float  # added to the baseline; + charges more, − less (OCPP 2.1 V2XFreqWattPointType)


@dataclass(frozen=True, slots=True, kw_only=True)
class EvseFrequencyDroop:
    evse_id: str
    baseline_W: float  # v2xBaseline: + charges, − discharges
    curve: tuple[FreqWattPoint, ...]  # ascending frequency; the EVSE interpolates, flat outside


@dataclass(frozen=True, slots=True, kw_only=True)
class SetLocalFrequency:
    time_s: float
    droops: tuple[EvseFrequencyDroop, ...]
