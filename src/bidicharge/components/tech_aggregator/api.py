"""REST API of the technical aggregator: I-23 for the commercial aggregator, I-11 for the app.

FastAPI, OpenAPI at ``/openapi.json``. I-23 (bodies in ``interfaces/i23_flexibility.py``):

| method | path | body → answer |
|---|---|---|
| POST | ``/v1/i23/prices`` | ``PriceCurve`` → ``FlexibilityOffer`` (the envelope for that curve) |
| GET | ``/v1/i23/offer`` | the current offer (404 before the first) |
| POST | ``/v1/i23/schedule`` | ``PoolSchedule`` → ``ScheduleAnswer``; 422 naming the first violating interval |
| GET | ``/v1/i23/delivery`` | ``DeliveryReport``: sold and delivered power per finished interval |

I-11 is mounted from ``components/aggregator_app/api.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from bidicharge.components.aggregator_app.api import app_router
from bidicharge.components.interfaces.i23_flexibility import (
    DeliveryReport,
    FlexibilityOffer,
    PoolSchedule,
    PriceCurve,
    ScheduleAnswer,
)
from bidicharge.control.fleet_flexibility import InvalidCarData

if TYPE_CHECKING:
    from bidicharge.components.tech_aggregator import TechAggregator


def create_app(agg: TechAggregator) -> FastAPI:
    app = FastAPI(title="bidicharge technical aggregator (I-23, I-11)", version="1.0.0")

    @app.exception_handler(RequestValidationError)
    async def refused(request: Request, exc: RequestValidationError) -> JSONResponse:
        # without the echoed input: a NaN in it would make the answer itself invalid JSON
        return JSONResponse(status_code=422, content={"detail": [
            {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]})

    @app.post("/v1/i23/prices")
    def prices(curve: PriceCurve) -> FlexibilityOffer:
        try:
            return agg.make_offer(curve)
        except InvalidCarData as exc:  # the fleet's data, not the caller's: say which car
            raise HTTPException(503, f"fleet data inconsistent: {exc}") from None

    @app.get("/v1/i23/offer")
    def offer() -> FlexibilityOffer:
        if agg.offer is None:
            raise HTTPException(404, "no offer yet: POST a price curve to /v1/i23/prices")
        return agg.offer

    @app.post("/v1/i23/schedule")
    def schedule(body: PoolSchedule) -> ScheduleAnswer:
        answer = agg.accept_schedule(body)
        if not answer.accepted:
            loc = ["body", "power_W", answer.interval] if answer.interval is not None else ["body", "offer_id"]
            raise HTTPException(422, [{"loc": loc, "msg": answer.reason, "type": "outside_envelope",
                                       "interval": answer.interval}])
        return answer

    @app.get("/v1/i23/delivery")
    def delivery() -> DeliveryReport:
        return agg.delivery()

    app.include_router(app_router(agg))
    return app
