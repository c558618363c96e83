"""REST API of the CPO backend for the technical aggregator (I-14), FastAPI with OpenAPI at ``/docs``.

* ``GET  /v1/evs`` — live data per EVSE: connected, transaction, SoC, energy imported and
  exported, the EV's requested energy transfer, departure time, V2X power limits, energy request.
* ``POST /v1/evs/{station}/{evse_id}/setpoint`` — a V2X setpoint (W; negative = discharge),
  sent as SetChargingProfile with OCPP 2.1 ``operationMode`` (default ``CentralSetpoint``).
* ``POST /v1/evs/{station}/{evse_id}/schedule`` — a schedule of periods (limits/setpoints in W;
  OCPP 2.1 V2X: ``operation_mode``, ``baseline_W``, ``freq_watt_curve`` for LocalFrequency,
  ``signal_watt_curve`` for CentralFrequency; ``kind: Dynamic`` for later updates).
* ``POST /v1/evs/{station}/dynamic`` — UpdateDynamicSchedule (new setpoint/limits of a Dynamic profile).
* ``POST /v1/evs/{station}/afrr-signal`` — AFRRSignal (the signal in force from ``at``).

Answers carry the station's status (``Accepted``/``Rejected``); a station that is not connected
is 404, a request OCPP cannot carry (e.g. a setpoint to a 2.0.1 station, or a TxProfile
without a transaction) 409, a station that refused or did not answer the call 502.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, HTTPException
from pydantic import BaseModel, Field

from bidicharge.transports.ocpp_websocket import OcppCallError

from .engine import CsmsEngine, SchedulePeriod

OperationMode = Literal["ChargingOnly", "CentralSetpoint", "ExternalSetpoint", "ExternalLimits", "CentralFrequency",
                        "LocalFrequency", "LocalLoadBalancing", "Idle"]


class LiveEvOut(BaseModel):
    station: str
    evse_id: int
    connected: bool
    transaction_id: str | None
    soc: float | None = Field(description="state of charge 0..1")
    imported_Wh: float = Field(description="energy into the vehicle in this transaction")
    exported_Wh: float = Field(description="energy out of the vehicle in this transaction")
    requested_energy_transfer: str | None
    departure_time: datetime | None
    max_charge_power_W: float | None
    max_discharge_power_W: float | None
    energy_request_Wh: float | None
    vehicle_id: str | None = Field(default=None, description="idToken of the open transaction: the car's EVCCID "
                                   "(MacAddress), contract id (eMAID) or the token configured at the wallbox")


class SetpointIn(BaseModel):
    setpoint_W: float = Field(description="positive charges the vehicle, negative discharges it")
    max_discharge_W: float | None = Field(default=None, ge=0, description="discharge power limit (magnitude)")
    limit_W: float | None = Field(default=None, ge=0, description="charge power limit")
    operation_mode: OperationMode = "CentralSetpoint"


class PeriodIn(BaseModel):
    start_s: int = Field(ge=0)
    operation_mode: OperationMode = "ChargingOnly"
    limit_W: float | None = Field(default=None, ge=0)
    setpoint_W: float | None = None
    max_discharge_W: float | None = Field(default=None, ge=0)
    baseline_W: float | None = Field(default=None, description="v2xBaseline: the curves add to it")
    freq_watt_curve: list[tuple[float, float]] | None = Field(
        default=None, min_length=2, max_length=20, description="LocalFrequency: [[Hz, W], ...] (v2xFreqWattCurve)")
    signal_watt_curve: list[tuple[int, float]] | None = Field(
        default=None, min_length=2, max_length=20, description="CentralFrequency: [[aFRR signal, W], ...]")


class ScheduleIn(BaseModel):
    periods: list[PeriodIn] = Field(min_length=1, max_length=1024)
    start: datetime | None = None
    purpose: Literal["TxProfile", "TxDefaultProfile"] = "TxProfile"
    kind: Literal["Absolute", "Dynamic"] = Field("Absolute", description="Dynamic: updated by POST .../dynamic")


class DynamicUpdateIn(BaseModel):
    profile_id: int = Field(ge=1, description="the Dynamic profile to update (UpdateDynamicSchedule)")
    setpoint_W: float | None = None
    limit_W: float | None = Field(default=None, ge=0)
    max_discharge_W: float | None = Field(default=None, ge=0)


class AfrrSignalIn(BaseModel):
    signal: int = Field(description="an x of the profile's signal curve (v2xSignalWattCurve)")
    at: datetime | None = Field(default=None, description="when it takes effect (default: now)")


class StatusOut(BaseModel):
    status: str


def router(engine: CsmsEngine) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["I-14 aggregator"])

    @api.get("/evs", response_model=list[LiveEvOut])
    async def live_evs() -> list[LiveEvOut]:  # from memory: on the event loop, not in a thread beside it
        return [LiveEvOut(**{f: getattr(ev, f) for f in LiveEvOut.model_fields}) for ev in engine.live_evs()]

    async def send(station: str, evse_id: int, periods: list[SchedulePeriod], start: datetime | None,
                   purpose: str, kind: str = "Absolute") -> StatusOut:
        return await answer(station, engine.set_charging_schedule(station, evse_id, periods, start=start,
                                                                  purpose=purpose, kind=kind))

    async def answer(station: str, pending: Any) -> StatusOut:
        if station not in engine.sessions:
            pending.close()
            raise HTTPException(404, f"station {station} is not connected")
        try:
            status = await pending
        except (LookupError, ValueError) as exc:
            raise HTTPException(409, str(exc)) from None
        except (OcppCallError, ConnectionError) as exc:
            raise HTTPException(502, f"station {station}: {exc}") from None
        return StatusOut(status=status)

    @api.post("/evs/{station}/{evse_id}/setpoint", response_model=StatusOut)
    async def setpoint(station: str, evse_id: int, body: SetpointIn) -> StatusOut:
        period = SchedulePeriod(operation_mode=body.operation_mode, setpoint_W=body.setpoint_W,
                                max_discharge_W=body.max_discharge_W, limit_W=body.limit_W)
        return await send(station, evse_id, [period], None, "TxProfile")

    @api.post("/evs/{station}/{evse_id}/schedule", response_model=StatusOut)
    async def schedule(station: str, evse_id: int, body: ScheduleIn) -> StatusOut:
        periods = [SchedulePeriod(start_s=p.start_s, operation_mode=p.operation_mode, limit_W=p.limit_W,
                                  setpoint_W=p.setpoint_W, max_discharge_W=p.max_discharge_W, baseline_W=p.baseline_W,
                                  freq_watt_curve=None if p.freq_watt_curve is None else tuple(p.freq_watt_curve),
                                  signal_watt_curve=None if p.signal_watt_curve is None else tuple(p.signal_watt_curve))
                   for p in body.periods]
        return await send(station, evse_id, periods, body.start, body.purpose, body.kind)

    @api.post("/evs/{station}/dynamic", response_model=StatusOut)
    async def dynamic(station: str, body: DynamicUpdateIn) -> StatusOut:
        """UpdateDynamicSchedule: a new setpoint/limit for a Dynamic profile (e.g. CentralFrequency)."""
        return await answer(station, engine.update_dynamic_schedule(
            station, body.profile_id, setpoint_W=body.setpoint_W, limit_W=body.limit_W,
            max_discharge_W=body.max_discharge_W))

    @api.post("/evs/{station}/afrr-signal", response_model=StatusOut)
    async def afrr_signal(station: str, body: AfrrSignalIn) -> StatusOut:
        """AFRRSignal to the station (CentralFrequency with a v2xSignalWattCurve)."""
        return await answer(station, engine.send_afrr_signal(station, body.at or engine.now(), body.signal))

    return api


def create_app(engine: CsmsEngine) -> FastAPI:
    app = FastAPI(title="bidicharge CPO backend — aggregator API (I-14)", version="1")
    app.include_router(router(engine))
    return app
