"""The OEM backend's REST APIs: the BEV app (I-12, with a WebSocket push) and the aggregator (I-13).

FastAPI, OpenAPI at ``/openapi.json``. Every field of a body is range-checked; a refused
request is answered 422 with FastAPI's usual ``detail`` list whose ``loc`` names the field.

I-12, BEV app (the owner):

| method | path | what |
|---|---|---|
| GET | ``/v1/vehicles/{vin}`` | the car: status (SoC, home/away, plugged) and the owner's settings |
| PUT | ``/v1/vehicles/{vin}/settings`` | departure, target SoC, minimum SoC for discharge, V2G consent, aggregator; sent to the car |
| WS | ``/v1/vehicles/{vin}/ws`` | pushes the car's view (JSON) on connect and on every change |

I-13, aggregator (``Authorization: Bearer <token>``; a token names one aggregator; each car
only when its owner authorised that aggregator, else 403):

| method | path | what |
|---|---|---|
| GET | ``/v1/aggregator/vehicles`` | every authorised car |
| GET | ``/v1/aggregator/vehicles/{vin}`` | one car |
| POST | ``/v1/aggregator/vehicles/{vin}/soc`` | an SoC setting (``max_soc``, ``min_soc``); 409 with the reason when the owner's settings forbid it |
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Header, HTTPException, Path, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field

from bidicharge.components.interfaces.i02_telematics import (
    OwnerSettings,
    SocCommand,
    VehicleView,
    settings_problem,
)
from bidicharge.components.oem_backend.store import CommandRefused, OemStore

VIN = Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="the vehicle's id")


class SocSetting(BaseModel):
    max_soc: float = Field(ge=0, le=1, description="charge no higher than this")
    min_soc: float = Field(ge=0, le=1, description="discharge no lower than this")


def _field_error(field: str, message: str) -> HTTPException:
    return HTTPException(422, [{"loc": ["body", field], "msg": message, "type": "value_error"}])


def create_app(
    store: OemStore,
    *,
    now: Callable[[], float],
    tokens: dict[str, str],
    send_settings: Callable[[str, OwnerSettings], Awaitable[None]],
    send_command: Callable[[SocCommand], Awaitable[None]],
) -> FastAPI:
    app = FastAPI(title="bidicharge OEM backend (I-12 BEV app, I-13 aggregator)", version="1.0.0")

    def known(vin: str) -> VehicleView:
        view = store.view(vin)
        if view is None:
            raise HTTPException(404, f"no vehicle {vin!r}")
        return view

    @app.get("/v1/vehicles/{vin}")
    def vehicle(vin: str = VIN) -> VehicleView:
        return known(vin)

    @app.put("/v1/vehicles/{vin}/settings")
    async def put_settings(settings: OwnerSettings, vin: str = VIN) -> OwnerSettings:
        known(vin)
        problem = settings_problem(settings, now_s=now())
        if problem is not None:
            raise _field_error(*problem)
        store.put_settings(vin, settings)
        try:
            await send_settings(vin, settings)
        except TimeoutError:
            raise HTTPException(503, "settings stored; the broker is unreachable, the car gets them when it "
                                     "reconnects (retained)") from None
        return settings

    @app.websocket("/v1/vehicles/{vin}/ws")
    async def push(websocket: WebSocket, vin: str) -> None:
        await websocket.accept()
        queue: asyncio.Queue[VehicleView] = asyncio.Queue(maxsize=100)

        def on_change(view: VehicleView) -> None:
            if view.vin == vin and not queue.full():
                queue.put_nowait(view)

        unsubscribe = store.subscribe(on_change)
        try:
            view = store.view(vin)
            if view is not None:
                await websocket.send_text(view.model_dump_json())
            while True:
                await websocket.send_text((await queue.get()).model_dump_json())
        except WebSocketDisconnect:
            pass
        finally:
            unsubscribe()

    def aggregator_of(authorization: str | None) -> str:
        if authorization is None or not authorization.startswith("Bearer "):
            raise HTTPException(401, "missing bearer token")
        aggregator = tokens.get(authorization.removeprefix("Bearer ").strip())
        if aggregator is None:
            raise HTTPException(401, "unknown token")
        return aggregator

    @app.get("/v1/aggregator/vehicles")
    def aggregator_vehicles(authorization: str | None = Header(None)) -> list[VehicleView]:
        return store.for_aggregator(aggregator_of(authorization))

    @app.get("/v1/aggregator/vehicles/{vin}")
    def aggregator_vehicle(vin: str = VIN, authorization: str | None = Header(None)) -> VehicleView:
        aggregator = aggregator_of(authorization)
        view = known(vin)
        if not store.authorised(vin, aggregator):
            raise HTTPException(403, f"the owner of {vin} has not authorised {aggregator!r}")
        return view

    @app.post("/v1/aggregator/vehicles/{vin}/soc", status_code=202)
    async def soc_setting(setting: SocSetting, vin: str = VIN, authorization: str | None = Header(None)) -> SocCommand:
        aggregator = aggregator_of(authorization)
        known(vin)
        if not store.authorised(vin, aggregator):
            raise HTTPException(403, f"the owner of {vin} has not authorised {aggregator!r}")
        if setting.min_soc > setting.max_soc:
            raise _field_error("min_soc", f"min_soc ({setting.min_soc}) is above max_soc ({setting.max_soc})")
        command = SocCommand(vin=vin, aggregator=aggregator, time_s=now(), max_soc=setting.max_soc,
                             min_soc=setting.min_soc)
        try:
            store.accept_command(command)
        except CommandRefused as exc:
            raise HTTPException(409, str(exc)) from None
        try:
            await send_command(command)
        except TimeoutError:
            raise HTTPException(503, "accepted, but the broker is unreachable") from None
        return command

    return app
