"""A bidder's access to the market: ``Link.request`` in studies, the REST API in live mode.

Bidders (trading system, commercial aggregator) hand messages of ``i2x_markets`` with a
callback for the answer. In a study the answer comes at once over the traced in-memory link;
live, the message is queued and a task of the bidder's ``serve`` carries it over HTTP
(``api.py``), records both directions in the trace (protocol ``REST (OpenAPI)``) and calls back
on the event loop. A 404 on results means "not cleared yet" (``published=False``); an HTTP
error is logged and the message dropped (results are polled again; bids are the bidder's to
resend).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from bidicharge.components.interfaces.i2x_markets import (
    REST,
    BidReceipt,
    MarketResults,
    ResultsRequest,
    SubmitCapacityBids,
    SubmitDayAheadBids,
)
from bidicharge.control.market_clearing import (
    Award,
    CapacityAward,
    CapacityProduct,
    MtuResult,
    Rejection,
    RejectReason,
    Side,
)

log = logging.getLogger(__name__)
Answer = Callable[[Any], None]


def _receipt(data: dict[str, Any]) -> BidReceipt:
    return BidReceipt(received_at_s=data["received_at_s"], accepted=tuple(data["accepted"]), rejected=tuple(
        Rejection(bid_id=r["bid_id"], reason=RejectReason(r["reason"]), detail=r["detail"]) for r in data["rejected"]))


def _results(day: float, data: dict[str, Any], bidder: str) -> MarketResults:
    awards, capacity = [], []
    for a in data["awards"]:
        if a["product"] == "day-ahead":
            awards.append(Award(bid_id=a["bid_id"], bidder_id=bidder, side=Side(a["side"]), mtu_index=a["index"],
                                accepted_power_MW=a["accepted_MW"], price_EUR_per_MWh=a["price"]))
        else:
            capacity.append(CapacityAward(bid_id=a["bid_id"], bidder_id=bidder, product=CapacityProduct(a["product"]),
                                          block_index=a["index"], accepted_MW=int(a["accepted_MW"]), price_EUR_per_MW=a["price"]))
    mtus = tuple(MtuResult(mtu_index=q, start_s=day + 900.0 * q, clearing_price_EUR_per_MWh=p, price_interval_EUR_per_MWh=None,
                           cleared_power_MW=0.0) for q, p in enumerate(data["prices_EUR_per_MWh"]))
    return MarketResults(delivery_day_start_s=day, published=True, mtus=mtus, awards=tuple(awards),
                         capacity_awards=tuple(capacity), rejections=tuple(
                             Rejection(bid_id=r["bid_id"], reason=RejectReason(r["reason"]), detail=r["detail"]) for r in data["rejected"]))


class MarketAccess:
    def __init__(self, component: Any, port: str) -> None:
        self.component = component
        self.port = port
        self._queue: asyncio.Queue[tuple[object, Answer]] | None = None

    def send(self, message: object, on_answer: Answer) -> None:
        if self._queue is not None:
            self._queue.put_nowait((message, on_answer))
            return
        link = self.component.link(self.port)
        if link is not None:
            on_answer(link.request(message))

    def _trace(self, source: str, target: str, message: object) -> None:
        ctx = self.component.context
        link = self.component.link(self.port)
        if ctx.trace.enabled and link is not None:
            ctx.trace.record(time_s=ctx.clock.now() if ctx.clock else self.component.now, interface=link.interface,
                             source=source, target=target, protocol=REST, message=type(message).__name__, payload=message)

    async def serve(self) -> None:
        """Live mode: carry the queued messages over the market's REST API until cancelled."""
        import httpx

        link = self.component.link(self.port)
        if link is None:
            return
        self._queue = asyncio.Queue()
        market = link.peer
        await market.ready.wait()
        tz = timezone(timedelta(hours=market.cfg.utc_offset_h))
        async with httpx.AsyncClient(base_url=market.api_url, timeout=10.0) as http:
            while True:
                message, on_answer = await self._queue.get()
                self._trace(self.component.name, market.name, message)
                try:
                    answer = await self._exchange(http, message, tz)
                except (httpx.HTTPError, KeyError, ValueError) as exc:
                    log.warning("%s: %s over REST failed: %s", self.component.name, type(message).__name__, exc)
                    continue
                self._trace(market.name, self.component.name, answer)
                on_answer(answer)

    async def _exchange(self, http: Any, message: object, tz: timezone) -> object:
        def day(start_s: float) -> str:
            return datetime.fromtimestamp(start_s + 1.0, tz).date().isoformat()

        if isinstance(message, SubmitDayAheadBids):
            body = {"bids": [{"bid_id": b.bid_id, "bidder_id": b.bidder_id, "side": b.side.value, "mtu_index": b.mtu_index,
                              "power_MW": b.power_MW, "price_EUR_per_MWh": b.price_EUR_per_MWh} for b in message.bids]}
            if not body["bids"]:
                return BidReceipt(received_at_s=self.component.now, accepted=(), rejected=())
            r = await http.post(f"/v1/day-ahead/{day(message.delivery_day_start_s)}/bids", json=body)
            r.raise_for_status()
            return _receipt(r.json())
        if isinstance(message, SubmitCapacityBids):
            body = {"bids": [{"bid_id": b.bid_id, "bidder_id": b.bidder_id, "product": b.product.value,
                              "block_index": b.block_index, "capacity_MW": b.capacity_MW,
                              "capacity_price_EUR_per_MW": b.capacity_price_EUR_per_MW} for b in message.bids]}
            if not body["bids"]:
                return BidReceipt(received_at_s=self.component.now, accepted=(), rejected=())
            r = await http.post(f"/v1/capacity/{day(message.delivery_day_start_s)}/bids", json=body)
            r.raise_for_status()
            return _receipt(r.json())
        if isinstance(message, ResultsRequest):
            r = await http.get(f"/v1/results/{day(message.delivery_day_start_s)}", params={"bidder_id": message.bidder_id})
            if r.status_code == 404:
                return MarketResults(delivery_day_start_s=message.delivery_day_start_s, published=False)
            r.raise_for_status()
            return _results(message.delivery_day_start_s, r.json(), message.bidder_id)
        raise ValueError(f"no REST mapping for {type(message).__name__}")
