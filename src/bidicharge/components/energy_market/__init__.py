"""Energy market (C-MARKET): day-ahead auction in 15-minute products and the system-services
capacity auction (FCR, aFRR+, aFRR−), both pay-as-cleared (``control.market_clearing``).

Bids come in over I-44 (commercial aggregators), I-54 (trading systems, day-ahead) and I-53
(trading systems, capacity); receipts name every refused bid with its reason, and results go
back per bidder once the auction of the delivery day has cleared. Exchanges take bids over
their own APIs rather than IEC 60870-5-104 (the seed names 104 for I-53/I-54), so in live mode
the market serves a REST API (``api.py``, FastAPI on a free loopback port; a body that does not
fit the schema is answered 422 naming the field); in study mode the same messages travel over
``Link.request``.

Timeline per delivery day D (local midnight to midnight, ``utc_offset_h``): capacity gate
closure D−1 ``capacity_gate_closure`` (08:00), day-ahead gate closure D−1 ``day_ahead_gate_closure``
(12:00); bids arriving later are refused as ``late``. The day the run starts in was auctioned
"before the run": its gates close at the run's start, so bids sent in the first step count.

The area's demand that suppliers buy is not a component yet (I-46/I-30 are MaKo's): with
``supplier_demand`` the market adds price-independent buy orders for the quarter-hourly mean of
the high-voltage grid's load profile (the same profile ``hv_grid`` draws, without its noise).
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from bidicharge.components.hv_grid import HvGridConfig, area_load_MW
from bidicharge.components.interfaces.i2x_markets import (
    REST,
    BidReceipt,
    MarketResults,
    ResultsRequest,
    SubmitCapacityBids,
    SubmitDayAheadBids,
)
from bidicharge.control.market_clearing import (
    MTU_DURATION_S,
    Bid,
    CapacityAuctionResult,
    CapacityAuctionRules,
    CapacityBid,
    CapacityProduct,
    DayAheadResult,
    DayAheadRules,
    Rejection,
    RejectReason,
    Side,
    check_capacity_bid,
    check_day_ahead_bid,
    run_capacity_auction,
    run_day_ahead_auction,
)
from bidicharge.runtime.clock import Clock
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import Link, provides

DAY_S = 86_400.0


def _hhmm_s(text: str) -> float:
    return int(text[:2]) * 3600.0 + int(text[3:]) * 60.0


class SupplierDemand(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    load_scale: float = Field(1.0, gt=0)
    bidder_id: str = "suppliers"


class MarketConfig(ComponentConfig):
    api_host: str = "127.0.0.1"
    api_port: int = Field(0, ge=0, le=65535, description="live mode: the REST port (0 = a free port)")
    utc_offset_h: float = Field(1.0, ge=-12, le=14)
    day_ahead_gate_closure: str = Field("12:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="local time on D−1")
    capacity_gate_closure: str = Field("08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="local time on D−1")
    fcr_demand_MW: int = Field(2, ge=0, description="TSO demand per 4-hour block")
    afrr_positive_demand_MW: int = Field(0, ge=0)
    afrr_negative_demand_MW: int = Field(0, ge=0)
    supplier_demand: SupplierDemand | None = None
    live_first_day_grace_s: float = Field(30.0, ge=0, description="live mode: the first day's gates close this long after the start")


@dataclass
class _Book:
    """Everything about one delivery day."""

    day_start_s: float
    da_gate_s: float
    cap_gate_s: float
    bids: list[Bid] = field(default_factory=list)
    cap_bids: list[CapacityBid] = field(default_factory=list)
    rejections: list[tuple[str, Rejection]] = field(default_factory=list)  # (bidder, rejection)
    ids: set[str] = field(default_factory=set)
    day_ahead: DayAheadResult | None = None
    capacity: CapacityAuctionResult | None = None


@component_type
class EnergyMarket(Component):
    kind = "energy_market"
    catalogue_id = "C-MARKET"
    Config = MarketConfig
    PORTS = (
        provides("aggregators", "I-44", REST, wire_protocol="exchange trading"),
        provides("services", "I-53", REST, wire_protocol="IEC 60870-5-104/101 (seed)"),
        provides("wholesale", "I-54", REST, wire_protocol="IEC 60870-5-104 (seed)"),
    )
    phase = Phase.BACKEND  # clears after the bidders of the same step have bid
    OBSERVABLES: ClassVar[tuple[str, ...]] = ("day_ahead_price_EUR_per_MWh", "cleared_MW", "fcr_price_EUR_per_MW")

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.cfg: MarketConfig = config
        self.books: dict[float, _Book] = {}
        self.api_url: str | None = None
        self.ready = asyncio.Event()
        self._started_s = context.start_s
        self._live = False
        self._grid = HvGridConfig(load_scale=config.supplier_demand.load_scale if config.supplier_demand else 1.0,
                                  utc_offset_h=config.utc_offset_h)

    # --- days ----------------------------------------------------------------------------
    def day_start(self, t: float) -> float:
        off = self.cfg.utc_offset_h * 3600.0
        return math.floor((t + off) / DAY_S) * DAY_S - off

    def book(self, day_start_s: float) -> _Book | None:
        """The book of a delivery day, opened on first use; None when the day is not a local midnight."""
        if abs(self.day_start(day_start_s + 1.0) - day_start_s) > 1e-6:
            return None
        b = self.books.get(day_start_s)
        if b is None:
            first = self.day_start(self.context.start_s)
            if day_start_s <= first:  # auctioned "before the run": gates close at the start
                gate = self._started_s + (self.cfg.live_first_day_grace_s if self._live else 0.0)
                da_gate = cap_gate = gate if day_start_s == first else -math.inf
            else:
                da_gate = day_start_s - DAY_S + _hhmm_s(self.cfg.day_ahead_gate_closure)
                cap_gate = day_start_s - DAY_S + _hhmm_s(self.cfg.capacity_gate_closure)
            b = self.books[day_start_s] = _Book(day_start_s=day_start_s, da_gate_s=da_gate, cap_gate_s=cap_gate)
        return b

    def rules(self, b: _Book) -> tuple[DayAheadRules, CapacityAuctionRules]:
        c = self.cfg
        demand = {}
        for block in range(6):
            demand[CapacityProduct.FCR, block] = c.fcr_demand_MW
            demand[CapacityProduct.AFRR_POSITIVE, block] = c.afrr_positive_demand_MW
            demand[CapacityProduct.AFRR_NEGATIVE, block] = c.afrr_negative_demand_MW
        return (DayAheadRules(gate_closure_s=b.da_gate_s, delivery_day_start_s=b.day_start_s),
                CapacityAuctionRules(gate_closure_s=b.cap_gate_s, demand_MW=demand))

    def start(self, now: float) -> None:
        super().start(now)
        self._started_s = now

    # --- bids in -------------------------------------------------------------------------
    def submit_day_ahead(self, day_start_s: float, bids: tuple[Bid, ...], now: float) -> BidReceipt:
        return self._take(day_start_s, bids, now)

    def submit_capacity(self, day_start_s: float, bids: tuple[CapacityBid, ...], now: float) -> BidReceipt:
        return self._take(day_start_s, bids, now)

    def _take(self, day_start_s: float, bids: tuple[Bid, ...] | tuple[CapacityBid, ...], now: float) -> BidReceipt:
        """Check each bid on receipt (stamped ``now``): the rules of its auction, not after
        clearing, no id twice in a day. Refused bids are kept for the bidder's results."""
        b = self.book(day_start_s)
        accepted: list[str] = []
        rejected: list[Rejection] = []
        for bid in bids:
            bid = replace(bid, submitted_at_s=now)  # the market stamps the receipt time
            problem: Rejection | None
            if b is None:
                problem = Rejection(bid_id=bid.bid_id, reason=RejectReason.MALFORMED,
                                    detail=f"delivery day must start at local midnight, got {day_start_s}")
            else:
                da_rules, cap_rules = self.rules(b)
                if isinstance(bid, CapacityBid):
                    problem, cleared = check_capacity_bid(bid, cap_rules), b.capacity is not None
                else:
                    problem, cleared = check_day_ahead_bid(bid, da_rules), b.day_ahead is not None
                if problem is None and cleared:
                    problem = Rejection(bid_id=bid.bid_id, reason=RejectReason.LATE, detail="the auction has cleared")
                if problem is None and bid.bid_id in b.ids:
                    problem = Rejection(bid_id=bid.bid_id, reason=RejectReason.MALFORMED, detail="duplicate bid_id")
            if problem is not None:
                rejected.append(problem)
                if b is not None:
                    b.rejections.append((bid.bidder_id, problem))
                continue
            assert b is not None
            if isinstance(bid, CapacityBid):
                b.cap_bids.append(bid)
            else:
                b.bids.append(bid)
            b.ids.add(bid.bid_id)
            accepted.append(bid.bid_id)
        return BidReceipt(received_at_s=now, accepted=tuple(accepted), rejected=tuple(rejected))

    def results(self, bidder_id: str, day_start_s: float) -> MarketResults:
        b = self.books.get(day_start_s)
        if b is None or b.day_ahead is None or b.capacity is None:
            return MarketResults(delivery_day_start_s=day_start_s, published=False)
        return MarketResults(
            delivery_day_start_s=day_start_s, published=True, mtus=b.day_ahead.mtus,
            awards=tuple(a for a in b.day_ahead.awards.values() if a.bidder_id == bidder_id),
            capacity_products=b.capacity.products,
            capacity_awards=tuple(a for a in b.capacity.awards if a.bidder_id == bidder_id),
            rejections=tuple(r for who, r in b.rejections if who == bidder_id),
        )

    def handle(self, port: str, message: object, link: Link) -> object:
        if isinstance(message, SubmitDayAheadBids) and port in ("aggregators", "wholesale"):
            return self.submit_day_ahead(message.delivery_day_start_s, message.bids, self.now)
        if isinstance(message, SubmitCapacityBids) and port in ("aggregators", "services"):
            return self.submit_capacity(message.delivery_day_start_s, message.bids, self.now)
        if isinstance(message, ResultsRequest):
            return self.results(message.bidder_id, message.delivery_day_start_s)
        return super().handle(port, message, link)

    # --- clearing ------------------------------------------------------------------------
    def _supplier_bids(self, b: _Book) -> list[Bid]:
        sd = self.cfg.supplier_demand
        if sd is None:
            return []
        out = []
        for q in range(96):
            t0 = b.day_start_s + q * MTU_DURATION_S
            mean = sum(area_load_MW(self._grid, t0 + m * 60.0) for m in range(15)) / 15.0
            out.append(Bid(bid_id=f"{sd.bidder_id}-{int(b.day_start_s)}-{q}", bidder_id=sd.bidder_id, side=Side.BUY,
                           mtu_index=q, power_MW=math.floor(mean * 10.0) / 10.0, price_EUR_per_MWh=4000.0,
                           submitted_at_s=b.da_gate_s))
        return out

    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        self.book(self.day_start(now))  # the running day always has a book (and clears at the start)
        for b in self.books.values():
            da_rules, cap_rules = self.rules(b)
            if b.capacity is None and now >= b.cap_gate_s:
                b.capacity = run_capacity_auction(b.cap_bids, cap_rules)
            if b.day_ahead is None and now >= b.da_gate_s:
                b.day_ahead = run_day_ahead_auction(b.bids + self._supplier_bids(b), da_rules)

    def observe(self) -> tuple[float, ...]:
        b = self.books.get(self.day_start(self.now))
        price = cleared = fcr = math.nan
        if b is not None and b.day_ahead is not None:
            q = int((self.now - b.day_start_s) // MTU_DURATION_S)
            m = b.day_ahead.mtus[q]
            price = m.clearing_price_EUR_per_MWh if m.clearing_price_EUR_per_MWh is not None else math.nan
            cleared = m.cleared_power_MW
        if b is not None and b.capacity is not None:
            block = int((self.now - b.day_start_s) // (4 * 3600))
            fcr = next((p.clearing_price_EUR_per_MW or math.nan for p in b.capacity.products
                        if p.product is CapacityProduct.FCR and p.block_index == block), math.nan)
        return (price, cleared, fcr)

    def report(self) -> dict[str, Any]:
        return {
            "days": {
                int(d): {
                    "bids": len(b.bids), "capacity_bids": len(b.cap_bids), "rejections": len(b.rejections),
                    "cleared": b.day_ahead is not None,
                } for d, b in sorted(self.books.items())
            }
        }

    async def serve(self, clock: Clock) -> None:
        """Live mode: the REST API of I-44/I-53/I-54."""
        from bidicharge.components.energy_market.api import create_app
        from bidicharge.transports.http_server import HttpApi

        self._live = True
        api = HttpApi(create_app(self, clock), self.cfg.api_host, self.cfg.api_port)
        self.api_url = api.url
        self.ready.set()
        await api.serve()
