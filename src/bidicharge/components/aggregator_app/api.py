"""I-11: the aggregator app's REST API and WebSocket push, served by the technical aggregator.

| method | path | what |
|---|---|---|
| GET | ``/v1/app/cars?user=`` | the user's cars (all for the fleet manager): connected, SoC, power and its direction, energy charged/discharged, cost, revenue, consent settings |
| GET | ``/v1/app/cars/{vin}`` | one car (404 if unknown) |
| GET | ``/v1/app/cars/{vin}/history`` | the car's 15-minute intervals: charged, discharged, price |
| WS | ``/v1/app/ws?user=`` | pushes the cars view (JSON) every ``period_s`` seconds of wall time |
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from typing import Any, Protocol

from fastapi import APIRouter, HTTPException, Path, Query, WebSocket, WebSocketDisconnect

from bidicharge.components.interfaces.i11_aggregator_app import CarsView, CarView, History, HistoryEntry


class AppSource(Protocol):
    def cars_view(self, user: str | None) -> CarsView: ...

    def history(self, vin: str) -> History: ...


VIN = Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$")


def app_router(source: AppSource, *, period_s: float = 1.0) -> APIRouter:
    router = APIRouter(prefix="/v1/app", tags=["I-11 aggregator app"])

    @router.get("/cars")
    def cars(user: str | None = Query(None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")) -> list[CarView]:
        return list(source.cars_view(user).cars)

    @router.get("/cars/{vin}")
    def car(vin: str = VIN) -> CarView:
        found = source.cars_view(vin).cars
        if not found:
            raise HTTPException(404, f"no car {vin!r}")
        return found[0]

    @router.get("/cars/{vin}/history")
    def history(vin: str = VIN) -> list[HistoryEntry]:
        if not source.cars_view(vin).cars:
            raise HTTPException(404, f"no car {vin!r}")
        return list(source.history(vin).entries)

    @router.websocket("/ws")
    async def push(websocket: WebSocket, user: str | None = None) -> None:
        await websocket.accept()
        try:
            while True:
                view: dict[str, Any] = asdict(source.cars_view(user))
                await websocket.send_text(json.dumps(view))
                await asyncio.sleep(period_s)
        except WebSocketDisconnect:
            pass

    return router
