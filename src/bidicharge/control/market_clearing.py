"""Energy-market auctions: day-ahead in 15-minute products and system-services capacity.

Both auctions are uniform-price ("pay-as-cleared"): every accepted bid of a product is settled
at that product's clearing price, whatever its own limit price.

Day-ahead (SDAC-style, 15-min MTU from delivery day 2025-10-01; grid_and_markets.md §4)
-------------------------------------------------------------------------------------
* A bid is a limit order for one quarter-hour (``mtu_index`` 0 = 00:00–00:15 of the delivery
  day) at constant power ``power_MW`` (energy = power_MW × 0.25 MWh). A buy accepts any price
  at or below its limit, a sell any price at or above it.
* Harmonised price limits −500 … +4000 €/MWh, price tick 0.01 €/MWh, volume tick and minimum
  0.1 MW. Bids received (``submitted_at_s``, stamped by the market) after gate closure are late.
* Merit order per MTU: demand D(p) = Σ buys with limit ≥ p, supply S(p) = Σ sells with limit ≤ p.
  A price p clears the market when the bids strictly in the money on each side fit inside what
  is offered at p on the other side: D⁺(p) ≤ S(p) and S⁻(p) ≤ D(p) (D⁺/S⁻ exclude bids at
  exactly p). The cleared volume V = min(D(p), S(p)) is the same at every such p and is the
  largest tradable volume.
* **Price-indeterminacy rule**: the clearing prices form an interval [p_lo, p_hi] (e.g. one
  buy at 50 and one sell at 30 of equal size clear at any price in between). The published
  price is the midpoint, rounded down to the 0.01 €/MWh tick; the interval is reported too.
* **Tie and curtailment rule**: bids strictly in the money are accepted in full; bids whose
  limit equals the clearing price (the marginal bids, on either side) share what is left of V
  pro rata to their size. Curtailed quantities are not rounded to the volume tick.
* An MTU with no trade (no crossing curves, or an empty side) has no price (``None``).

System services (FCR/aFRR capacity, regelleistung.net; grid_and_markets.md §1)
-----------------------------------------------------------------------------
* Products per 4-hour block (6 per day, ``block_index`` 0 = 00:00–04:00): FCR symmetric (one
  capacity covers both directions), aFRR positive, aFRR negative. Minimum bid 1 MW, 1 MW steps,
  capacity price in € per MW for the whole block. The TSO's demand is inelastic.
* Offers are taken cheapest first until the demand is covered; the clearing price is the price
  of the last (marginal) accepted offer. Offers tied at the marginal price share the remainder
  pro rata, in whole MW by largest remainder; equal remainders go to the earlier submission,
  then to the smaller bid id. Unmet demand is reported as ``shortfall_MW``.

The exchanges take bids over their own APIs, not IEC 60870-5-104; the component exposes this
core over REST.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

MTU_DURATION_S: Final = 900
BLOCK_DURATION_S: Final = 4 * 3600
BLOCKS_PER_DAY: Final = 6

_FloatArray = npt.NDArray[np.float64]
_IntArray = npt.NDArray[np.int64]


class Side(enum.Enum):
    BUY = "buy"
    SELL = "sell"


class RejectReason(enum.Enum):
    MALFORMED = "malformed"
    LATE = "late"
    BELOW_MINIMUM_SIZE = "below_minimum_size"
    PRICE_OUT_OF_RANGE = "price_out_of_range"


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejection:
    """A bid refused before clearing; ``detail`` says what to fix."""

    bid_id: str
    reason: RejectReason
    detail: str


# ----------------------------------------------------------------------------- day-ahead


@dataclass(frozen=True, slots=True, kw_only=True)
class Bid:
    """A day-ahead limit order for one quarter-hour."""

    bid_id: str
    bidder_id: str
    side: Side
    mtu_index: int
    power_MW: float
    price_EUR_per_MWh: float
    submitted_at_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class DayAheadRules:
    gate_closure_s: float
    delivery_day_start_s: float = 0.0
    mtu_count: int = 96  # 92 / 100 on daylight-saving change days
    price_floor_EUR_per_MWh: float = -500.0  # SDAC harmonised minimum clearing price
    price_cap_EUR_per_MWh: float = 4000.0  # SDAC harmonised maximum clearing price
    price_tick_EUR_per_MWh: float = 0.01
    volume_tick_MW: float = 0.1
    min_power_MW: float = 0.1


@dataclass(frozen=True, slots=True, kw_only=True)
class MtuResult:
    mtu_index: int
    start_s: float
    clearing_price_EUR_per_MWh: float | None
    price_interval_EUR_per_MWh: tuple[float, float] | None
    cleared_power_MW: float  # accepted buys = accepted sells


@dataclass(frozen=True, slots=True, kw_only=True)
class Award:
    bid_id: str
    bidder_id: str
    side: Side
    mtu_index: int
    accepted_power_MW: float
    price_EUR_per_MWh: float


@dataclass(frozen=True, slots=True, kw_only=True)
class DayAheadResult:
    mtus: tuple[MtuResult, ...]
    awards: Mapping[str, Award]  # by bid id; only valid bids with a non-zero acceptance
    rejections: tuple[Rejection, ...]


def _on_tick(value: float, tick: float) -> bool:
    steps = value / tick
    return abs(steps - round(steps)) < 1e-6


def check_day_ahead_bid(bid: Bid, rules: DayAheadRules) -> Rejection | None:
    """Why a single bid is refused, or ``None`` when it may enter the auction."""

    def reject(reason: RejectReason, detail: str) -> Rejection:
        return Rejection(bid_id=bid.bid_id, reason=reason, detail=detail)

    if not bid.bid_id or not bid.bidder_id:
        return reject(RejectReason.MALFORMED, "bid_id and bidder_id must not be empty")
    if not isinstance(bid.side, Side):
        return reject(RejectReason.MALFORMED, f"side must be buy or sell, not {bid.side!r}")
    if not 0 <= bid.mtu_index < rules.mtu_count:
        return reject(RejectReason.MALFORMED, f"mtu_index {bid.mtu_index} outside 0..{rules.mtu_count - 1}")
    if not (math.isfinite(bid.power_MW) and math.isfinite(bid.price_EUR_per_MWh)):
        return reject(RejectReason.MALFORMED, "power and price must be finite numbers")
    if not math.isfinite(bid.submitted_at_s) or bid.submitted_at_s > rules.gate_closure_s:
        return reject(RejectReason.LATE, f"received at {bid.submitted_at_s} s, gate closed at {rules.gate_closure_s} s")
    if bid.power_MW < rules.min_power_MW - 1e-9:
        return reject(RejectReason.BELOW_MINIMUM_SIZE, f"{bid.power_MW} MW < minimum {rules.min_power_MW} MW")
    if not _on_tick(bid.power_MW, rules.volume_tick_MW):
        return reject(RejectReason.MALFORMED, f"{bid.power_MW} MW is not a multiple of {rules.volume_tick_MW} MW")
    if not rules.price_floor_EUR_per_MWh <= bid.price_EUR_per_MWh <= rules.price_cap_EUR_per_MWh:
        return reject(
            RejectReason.PRICE_OUT_OF_RANGE,
            f"{bid.price_EUR_per_MWh} €/MWh outside {rules.price_floor_EUR_per_MWh}…{rules.price_cap_EUR_per_MWh}",
        )
    if not _on_tick(bid.price_EUR_per_MWh, rules.price_tick_EUR_per_MWh):
        return reject(RejectReason.MALFORMED, f"price {bid.price_EUR_per_MWh} is off the {rules.price_tick_EUR_per_MWh} tick")
    return None


def parse_day_ahead_bid(raw: Mapping[str, object], *, submitted_at_s: float) -> Bid | Rejection:
    """Build a bid from decoded JSON; wrong or missing fields give a MALFORMED rejection."""
    bid_id = raw.get("bid_id")
    bid_id_text = bid_id if isinstance(bid_id, str) else ""
    try:
        side = Side(raw["side"])
        mtu = raw["mtu_index"]
        power = raw["power_MW"]
        price = raw["price_EUR_per_MWh"]
        bidder = raw["bidder_id"]
        if not isinstance(mtu, int) or isinstance(mtu, bool):
            raise TypeError("mtu_index must be an integer")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (power, price)):
            raise TypeError("power_MW and price_EUR_per_MWh must be numbers")
        if not isinstance(bid_id, str) or not isinstance(bidder, str):
            raise TypeError("bid_id and bidder_id must be strings")
        assert isinstance(power, int | float) and isinstance(price, int | float)
    except (KeyError, TypeError, ValueError) as exc:
        return Rejection(bid_id=bid_id_text, reason=RejectReason.MALFORMED, detail=f"{type(exc).__name__}: {exc}")
    return Bid(
        bid_id=bid_id, bidder_id=bidder, side=side, mtu_index=mtu,
        power_MW=float(power), price_EUR_per_MWh=float(price), submitted_at_s=submitted_at_s,
    )


def _plausible_mask(bids: Sequence[Bid], rules: DayAheadRules) -> npt.NDArray[np.bool_]:
    """Vectorised pre-check with the rules of ``check_day_ahead_bid``; bids it flags are handed
    to that function, which has the last word and gives the reason."""
    n = len(bids)
    basic = np.fromiter((bool(b.bid_id) and bool(b.bidder_id) and isinstance(b.side, Side) for b in bids), bool, n)
    mtu = np.fromiter((b.mtu_index for b in bids), np.float64, n)
    power = np.fromiter((b.power_MW for b in bids), np.float64, n)
    price = np.fromiter((b.price_EUR_per_MWh for b in bids), np.float64, n)
    at = np.fromiter((b.submitted_at_s for b in bids), np.float64, n)
    with np.errstate(invalid="ignore"):
        volume_steps = power / rules.volume_tick_MW
        price_steps = price / rules.price_tick_EUR_per_MWh
        return (
            basic & (mtu >= 0) & (mtu < rules.mtu_count) & np.isfinite(power) & np.isfinite(price)
            & np.isfinite(at) & (at <= rules.gate_closure_s) & (power >= rules.min_power_MW - 1e-9)
            & (np.abs(volume_steps - np.rint(volume_steps)) < 1e-6)
            & (price >= rules.price_floor_EUR_per_MWh) & (price <= rules.price_cap_EUR_per_MWh)
            & (np.abs(price_steps - np.rint(price_steps)) < 1e-6)
        )


def validate_day_ahead(bids: Iterable[Bid], rules: DayAheadRules) -> tuple[list[Bid], list[Rejection]]:
    """Split bids into the valid ones and rejections with reasons; a repeated bid id is malformed."""
    bids = list(bids)
    valid: list[Bid] = []
    rejected: list[Rejection] = []
    seen: set[str] = set()
    for bid, plausible in zip(bids, _plausible_mask(bids, rules).tolist(), strict=True):
        problem = None if plausible else check_day_ahead_bid(bid, rules)
        if problem is None and bid.bid_id in seen:
            problem = Rejection(bid_id=bid.bid_id, reason=RejectReason.MALFORMED, detail="duplicate bid_id")
        if problem is None:
            seen.add(bid.bid_id)
            valid.append(bid)
        else:
            rejected.append(problem)
    return valid, rejected


@dataclass(frozen=True, slots=True, kw_only=True)
class ClearedColumns:
    """Merit-order result on arrays: per MTU (length ``mtu_count``) and per bid (input order)."""

    price_lo_cents: _IntArray  # −1 << 62 where no trade
    price_hi_cents: _IntArray
    price_cents: _IntArray
    traded: npt.NDArray[np.bool_]
    volume_kW: _FloatArray
    accepted_kW: _FloatArray


_NO_PRICE: Final = -(1 << 62)


def clear_columns(
    mtu: _IntArray, is_buy: npt.NDArray[np.bool_], price_cents: _IntArray, quantity_kW: _IntArray, *, mtu_count: int
) -> ClearedColumns:
    """Clear every MTU at once (vectorised). Prices in integer cents/MWh, quantities in integer kW."""
    n = len(mtu)
    if n == 0:
        empty = np.full(mtu_count, _NO_PRICE, dtype=np.int64)
        return ClearedColumns(
            price_lo_cents=empty, price_hi_cents=empty.copy(), price_cents=empty.copy(),
            traded=np.zeros(mtu_count, dtype=bool), volume_kW=np.zeros(mtu_count), accepted_kW=np.zeros(0),
        )
    pmin = int(price_cents.min())
    span = int(price_cents.max()) - pmin + 1
    key = mtu * span + (price_cents - pmin)
    levels, inverse = np.unique(key, return_inverse=True)
    qty = quantity_kW.astype(np.float64)  # integer-valued floats: sums below 2**53 are exact
    buy_at = np.bincount(inverse, weights=np.where(is_buy, qty, 0.0), minlength=len(levels))
    sell_at = np.bincount(inverse, weights=np.where(is_buy, 0.0, qty), minlength=len(levels))
    level_mtu = levels // span
    level_price = levels % span + pmin
    new_group = np.empty(len(levels), dtype=bool)
    new_group[0] = True
    new_group[1:] = level_mtu[1:] != level_mtu[:-1]
    starts = np.flatnonzero(new_group)
    group = np.cumsum(new_group) - 1
    # Levels ascend in price inside each MTU: supply accumulates upwards, demand downwards.
    sell_cum = np.cumsum(sell_at)
    supply = sell_cum - (sell_cum - sell_at)[starts][group]
    supply_strict = supply - sell_at
    buy_before = np.cumsum(buy_at) - buy_at
    demand = np.add.reduceat(buy_at, starts)[group] - (buy_before - buy_before[starts][group])
    demand_strict = demand - buy_at
    volume = np.maximum.reduceat(np.minimum(demand, supply), starts)
    clears = (demand_strict <= supply) & (supply_strict <= demand)
    big = np.iinfo(np.int64).max
    lo = np.minimum.reduceat(np.where(clears, level_price, big), starts)
    hi = np.maximum.reduceat(np.where(clears, level_price, -big), starts)
    group_mtu = level_mtu[starts]
    traded = np.zeros(mtu_count, dtype=bool)
    traded[group_mtu] = volume > 0
    volume_kW = np.zeros(mtu_count)
    volume_kW[group_mtu] = volume
    price_lo = np.full(mtu_count, _NO_PRICE, dtype=np.int64)
    price_hi = price_lo.copy()
    price_lo[group_mtu] = lo
    price_hi[group_mtu] = hi
    price_lo[~traded] = _NO_PRICE
    price_hi[~traded] = _NO_PRICE
    price = np.where(traded, (price_lo + price_hi) // 2, _NO_PRICE)
    accepted = _accept(mtu, is_buy, price_cents, qty, price, volume_kW, traded, mtu_count)
    return ClearedColumns(
        price_lo_cents=price_lo, price_hi_cents=price_hi, price_cents=price,
        traded=traded, volume_kW=volume_kW, accepted_kW=accepted,
    )


def _accept(
    mtu: _IntArray, is_buy: npt.NDArray[np.bool_], price_cents: _IntArray, qty: _FloatArray,
    clearing: _IntArray, volume: _FloatArray, traded: npt.NDArray[np.bool_], mtu_count: int,
) -> _FloatArray:
    """Full acceptance in the money, pro-rata share of the rest for bids at the clearing price."""
    p = clearing[mtu]
    live = traded[mtu]
    full = live & np.where(is_buy, price_cents > p, price_cents < p)
    marginal = live & (price_cents == p)
    accepted = np.where(full, qty, 0.0)
    for side in (is_buy, ~is_buy):
        taken = np.bincount(mtu, weights=np.where(full & side, qty, 0.0), minlength=mtu_count)
        at_price = np.bincount(mtu, weights=np.where(marginal & side, qty, 0.0), minlength=mtu_count)
        share = np.divide(volume - taken, at_price, out=np.zeros(mtu_count), where=at_price > 0)
        accepted = np.where(marginal & side, qty * share[mtu], accepted)
    return accepted


def run_day_ahead_auction(bids: Iterable[Bid], rules: DayAheadRules) -> DayAheadResult:
    """Validate, clear every quarter-hour, and report prices, awards and rejections."""
    valid, rejected = validate_day_ahead(bids, rules)
    n = len(valid)
    mtu = np.fromiter((b.mtu_index for b in valid), dtype=np.int64, count=n)
    is_buy = np.fromiter((b.side is Side.BUY for b in valid), dtype=bool, count=n)
    tick = rules.price_tick_EUR_per_MWh
    price = np.rint(np.fromiter((b.price_EUR_per_MWh for b in valid), dtype=np.float64, count=n) / tick).astype(np.int64)
    qty = np.rint(np.fromiter((b.power_MW for b in valid), dtype=np.float64, count=n) * 1000.0).astype(np.int64)
    cleared = clear_columns(mtu, is_buy, price, qty, mtu_count=rules.mtu_count)
    results = []
    for i in range(rules.mtu_count):
        traded = bool(cleared.traded[i])
        results.append(MtuResult(
            mtu_index=i,
            start_s=rules.delivery_day_start_s + i * MTU_DURATION_S,
            clearing_price_EUR_per_MWh=round(int(cleared.price_cents[i]) * tick, 2) if traded else None,
            price_interval_EUR_per_MWh=(
                (round(int(cleared.price_lo_cents[i]) * tick, 2), round(int(cleared.price_hi_cents[i]) * tick, 2))
                if traded else None
            ),
            cleared_power_MW=float(cleared.volume_kW[i]) / 1000.0,
        ))
    awarded = np.flatnonzero(cleared.accepted_kW > 0)
    accepted_MW = (cleared.accepted_kW[awarded] / 1000.0).tolist()
    price_of = [m.clearing_price_EUR_per_MWh or 0.0 for m in results]
    awards = {}
    for j, a in zip(awarded.tolist(), accepted_MW, strict=True):
        b = valid[j]
        awards[b.bid_id] = Award(bid_id=b.bid_id, bidder_id=b.bidder_id, side=b.side, mtu_index=b.mtu_index,
                                 accepted_power_MW=a, price_EUR_per_MWh=price_of[b.mtu_index])
    return DayAheadResult(mtus=tuple(results), awards=awards, rejections=tuple(rejected))


# ------------------------------------------------------------------------- system services


class CapacityProduct(enum.Enum):
    FCR = "FCR"  # symmetric: the same capacity upwards and downwards
    AFRR_POSITIVE = "aFRR+"  # upward: more generation / less consumption
    AFRR_NEGATIVE = "aFRR-"  # downward: less generation / more consumption


@dataclass(frozen=True, slots=True, kw_only=True)
class CapacityBid:
    bid_id: str
    bidder_id: str
    product: CapacityProduct
    block_index: int
    capacity_MW: float
    capacity_price_EUR_per_MW: float  # for the whole 4-hour block
    submitted_at_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CapacityAuctionRules:
    gate_closure_s: float
    demand_MW: Mapping[tuple[CapacityProduct, int], int]  # (product, block) -> TSO demand
    min_capacity_MW: int = 1  # regelleistung.net: 1 MW minimum for FCR, aFRR and mFRR bids
    capacity_step_MW: int = 1
    price_floor_EUR_per_MW: float = 0.0
    price_cap_EUR_per_MW: float | None = None  # no harmonised cap for balancing capacity


@dataclass(frozen=True, slots=True, kw_only=True)
class CapacityProductResult:
    product: CapacityProduct
    block_index: int
    demand_MW: int
    accepted_MW: int
    shortfall_MW: int
    clearing_price_EUR_per_MW: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CapacityAward:
    bid_id: str
    bidder_id: str
    product: CapacityProduct
    block_index: int
    accepted_MW: int
    price_EUR_per_MW: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CapacityAuctionResult:
    products: tuple[CapacityProductResult, ...]
    awards: tuple[CapacityAward, ...]
    rejections: tuple[Rejection, ...]


def check_capacity_bid(bid: CapacityBid, rules: CapacityAuctionRules) -> Rejection | None:
    def reject(reason: RejectReason, detail: str) -> Rejection:
        return Rejection(bid_id=bid.bid_id, reason=reason, detail=detail)

    if not bid.bid_id or not bid.bidder_id:
        return reject(RejectReason.MALFORMED, "bid_id and bidder_id must not be empty")
    if (bid.product, bid.block_index) not in rules.demand_MW:
        return reject(RejectReason.MALFORMED, f"no auction for {bid.product.value} block {bid.block_index}")
    if not (math.isfinite(bid.capacity_MW) and math.isfinite(bid.capacity_price_EUR_per_MW)):
        return reject(RejectReason.MALFORMED, "capacity and price must be finite numbers")
    if not math.isfinite(bid.submitted_at_s) or bid.submitted_at_s > rules.gate_closure_s:
        return reject(RejectReason.LATE, f"received at {bid.submitted_at_s} s, gate closed at {rules.gate_closure_s} s")
    if bid.capacity_MW < rules.min_capacity_MW:
        return reject(RejectReason.BELOW_MINIMUM_SIZE, f"{bid.capacity_MW} MW < minimum {rules.min_capacity_MW} MW")
    if not _on_tick(bid.capacity_MW, rules.capacity_step_MW):
        return reject(RejectReason.MALFORMED, f"{bid.capacity_MW} MW is not a multiple of {rules.capacity_step_MW} MW")
    cap = rules.price_cap_EUR_per_MW
    if bid.capacity_price_EUR_per_MW < rules.price_floor_EUR_per_MW or (cap is not None and bid.capacity_price_EUR_per_MW > cap):
        return reject(RejectReason.PRICE_OUT_OF_RANGE, f"{bid.capacity_price_EUR_per_MW} €/MW outside the allowed range")
    return None


def _share_whole(remainder: int, offers: Sequence[CapacityBid]) -> list[int]:
    """Pro-rata in whole MW by largest remainder; offers are in tie-break order already."""
    sizes = [round(b.capacity_MW) for b in offers]
    total = sum(sizes)
    exact = [remainder * s / total for s in sizes]
    shares = [math.floor(x) for x in exact]
    left = remainder - sum(shares)
    order = sorted(range(len(offers)), key=lambda i: -(exact[i] - shares[i]))  # stable: keeps tie-break order
    for i in order[:left]:
        shares[i] += 1
    return shares


def _clear_capacity_product(
    product: CapacityProduct, block: int, demand: int, offers: list[CapacityBid]
) -> tuple[CapacityProductResult, list[CapacityAward]]:
    offers.sort(key=lambda b: (b.capacity_price_EUR_per_MW, b.submitted_at_s, b.bid_id))
    accepted: list[tuple[CapacityBid, int]] = []
    left = demand
    i = 0
    while left > 0 and i < len(offers):
        price = offers[i].capacity_price_EUR_per_MW
        tied = [b for b in offers[i:] if b.capacity_price_EUR_per_MW == price]
        i += len(tied)
        offered = sum(round(b.capacity_MW) for b in tied)
        shares = [round(b.capacity_MW) for b in tied] if offered <= left else _share_whole(left, tied)
        accepted.extend((b, s) for b, s in zip(tied, shares, strict=True) if s > 0)
        left -= sum(shares)
    clearing = accepted[-1][0].capacity_price_EUR_per_MW if accepted else None
    result = CapacityProductResult(
        product=product, block_index=block, demand_MW=demand, accepted_MW=demand - left,
        shortfall_MW=left, clearing_price_EUR_per_MW=clearing,
    )
    awards = [
        CapacityAward(
            bid_id=b.bid_id, bidder_id=b.bidder_id, product=product, block_index=block,
            accepted_MW=s, price_EUR_per_MW=clearing if clearing is not None else 0.0,
        )
        for b, s in accepted
    ]
    return result, awards


def run_capacity_auction(bids: Iterable[CapacityBid], rules: CapacityAuctionRules) -> CapacityAuctionResult:
    """Clear every (product, block) with a TSO demand, cheapest offers first, pay-as-cleared."""
    books: dict[tuple[CapacityProduct, int], list[CapacityBid]] = {key: [] for key in rules.demand_MW}
    rejected: list[Rejection] = []
    seen: set[str] = set()
    for bid in bids:
        problem = check_capacity_bid(bid, rules)
        if problem is None and bid.bid_id in seen:
            problem = Rejection(bid_id=bid.bid_id, reason=RejectReason.MALFORMED, detail="duplicate bid_id")
        if problem is not None:
            rejected.append(problem)
            continue
        seen.add(bid.bid_id)
        books[bid.product, bid.block_index].append(bid)
    products: list[CapacityProductResult] = []
    awards: list[CapacityAward] = []
    for (product, block), offers in books.items():
        result, won = _clear_capacity_product(product, block, rules.demand_MW[product, block], offers)
        products.append(result)
        awards.extend(won)
    return CapacityAuctionResult(products=tuple(products), awards=tuple(awards), rejections=tuple(rejected))
