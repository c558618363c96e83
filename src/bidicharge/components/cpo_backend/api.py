"""REST API of the CPO backend for the technical aggregator (I-14), FastAPI with OpenAPI at ``/docs``.

* ``GET  /v1/evs`` — live data per EVSE: connected, transaction, SoC, energy imported and
  exported, the EV's requested energy transfer, departure time, V2X power limits, energy request.
* ``POST /v1/evs/{station}/{evse_id}/setpoint`` — a V2X setpoint (W; negative = discharge),
  sent as SetChargingProfile with OCPP 2.1 ``operationMode`` (default ``CentralSetpoint``).
* ``POST /v1/evs/{station}/{evse_id}/schedule`` — a schedule of periods (limits/setpoints in W).

Answers carry the station's status (``Accepted``/``Rejected``); a station that is not connected
is 404, a request OCPP cannot carry (e.g. a setpoint to a 2.0.1 station, or a TxProfile
without a transaction) 409, a station that refused or did not answer the call 502.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

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


class ScheduleIn(BaseModel):
    periods: list[PeriodIn] = Field(min_length=1, max_length=1024)
    start: datetime | None = None
    purpose: Literal["TxProfile", "TxDefaultProfile"] = "TxProfile"


class StatusOut(BaseModel):
    status: str


def router(engine: CsmsEngine) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["I-14 aggregator"])

    @api.get("/evs", response_model=list[LiveEvOut])
    def live_evs() -> list[LiveEvOut]:
        return [LiveEvOut(**{f: getattr(ev, f) for f in LiveEvOut.model_fields}) for ev in engine.live_evs()]

    async def send(station: str, evse_id: int, periods: list[SchedulePeriod], start: datetime | None,
                   purpose: str) -> StatusOut:
        if station not in engine.sessions:
            raise HTTPException(404, f"station {station} is not connected")
        try:
            status = await engine.set_charging_schedule(station, evse_id, periods, start=start, purpose=purpose)
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
                                  setpoint_W=p.setpoint_W, max_discharge_W=p.max_discharge_W) for p in body.periods]
        return await send(station, evse_id, periods, body.start, body.purpose)

    return api


def create_app(engine: CsmsEngine) -> FastAPI:
    app = FastAPI(title="bidicharge CPO backend — aggregator API (I-14)", version="1")
    app.include_router(router(engine))
    return app
