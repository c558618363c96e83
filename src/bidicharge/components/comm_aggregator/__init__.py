"""Commercial aggregator (C-COMM-AGG): markets the pool's flexibility and delivers FCR/aFRR.

* Bids (I-44, REST in live mode, ``Link.request`` in study mode): from the pool's envelope,
  FCR capacity per 4-hour block that keeps 15 minutes at full power in either direction
  (``control.aggregator_bidding.max_fcr_offers``), then day-ahead buys and sells inside what is
  left (``plan_day_ahead``). The sold position (awards) becomes the pool's schedule.
* Delivers (I-24, IEC 60870-5-104, the TSO controlling): FCR on the ``central`` path from the
  frequency the TSO sends (C_SE_NC_1 on IOA 2002), or on the ``local`` path from the frequency
  the EVSEs measure themselves with the droop shares the aggregator gave them; aFRR from the
  TSO's set-point (IOA 2001) up to the aFRR it holds (awarded aFRR+/aFRR− per block, offered with
  ``afrr_bid_MW``, plus a fixed ``afrr_capacity_W``); more is refused with a negative
  confirmation, and the return information (cause 11) carries what the pool can deliver of it.
  The pool's delivered change, what it is asked for and the FCR held go back as measured values.
  While an aFRR set-point is in force, FCR and aFRR are allocated together on the central way
  (aFRR is a set-point from the TSO in any case).
* The limited energy reservoir is managed (``ler_management_W``) beside the schedule.

The pool is modelled here (``pool.py``, ``pool.source: model``, with latency parameters for the
chain it stands for) or real (``pool.source: tech_aggregator``, ``chain_pool.py``): a technical
aggregator on I-23 that forwards the FCR through the CPO backend (I-14), OCPP 2.1 (I-04) and
ISO 15118-20 (I-01) to the cars — then the delays are the chain's own. The real pool is not yet
bid into the markets from its I-23 offer: it holds ``fcr_contract_W`` (a contract outside the
auction) plus what the market awards, if one is wired. I-22 (energy provider, in memory until AS4): the
pool's position per quarter-hour — scheduled, metered, FCR held — for the supplier's balancing group.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import replace
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from bidicharge.components.comm_aggregator.chain_pool import ChainPool
from bidicharge.components.comm_aggregator.pool import Arr, CarPool, PoolConfig
from bidicharge.components.energy_market.client import MarketAccess
from bidicharge.components.interfaces.i2x_markets import (
    I24,
    IEC104,
    REST,
    BidReceipt,
    MarketResults,
    PoolPosition,
    PositionRequest,
    ResultsRequest,
    SubmitCapacityBids,
    SubmitDayAheadBids,
)
from bidicharge.components.power_plant import units
from bidicharge.components.tso_control_center.telecontrol import ControlledEnd
from bidicharge.control import aggregator_bidding as bidding
from bidicharge.control.frequency_reserve import fcr_activation, ler_management_W, reservoir_of
from bidicharge.control.market_clearing import (
    BLOCK_DURATION_S,
    MTU_DURATION_S,
    CapacityBid,
    CapacityProduct,
    Side,
)
from bidicharge.protocols.iec104 import CommandRequest, PointDatabase, TypeId
from bidicharge.runtime.clock import Clock
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import Link, provides, requires

DAY_S = 86_400.0
#: a typical day-ahead shape (€/MWh per local hour) when no better forecast is given
DEFAULT_FORECAST: list[float] = [62.0, 58, 55, 53, 54, 60, 75, 90, 88, 76, 64, 55, 50, 48, 52, 60, 72, 92, 105, 98, 85, 76, 70, 65]


class CommAggConfig(ComponentConfig):
    bidder_id: str = "comm-agg"
    common_address: int = Field(47, ge=1, le=65534)
    pool: PoolConfig = PoolConfig()
    fcr_path: Literal["central", "local"] = "central"
    central_latency_s: float = Field(2.0, ge=0, description="aggregator → tech. aggregator → CPO → OCPP → EVSE → car")
    local_latency_s: float = Field(0.3, ge=0, description="EVSE frequency measurement and ISO 15118-20 loop")
    fcr_price_EUR_per_MW: float = Field(12.0, ge=0)
    bid_day_ahead: bool = True
    price_forecast_EUR_per_MWh: list[float] = Field(default_factory=lambda: list(DEFAULT_FORECAST), min_length=24, max_length=24)
    afrr_capacity_W: float = Field(0.0, ge=0, description="aFRR held under a contract outside the auction")
    fcr_contract_W: float = Field(0.0, ge=0, description="FCR held under a contract outside the auction")
    status_interval_s: float = Field(1.0, gt=0, description="real pool: how often its state is read on I-23")
    afrr_bid_MW: int = Field(0, ge=0, description="symmetric aFRR offered per block (aFRR+ and aFRR−), reserved first")
    afrr_price_EUR_per_MW: float = Field(8.0, ge=0)
    bid_time: str = Field("07:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="local time of day the next day is bid")
    utc_offset_h: float = Field(1.0, ge=-12, le=14)
    report_threshold_W: float = Field(2_000.0, gt=0)
    reallocate_threshold_W: float = Field(1_000.0, gt=0)
    results_poll_s: float = Field(60.0, gt=0)
    grid: str | None = Field(None, description="the hv_grid instance the modelled pool is connected to (its EVSEs "
                             "measure the frequency there); stands in for the LV/MV grid until that carries the pool")


@component_type
class CommAggregator(Component):
    kind = "comm_aggregator"
    catalogue_id = "C-COMM-AGG"
    Config = CommAggConfig
    PORTS = (
        provides("tso", "I-24", IEC104),
        provides("supplier", "I-22", "in-memory", wire_protocol="AS4 (MaKo 2022)"),
        requires("energy_market", "I-44", REST, optional=True),
        requires("flexibility", "I-23", "in-memory", optional=True, wire_protocol="REST (served by tech_aggregator)",
                 description="the real pool (pool.source: tech_aggregator)"),
    )
    phase = Phase.CONTROL
    OBSERVABLES: ClassVar[tuple[str, ...]] = (
        "pool_power_W", "baseline_W", "requested_upward_W", "delivered_upward_W", "fcr_contracted_W", "stored_kWh")

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        c: CommAggConfig = config
        self.cfg = c
        self.pool = CarPool(c.pool, context.rng, context.start_s + c.pool.leave_after_h * 3600.0)
        db = PointDatabase(c.common_address)
        for ioa in (I24.POOL_UPWARD_W, I24.FCR_CONTRACTED_W, I24.AFRR_FEEDBACK_W, I24.FREQUENCY_FEEDBACK_HZ, I24.REQUESTED_UPWARD_W):
            db.add_monitor(ioa, TypeId.M_ME_NC_1, value=50.0 if ioa == I24.FREQUENCY_FEEDBACK_HZ else 0.0)
        # the return information of an aFRR set-point says what the pool can deliver of it
        db.add_command(I24.AFRR_SETPOINT_W, TypeId.C_SE_NC_1, feedback_ioa=I24.AFRR_FEEDBACK_W, autoreturn=False)
        db.add_command(I24.FREQUENCY_HZ, TypeId.C_SE_NC_1, feedback_ioa=I24.FREQUENCY_FEEDBACK_HZ)
        self.tso_end = ControlledEnd(db, self._on_command)
        self.market = MarketAccess(self, "energy_market")
        self.grid: Any = None
        self.chain: ChainPool | None = None
        self.central_frequency_Hz = 50.0
        self.afrr_setpoint_W = 0.0
        self.fcr_W_by_block: dict[int, float] = {}  # absolute block number (start // 4 h) -> W
        self.afrr_W_by_block: dict[int, float] = {}  # symmetric aFRR awarded (min of aFRR+ and aFRR−)
        self.schedule_W: dict[int, float] = {}  # absolute MTU number (start // 900) -> W, + = buy
        self._bid_days: set[float] = set()
        self._results: dict[float, MarketResults] = {}
        self._next_poll = -math.inf
        self.base_W: Arr = np.zeros(c.pool.cars)
        self._base_key: tuple[int, float, int] | None = None
        self._up_W: Arr = np.zeros(c.pool.cars)  # local droop shares: set-point at full upward activation
        self._down_W: Arr = np.zeros(c.pool.cars)
        self._last_request = math.nan
        self._reported: dict[int, float] = {}
        self.requested_upward_W = 0.0
        self.shortfall_Wh = 0.0
        self.rejections: list[str] = []
        self.revenue_EUR = 0.0
        self.metered_Wh: dict[int, float] = {}  # absolute MTU -> grid energy drawn by the pool

    def telecontrol_end(self, port: str) -> ControlledEnd:
        return self.tso_end

    def start(self, now: float) -> None:
        super().start(now)
        if self.cfg.pool.source == "tech_aggregator":
            link = self.link("flexibility")
            if link is None:
                raise ValueError(f"{self.name}: pool.source tech_aggregator needs port 'flexibility' (I-23) wired "
                                 "to a tech_aggregator's 'commercial' port")
            self.chain = ChainPool(link, path=self.cfg.fcr_path, status_interval_s=self.cfg.status_interval_s)
        if self.cfg.grid is not None:
            self.grid = units.lookup(self, self.cfg.grid, "hv_grid")
            if self.chain is None:  # a real pool's EVSEs are in the grid themselves (evse port frequency, I-42)
                self.grid.attach_distribution(self)

    @property
    def grid_injection_MW(self) -> float:
        if self.chain is not None:  # the EVSEs' metered power, as the technical aggregator reports it
            return -self.chain.power_W / 1e6
        return -float(self.pool.power_W.sum()) / 1e6

    # --- I-24 commands -------------------------------------------------------------------
    def _on_command(self, request: CommandRequest) -> bool:
        value = float(request.value)
        if request.ioa == I24.FREQUENCY_HZ:
            if not 45.0 <= value <= 55.0:
                return False
            self.central_frequency_Hz = value
            return True
        if request.ioa == I24.AFRR_SETPOINT_W:
            if abs(value) > self.afrr_capacity_W(self.now) + 1e-6:
                return False  # more than contracted: a negative confirmation
            self.afrr_setpoint_W = value
            self.tso_end.database.set(I24.AFRR_FEEDBACK_W, self.deliverable_afrr_W(value))
            return True
        return False

    def afrr_capacity_W(self, t: float) -> float:
        """aFRR held now: the fixed contract of the config plus what the capacity auction awarded."""
        return self.cfg.afrr_capacity_W + self.afrr_W_by_block.get(int(t // BLOCK_DURATION_S), 0.0)

    def deliverable_afrr_W(self, setpoint_W: float) -> float:
        """How much of an aFRR set-point the pool can deliver now, beside the FCR being delivered:
        an activation the pool cannot deliver in full is reported as such (cause 11), not hidden."""
        fcr_W = fcr_activation(self._frequency()) * self.fcr_contracted_W(self.now)
        _, shortfall = self.pool.allocate(self.now, self.base_W, fcr_W + setpoint_W, MTU_DURATION_S)
        return setpoint_W - math.copysign(min(shortfall, abs(setpoint_W)), setpoint_W)

    # --- markets (I-44) ------------------------------------------------------------------
    def _local_day_start(self, t: float) -> float:
        off = self.cfg.utc_offset_h * 3600.0
        return math.floor((t + off) / DAY_S) * DAY_S - off

    def _forecast(self) -> list[float]:
        return [float(self.cfg.price_forecast_EUR_per_MWh[q // 4]) for q in range(96)]

    def _bid(self, day: float, now: float) -> None:
        if self.link("energy_market") is None or self.chain is not None:
            return  # no market, or a real pool (its I-23 offer is not bid yet: fcr_contract_W holds)
        self._bid_days.add(day)
        self._next_poll = now + 1e-6  # the results may be out by the next step (first day)
        first = max(0, int((now - day) // MTU_DURATION_S))  # a day already running: only what is left
        envelope = self.pool.envelope(day + first * MTU_DURATION_S, 96 - first)
        block0 = first // bidding.INTERVALS_PER_BLOCK
        afrr_bids = self._afrr_bids(day, block0, now)
        if afrr_bids:  # aFRR is held like FCR: power both ways and 15 minutes of energy
            n_blocks = 6 - block0
            envelope = bidding.reserve_fcr(envelope, [self.cfg.afrr_bid_MW * 1e6] * n_blocks)
        offers = bidding.max_fcr_offers(envelope)
        caps = [o.capacity_W for o in offers]
        cap_bids = [replace(b, block_index=b.block_index + block0, bid_id=f"{self.cfg.bidder_id}-{int(day)}-FCR-{b.block_index + block0}")
                    for b in bidding.fcr_capacity_bids(offers, bidder_id=self.cfg.bidder_id,
                                                       price_EUR_per_MW=self.cfg.fcr_price_EUR_per_MW, submitted_at_s=now)]
        self.market.send(SubmitCapacityBids(delivery_day_start_s=day, bids=tuple(cap_bids + afrr_bids)), self._on_receipt)
        if self.cfg.bid_day_ahead:
            reduced = bidding.reserve_fcr(envelope, caps)
            plan = bidding.plan_day_ahead(reduced, self._forecast()[first:])
            da = bidding.day_ahead_bids(plan, bidder_id=f"{self.cfg.bidder_id}", submitted_at_s=now)
            da = [replace(b, bid_id=f"{self.cfg.bidder_id}-{int(day)}-DA-{b.mtu_index + first}", mtu_index=b.mtu_index + first)
                  for b in da]
            self.market.send(SubmitDayAheadBids(delivery_day_start_s=day, bids=tuple(da)), self._on_receipt)

    def _afrr_bids(self, day: float, block0: int, now: float) -> list[CapacityBid]:
        if self.cfg.afrr_bid_MW <= 0:
            return []
        return [CapacityBid(bid_id=f"{self.cfg.bidder_id}-{int(day)}-{product.value}-{block}", bidder_id=self.cfg.bidder_id,
                            product=product, block_index=block, capacity_MW=float(self.cfg.afrr_bid_MW),
                            capacity_price_EUR_per_MW=self.cfg.afrr_price_EUR_per_MW, submitted_at_s=now)
                for block in range(block0, 6) for product in (CapacityProduct.AFRR_POSITIVE, CapacityProduct.AFRR_NEGATIVE)]

    def _on_receipt(self, receipt: BidReceipt) -> None:
        self.rejections += [f"{r.bid_id}: {r.reason.value} ({r.detail})" for r in receipt.rejected]

    def _poll_results(self, now: float) -> None:
        if now < self._next_poll:
            return
        self._next_poll = now + self.cfg.results_poll_s
        for day in sorted(self._bid_days - set(self._results)):
            self.market.send(ResultsRequest(bidder_id=self.cfg.bidder_id, delivery_day_start_s=day),
                             lambda res, day=day: self._take_results(day, res))

    def _take_results(self, day: float, res: MarketResults) -> None:
        if not res.published or day in self._results:
            return
        self._results[day] = res
        afrr: dict[tuple[CapacityProduct, int], float] = {}
        for a in res.capacity_awards:
            block = int((day + a.block_index * BLOCK_DURATION_S) // BLOCK_DURATION_S)
            self.revenue_EUR += a.accepted_MW * a.price_EUR_per_MW
            if a.product is CapacityProduct.FCR:
                self.fcr_W_by_block[block] = self.fcr_W_by_block.get(block, 0.0) + a.accepted_MW * 1e6
            else:
                afrr[a.product, block] = afrr.get((a.product, block), 0.0) + a.accepted_MW * 1e6
        for (product, block), watts in afrr.items():
            if product is CapacityProduct.AFRR_POSITIVE:  # symmetric use: the smaller of the two directions
                self.afrr_W_by_block[block] = min(watts, afrr.get((CapacityProduct.AFRR_NEGATIVE, block), 0.0))
        for award in res.awards:
            mtu = int((day + award.mtu_index * MTU_DURATION_S) // MTU_DURATION_S)
            sign = 1.0 if award.side is Side.BUY else -1.0
            self.schedule_W[mtu] = self.schedule_W.get(mtu, 0.0) + sign * award.accepted_power_MW * 1e6
            self.revenue_EUR -= sign * award.accepted_power_MW * 0.25 * award.price_EUR_per_MWh
        self._base_key = None

    # --- delivery ------------------------------------------------------------------------
    def fcr_contracted_W(self, t: float) -> float:
        return self.cfg.fcr_contract_W + self.fcr_W_by_block.get(int(t // BLOCK_DURATION_S), 0.0)

    def _rebase(self, now: float) -> None:
        """New operating points at each quarter-hour: the schedule plus reservoir management."""
        mtu = int(now // MTU_DURATION_S)
        fcr = self.fcr_contracted_W(now)
        key = (mtu, fcr, int(self.pool.must_charge(now).sum()))
        if key == self._base_key:
            return
        self._base_key = key
        ops = self.pool.operating_points(now, np.zeros(len(self.pool.ids)))
        cars = self.pool.pool_cars(now, ops)
        target = self.schedule_W.get(mtu, 0.0) + ler_management_W(reservoir_of(cars), fcr)
        self.base_W, _ = self.pool.allocate(now, ops, float(ops.sum()) - target, MTU_DURATION_S)
        self._up_W, _ = self.pool.allocate(now, self.base_W, fcr, MTU_DURATION_S)
        self._down_W, _ = self.pool.allocate(now, self.base_W, -fcr, MTU_DURATION_S)
        self._last_request = math.nan

    def _frequency(self) -> float:
        if self.cfg.fcr_path == "central":
            return self.central_frequency_Hz
        return float(self.grid.frequency_Hz) if self.grid is not None else 50.0

    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        day = self._local_day_start(now)
        if day not in self._bid_days and now - day < DAY_S - 3600.0:
            self._bid(day, now)
        bid_at = day + int(self.cfg.bid_time[:2]) * 3600.0 + int(self.cfg.bid_time[3:]) * 60.0
        if now >= bid_at and day + DAY_S not in self._bid_days:
            self._bid(day + DAY_S, now)
        self._poll_results(now)
        if self.chain is not None:
            self._step_chain(now, dt_s)
            return
        self._rebase(now)
        fcr = self.fcr_contracted_W(now)
        activation = fcr_activation(self._frequency())
        request = activation * fcr + self.afrr_setpoint_W
        self.requested_upward_W = request
        if self.cfg.fcr_path == "local" and self.afrr_setpoint_W == 0.0:
            shares = self._up_W if activation >= 0 else self._down_W
            setpoints = self.base_W + abs(activation) * (shares - self.base_W)
            if request != self._last_request:
                self.pool.command(setpoints, self.base_W, now + self.cfg.local_latency_s)
                self._last_request = request
        elif not abs(request - self._last_request) < self.cfg.reallocate_threshold_W:
            setpoints, shortfall = self.pool.allocate(now, self.base_W, request, MTU_DURATION_S)
            self.pool.command(setpoints, self.base_W, now + self.cfg.central_latency_s)
            self._last_request = request
        self.pool.step(now, dt_s)
        mtu = int(now // MTU_DURATION_S)
        self.metered_Wh[mtu] = self.metered_Wh.get(mtu, 0.0) + float(self.pool.power_W.sum()) * dt_s / 3600.0
        delivered = self.pool.delivered_upward_W
        self.shortfall_Wh += abs(request - delivered) * dt_s / 3600.0 if fcr > 0 else 0.0
        self._telemeter(now, delivered, request, fcr)

    def _step_chain(self, now: float, dt_s: float) -> None:
        """The real pool: FCR (and aFRR, central only) down the chain, its state back to the TSO."""
        assert self.chain is not None
        fcr = self.fcr_contracted_W(now)
        frequency = self._frequency()
        request = fcr_activation(frequency) * fcr + self.afrr_setpoint_W
        self.requested_upward_W = request
        self.chain.step(now, fcr_W=fcr, request_upward_W=request, frequency_Hz=frequency,
                        threshold_W=self.cfg.reallocate_threshold_W)
        mtu = int(now // MTU_DURATION_S)
        self.metered_Wh[mtu] = self.metered_Wh.get(mtu, 0.0) + self.chain.power_W * dt_s / 3600.0
        delivered = self.chain.delivered_upward_W
        self.shortfall_Wh += abs(request - delivered) * dt_s / 3600.0 if fcr > 0 else 0.0
        self._telemeter(now, delivered, request, fcr)

    def _telemeter(self, now: float, delivered: float, request: float, fcr: float) -> None:
        for ioa, value in ((I24.POOL_UPWARD_W, delivered), (I24.REQUESTED_UPWARD_W, request), (I24.FCR_CONTRACTED_W, fcr)):
            last = self._reported.get(ioa)
            if last is None or abs(value - last) >= self.cfg.report_threshold_W or (value == 0.0 and last != 0.0):
                self._reported[ioa] = value
                self.tso_end.update(ioa, value, now=now)

    def handle(self, port: str, message: object, link: Link) -> object:
        if isinstance(message, PositionRequest):  # I-22: the supplier's balancing group
            day = message.delivery_day_start_s
            first = int(day // MTU_DURATION_S)
            block0 = int(day // BLOCK_DURATION_S)
            current = int(self.now // MTU_DURATION_S)
            return PoolPosition(
                delivery_day_start_s=day, step_s=MTU_DURATION_S,
                scheduled_W=tuple(self.schedule_W.get(first + q, 0.0) for q in range(96)),
                metered_Wh=tuple(round(self.metered_Wh[first + q], 1) if first + q in self.metered_Wh and first + q < current
                                 else None for q in range(96)),
                fcr_W_by_block=tuple(self.fcr_W_by_block.get(block0 + b, 0.0) for b in range(6)),
            )
        return super().handle(port, message, link)

    def observe(self) -> tuple[float, ...]:
        if self.chain is not None:
            c = self.chain
            return (c.power_W, c.baseline_W, self.requested_upward_W, c.delivered_upward_W,
                    self.fcr_contracted_W(self.now), math.nan)
        return (float(self.pool.power_W.sum()), float(self.base_W.sum()), self.requested_upward_W,
                self.pool.delivered_upward_W, self.fcr_contracted_W(self.now), self.pool.stored_Wh() / 1000.0)

    def report(self) -> dict[str, Any]:
        if self.chain is not None:
            return {"pool": "tech_aggregator", "fcr_held_W": self.chain.held_W, "activations": self.chain.activations,
                    "shortfall_Wh": self.shortfall_Wh, "notes": list(self.chain.notes),
                    "fcr_MW_by_block": {k: v / 1e6 for k, v in sorted(self.fcr_W_by_block.items())}}
        soc, target = self.pool.soc, self.pool.cfg.target_soc
        return {
            "cars": len(self.pool.ids),
            "cars_at_target": int((soc >= target - 1e-6).sum()),
            "min_soc": float(soc.min()),
            "max_soc": float(soc.max()),
            "discharged_without_consent_Wh": self.pool.discharged_without_consent_Wh,
            "shortfall_Wh": self.shortfall_Wh,
            "fcr_MW_by_block": {k: v / 1e6 for k, v in sorted(self.fcr_W_by_block.items())},
            "afrr_MW_by_block": {k: v / 1e6 for k, v in sorted(self.afrr_W_by_block.items())},
            "day_ahead_MWh": sum(self.schedule_W.values()) / 1e6 * 0.25,
            "revenue_EUR": self.revenue_EUR,
            "rejections": list(self.rejections),
        }

    async def serve(self, clock: Clock) -> None:
        """Live mode: the I-24 controlled station on a free loopback port, bids over REST."""
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.tso_end.serve())
            tg.create_task(self.market.serve())

