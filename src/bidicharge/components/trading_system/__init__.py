"""Trading system (C-TRADING): markets the plants of its operators.

Once a day (and for the running day in the first step) it asks every operator for the
plants' availability (I-48), bids each plant into the day-ahead auction (I-54): the must-run
power price-independent (at the −500 €/MWh floor), the rest at the plant's marginal cost,
every quarter-hour, rounded down to the 0.1 MW tick. When the results are published it adds up
each plant's awards into a quarter-hourly schedule and sends it to the operator (I-48).
Rejections from the market are kept and reported.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from pydantic import Field

from bidicharge.components.energy_market.client import MarketAccess
from bidicharge.components.interfaces.i2x_markets import (
    REST,
    AvailabilityRequest,
    BidReceipt,
    MarketResults,
    PlantAvailability,
    PlantSchedules,
    ResultsRequest,
    SubmitDayAheadBids,
)
from bidicharge.control.market_clearing import Bid, Side
from bidicharge.runtime.clock import Clock
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import requires

DAY_S = 86_400.0


class TradingConfig(ComponentConfig):
    bidder_id: str = "trading"
    utc_offset_h: float = Field(1.0, ge=-12, le=14)
    bid_time: str = Field("11:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="local time the next day is bid")
    results_poll_s: float = Field(60.0, gt=0)


@component_type
class TradingSystem(Component):
    kind = "trading_system"
    catalogue_id = "C-TRADING"
    Config = TradingConfig
    PORTS = (
        requires("operators", "I-48", "in-memory", wire_protocol="AS4", many=True),
        requires("energy_market", "I-54", REST),
        requires("services_market", "I-53", REST, optional=True),
    )
    phase = Phase.CONTROL
    OBSERVABLES: ClassVar[tuple[str, ...]] = ("sold_MW",)

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.cfg: TradingConfig = config
        self.bid_days: set[float] = set()
        self.results: dict[float, MarketResults] = {}
        self.plant_of_bid: dict[str, tuple[str, str]] = {}  # bid id -> (operator port index, plant)
        self.rejections: list[str] = []
        self.sold_MW: dict[int, float] = {}
        self._next_poll = -math.inf
        self.market = MarketAccess(self, "energy_market")

    def _day_start(self, t: float) -> float:
        off = self.cfg.utc_offset_h * 3600.0
        return math.floor((t + off) / DAY_S) * DAY_S - off

    def _bid(self, day: float, now: float) -> None:
        self.bid_days.add(day)
        self._next_poll = now + 1e-6  # the results may be out by the next step (first day)
        bids: list[Bid] = []
        for k, link in enumerate(self.peers("operators")):
            avail: PlantAvailability = link.request(AvailabilityRequest(delivery_day_start_s=day))
            for plant in avail.plants:
                must = math.floor(plant.must_run_MW * 10) / 10
                rest = math.floor((plant.available_MW - plant.must_run_MW) * 10) / 10
                for q in range(96):
                    for tag, power, price in (("must", must, -500.0), ("free", rest, plant.marginal_cost_EUR_per_MWh)):
                        if power < 0.1:
                            continue
                        bid_id = f"{self.cfg.bidder_id}-{int(day)}-{plant.plant_id}-{tag}-{q}"
                        self.plant_of_bid[bid_id] = (str(k), plant.plant_id)
                        bids.append(Bid(bid_id=bid_id, bidder_id=self.cfg.bidder_id, side=Side.SELL, mtu_index=q,
                                        power_MW=power, price_EUR_per_MWh=round(price, 2), submitted_at_s=now))
        self.market.send(SubmitDayAheadBids(delivery_day_start_s=day, bids=tuple(bids)), self._on_receipt)

    def _on_receipt(self, receipt: BidReceipt) -> None:
        self.rejections += [f"{r.bid_id}: {r.reason.value} ({r.detail})" for r in receipt.rejected]

    def _poll(self, now: float) -> None:
        if now < self._next_poll:
            return
        self._next_poll = now + self.cfg.results_poll_s
        for day in sorted(self.bid_days - set(self.results)):
            self.market.send(ResultsRequest(bidder_id=self.cfg.bidder_id, delivery_day_start_s=day),
                             lambda res, day=day: self._take_results(day, res))

    def _take_results(self, day: float, res: MarketResults) -> None:
        if res.published and day not in self.results:
            self.results[day] = res
            self._send_schedules(day, res)

    def _send_schedules(self, day: float, res: MarketResults) -> None:
        per_op: dict[str, dict[str, list[float]]] = {}
        for award in res.awards:
            op, plant = self.plant_of_bid[award.bid_id]
            per_op.setdefault(op, {}).setdefault(plant, [0.0] * 96)[award.mtu_index] += award.accepted_power_MW
            mtu = int(day // 900) + award.mtu_index
            self.sold_MW[mtu] = self.sold_MW.get(mtu, 0.0) + award.accepted_power_MW
        for k, link in enumerate(self.peers("operators")):
            plants = per_op.get(str(k), {})
            avail = {p for (o, p) in self.plant_of_bid.values() if o == str(k)}
            schedule = {p: tuple(plants.get(p, [0.0] * 96)) for p in sorted(avail)}
            ack = link.request(PlantSchedules(delivery_day_start_s=day, step_s=900.0, generation_MW=schedule))
            if not ack.accepted:
                self.rejections.append(f"{link.peer.name}: schedule refused ({ack.detail})")

    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        day = self._day_start(now)
        if not self.bid_days:  # the running day, auctioned at the run's start
            self._bid(day, now)
        bid_at = day + int(self.cfg.bid_time[:2]) * 3600.0 + int(self.cfg.bid_time[3:]) * 60.0
        if now >= bid_at and day + DAY_S not in self.bid_days:
            self._bid(day + DAY_S, now)
        self._poll(now)

    def observe(self) -> tuple[float, ...]:
        return (self.sold_MW.get(int(self.now // 900), 0.0),)

    def report(self) -> dict[str, Any]:
        return {"days_bid": len(self.bid_days), "days_settled": len(self.results), "rejections": list(self.rejections)}

    async def serve(self, clock: Clock) -> None:
        """Live mode: bids and results over the market's REST API (I-54)."""
        await self.market.serve()
