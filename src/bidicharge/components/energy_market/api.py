"""I-44 / I-53 / I-54: the market's REST API (FastAPI; OpenAPI at /openapi.json).

| method | path | what |
|---|---|---|
| POST | /v1/day-ahead/{delivery_day}/bids | day-ahead limit orders (15-min products) → receipt |
| POST | /v1/capacity/{delivery_day}/bids | FCR / aFRR± capacity offers (4-hour blocks) → receipt |
| GET | /v1/results/{delivery_day}?bidder_id= | prices, the bidder's awards and rejections (404 before clearing) |
| GET | /v1/day-ahead/{delivery_day}/prices | public clearing prices per quarter-hour (404 before clearing) |

``delivery_day`` is the local date (``YYYY-MM-DD``). A body that does not fit the schema
(missing or mistyped field, unknown side, non-finite number, unknown field) is refused as a
whole with 422, the offending field named in ``detail[].loc``; nothing of it is taken. Bids
that fit the schema but break a market rule (late, off the 0.1 MW / 0.01 €/MWh tick, price
outside −500…4000 €/MWh, below the minimum, duplicate id) are refused one by one in the 200
receipt, each with its reason and a detail. Handlers run on the event loop, so they never
interleave with the study step of the market.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Literal

from fastapi import FastAPI, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from bidicharge.control.market_clearing import Bid, CapacityBid, CapacityProduct, Side
from bidicharge.runtime.clock import Clock

if TYPE_CHECKING:
    from bidicharge.components.energy_market import EnergyMarket


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DayAheadBidIn(_Strict):
    bid_id: str = Field(..., min_length=1, max_length=80)
    bidder_id: str = Field(..., min_length=1, max_length=80)
    side: Literal["buy", "sell"]
    mtu_index: int = Field(..., ge=0, le=99, description="0 = 00:00–00:15 local of the delivery day")
    power_MW: float = Field(..., gt=0, allow_inf_nan=False)
    price_EUR_per_MWh: float = Field(..., allow_inf_nan=False)


class CapacityBidIn(_Strict):
    bid_id: str = Field(..., min_length=1, max_length=80)
    bidder_id: str = Field(..., min_length=1, max_length=80)
    product: Literal["FCR", "aFRR+", "aFRR-"]
    block_index: int = Field(..., ge=0, le=5, description="4-hour block, 0 = 00:00–04:00 local")
    capacity_MW: float = Field(..., gt=0, allow_inf_nan=False)
    capacity_price_EUR_per_MW: float = Field(..., ge=0, allow_inf_nan=False)


class DayAheadSubmission(_Strict):
    bids: list[DayAheadBidIn] = Field(..., min_length=1, max_length=200_000)


class CapacitySubmission(_Strict):
    bids: list[CapacityBidIn] = Field(..., min_length=1, max_length=10_000)


class RejectionOut(BaseModel):
    bid_id: str
    reason: str
    detail: str


class Receipt(BaseModel):
    received_at_s: float
    accepted: list[str]
    rejected: list[RejectionOut]


class AwardOut(BaseModel):
    bid_id: str
    product: str  # "day-ahead", "FCR", "aFRR+", "aFRR-"
    index: int  # quarter-hour or block
    side: str | None
    accepted_MW: float
    price: float  # €/MWh (day-ahead) or €/MW per block (capacity)


class Results(BaseModel):
    delivery_day: date
    prices_EUR_per_MWh: list[float | None]
    awards: list[AwardOut]
    rejected: list[RejectionOut]


def create_app(market: EnergyMarket, clock: Clock) -> FastAPI:
    app = FastAPI(title="bidicharge energy market (I-44, I-53, I-54)", version="1.0.0")
    tz = timezone(timedelta(hours=market.cfg.utc_offset_h))

    def day_start(day: date) -> float:
        return datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()

    def receipt(r: object) -> Receipt:
        return Receipt(received_at_s=r.received_at_s, accepted=list(r.accepted),  # type: ignore[attr-defined]
                       rejected=[RejectionOut(bid_id=x.bid_id, reason=x.reason.value, detail=x.detail) for x in r.rejected])  # type: ignore[attr-defined]

    @app.post("/v1/day-ahead/{delivery_day}/bids")
    async def day_ahead_bids(delivery_day: date, body: DayAheadSubmission) -> Receipt:
        now = clock.now()
        bids = tuple(Bid(bid_id=b.bid_id, bidder_id=b.bidder_id, side=Side(b.side), mtu_index=b.mtu_index,
                         power_MW=b.power_MW, price_EUR_per_MWh=b.price_EUR_per_MWh, submitted_at_s=now) for b in body.bids)
        return receipt(market.submit_day_ahead(day_start(delivery_day), bids, now))

    @app.post("/v1/capacity/{delivery_day}/bids")
    async def capacity_bids(delivery_day: date, body: CapacitySubmission) -> Receipt:
        now = clock.now()
        bids = tuple(CapacityBid(bid_id=b.bid_id, bidder_id=b.bidder_id, product=CapacityProduct(b.product),
                                 block_index=b.block_index, capacity_MW=b.capacity_MW,
                                 capacity_price_EUR_per_MW=b.capacity_price_EUR_per_MW, submitted_at_s=now) for b in body.bids)
        return receipt(market.submit_capacity(day_start(delivery_day), bids, now))

    @app.get("/v1/results/{delivery_day}")
    async def results(delivery_day: date, bidder_id: str = Query(..., min_length=1)) -> Results:
        r = market.results(bidder_id, day_start(delivery_day))
        if not r.published:
            raise HTTPException(404, f"the auctions of {delivery_day} have not cleared yet")
        awards = [AwardOut(bid_id=a.bid_id, product="day-ahead", index=a.mtu_index, side=a.side.value,
                           accepted_MW=a.accepted_power_MW, price=a.price_EUR_per_MWh) for a in r.awards]
        awards += [AwardOut(bid_id=a.bid_id, product=a.product.value, index=a.block_index, side=None,
                            accepted_MW=a.accepted_MW, price=a.price_EUR_per_MW) for a in r.capacity_awards]
        return Results(delivery_day=delivery_day, prices_EUR_per_MWh=[m.clearing_price_EUR_per_MWh for m in r.mtus],
                       awards=awards,
                       rejected=[RejectionOut(bid_id=x.bid_id, reason=x.reason.value, detail=x.detail) for x in r.rejections])

    @app.get("/v1/day-ahead/{delivery_day}/prices")
    async def prices(delivery_day: date) -> list[float | None]:
        r = market.results("", day_start(delivery_day))
        if not r.published:
            raise HTTPException(404, f"the day-ahead auction of {delivery_day} has not cleared yet")
        return [m.clearing_price_EUR_per_MWh for m in r.mtus]

    return app
