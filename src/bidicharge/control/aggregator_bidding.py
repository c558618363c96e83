"""The commercial aggregator's bids from the pool envelope (issue 9 item 5; I-23 in, I-44 out).

The technical aggregator hands over the pool's **envelope**: for each quarter-hour of the
delivery day the grid-side power range (``power_W`` positive = charging, the house convention)
and the range of energy stored in the cars at the end of the quarter-hour (it rises towards
departure targets). Losses are the envelope's charge and discharge efficiencies.

* **FCR** (grid_and_markets.md §1): a symmetric capacity C sold for a 4-hour block needs C of
  power headroom on both sides of the operating point and, as a limited energy reservoir, energy
  for 15 minutes at full power in both directions (C·¼ h / η_dis above the minimum, C·¼ h · η_ch
  below the maximum). ``reserve_fcr`` applies exactly that to the envelope — at the end of
  every quarter-hour of the block and at the block's start — so any schedule inside the reduced
  envelope keeps the reserve. ``max_fcr_offers`` finds whole MW (≥ 1 MW) per block that keep
  the reduced envelope feasible: the most all blocks can hold at once, then each block topped up.
* **Day-ahead** (buy low, sell high): ``plan_day_ahead`` finds the cheapest schedule inside the
  (reduced) envelope against a price forecast (a linear programme, HiGHS), rounds it to the
  0.1 MW volume tick without leaving the envelope, and gives each bid a protective limit price
  (forecast ± margin) only where the envelope survives that bid not being filled — together
  with every other limited bid failing the same way. The remaining bids are price-independent
  (cap/floor). Whatever the auction then accepts, the pool stays inside its envelope.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import highspy
import numpy as np

from bidicharge.control.highs_solver import new_highs
from bidicharge.control.market_clearing import Bid, CapacityBid, CapacityProduct, Side

QUARTER_HOUR_H = 0.25
INTERVALS_PER_BLOCK = 16
FCR_RESERVE_DURATION_S = 900.0


class EnvelopeInfeasible(ValueError):
    """The envelope (the technical aggregator's input) admits no schedule; names the interval."""

    def __init__(self, interval: int, why: str) -> None:
        super().__init__(f"envelope infeasible at quarter-hour {interval}: {why}")
        self.interval = interval


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvelopeInterval:
    min_power_W: float
    max_power_W: float
    min_energy_Wh: float  # stored, at the end of the quarter-hour
    max_energy_Wh: float


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolEnvelope:
    initial_energy_Wh: float
    intervals: tuple[EnvelopeInterval, ...]  # quarter-hours from the start of the delivery day
    charge_efficiency: float = 1.0  # stored / drawn from the grid
    discharge_efficiency: float = 1.0  # fed to the grid / taken from storage

    def stored_change_Wh(self, power_W: float) -> float:
        """Change of stored energy over one quarter-hour at a constant grid-side power."""
        rate = power_W * self.charge_efficiency if power_W >= 0 else power_W / self.discharge_efficiency
        return rate * QUARTER_HOUR_H

    def power_for_change_W(self, change_Wh: float) -> float:
        rate = change_Wh / QUARTER_HOUR_H
        return rate / self.charge_efficiency if rate >= 0 else rate * self.discharge_efficiency


def energy_path_Wh(envelope: PoolEnvelope, schedule_W: Sequence[float]) -> list[float]:
    """Stored energy at the end of each quarter-hour when the pool follows ``schedule_W``."""
    energy = envelope.initial_energy_Wh
    path = []
    for p in schedule_W:
        energy += envelope.stored_change_Wh(p)
        path.append(energy)
    return path


def envelope_violations(envelope: PoolEnvelope, schedule_W: Sequence[float], *, tolerance: float = 1e-3) -> list[int]:
    """Quarter-hours where the schedule breaks a power or an energy bound of the envelope."""
    bad = []
    for t, (iv, p, e) in enumerate(zip(envelope.intervals, schedule_W, energy_path_Wh(envelope, schedule_W), strict=True)):
        if not (iv.min_power_W - tolerance <= p <= iv.max_power_W + tolerance
                and iv.min_energy_Wh - tolerance <= e <= iv.max_energy_Wh + tolerance):
            bad.append(t)
    return bad


def check_feasible(envelope: PoolEnvelope) -> None:
    """Raise ``EnvelopeInfeasible`` unless some schedule stays inside the envelope."""
    low = high = envelope.initial_energy_Wh
    for t, iv in enumerate(envelope.intervals):
        if iv.min_power_W > iv.max_power_W or iv.min_energy_Wh > iv.max_energy_Wh:
            raise EnvelopeInfeasible(t, "a lower bound above its upper bound")
        low = max(low + envelope.stored_change_Wh(iv.min_power_W), iv.min_energy_Wh)
        high = min(high + envelope.stored_change_Wh(iv.max_power_W), iv.max_energy_Wh)
        if low > high + 1e-6:
            raise EnvelopeInfeasible(t, f"reachable energy {low:.0f} Wh > allowed {high:.0f} Wh")


def is_feasible(envelope: PoolEnvelope) -> bool:
    try:
        check_feasible(envelope)
    except EnvelopeInfeasible:
        return False
    return True


# ----------------------------------------------------------------------------------- FCR


@dataclass(frozen=True, slots=True, kw_only=True)
class FcrBlockOffer:
    block_index: int
    capacity_W: float


def reserve_fcr(
    envelope: PoolEnvelope, capacity_W_per_block: Sequence[float], *, reserve_duration_s: float = FCR_RESERVE_DURATION_S
) -> PoolEnvelope:
    """The envelope left for the schedule once FCR capacity is held per 4-hour block."""
    hours = reserve_duration_s / 3600.0

    def capacity(t: int) -> float:
        block = t // INTERVALS_PER_BLOCK
        return capacity_W_per_block[block] if 0 <= block < len(capacity_W_per_block) else 0.0

    intervals = []
    for t, iv in enumerate(envelope.intervals):
        c_power = capacity(t)
        c_energy = max(c_power, capacity(t + 1))  # the end of t is the start of t + 1
        intervals.append(EnvelopeInterval(
            min_power_W=iv.min_power_W + c_power,
            max_power_W=iv.max_power_W - c_power,
            min_energy_Wh=iv.min_energy_Wh + c_energy * hours / envelope.discharge_efficiency,
            max_energy_Wh=iv.max_energy_Wh - c_energy * hours * envelope.charge_efficiency,
        ))
    return replace(envelope, intervals=tuple(intervals))


def _initial_reserve_ok(envelope: PoolEnvelope, capacity_W: float, hours: float) -> bool:
    """At the start of the day the reserve is checked against the first quarter-hour's bounds."""
    first = envelope.intervals[0]
    e0 = envelope.initial_energy_Wh
    return (e0 - capacity_W * hours / envelope.discharge_efficiency >= first.min_energy_Wh - 1e-6
            and e0 + capacity_W * hours * envelope.charge_efficiency <= first.max_energy_Wh + 1e-6)


def _largest(fits: Callable[[int], bool], low: int, high: int) -> int:
    """Largest k in [low, high] with fits(k), given fits(low) and fits monotone decreasing."""
    while low < high:
        mid = (low + high + 1) // 2
        if fits(mid):
            low = mid
        else:
            high = mid - 1
    return low


def max_fcr_offers(
    envelope: PoolEnvelope,
    *,
    min_bid_W: float = 1e6,
    step_W: float = 1e6,
    reserve_duration_s: float = FCR_RESERVE_DURATION_S,
) -> tuple[FcrBlockOffer, ...]:
    """FCR per 4-hour block (in ``step_W``, at least ``min_bid_W``, else 0) that leaves a feasible
    envelope: first the largest capacity every block can hold at once, then each block in time
    order raised as far as the others allow. A heuristic, not an optimum: it keeps an early block
    from starving the later ones, but does not weigh blocks by price."""
    check_feasible(envelope)
    n_blocks = math.ceil(len(envelope.intervals) / INTERVALS_PER_BLOCK)
    hours = reserve_duration_s / 3600.0

    def feasible(caps: Sequence[float]) -> bool:
        return _initial_reserve_ok(envelope, caps[0], hours) and is_feasible(
            reserve_fcr(envelope, caps, reserve_duration_s=reserve_duration_s))

    def headroom_steps(b: int) -> int:
        block = envelope.intervals[b * INTERVALS_PER_BLOCK:(b + 1) * INTERVALS_PER_BLOCK]
        return max(0, int(min((iv.max_power_W - iv.min_power_W) / 2 for iv in block) // step_W))

    uniform = _largest(lambda k: feasible([k * step_W] * n_blocks), 0, min(map(headroom_steps, range(n_blocks))))
    caps = [uniform * step_W if uniform * step_W >= min_bid_W else 0.0] * n_blocks
    for b in range(n_blocks):

        def fits_in_block(k: int, b: int = b) -> bool:
            return feasible([*caps[:b], k * step_W, *caps[b + 1:]])

        k = _largest(fits_in_block, round(caps[b] / step_W), headroom_steps(b))
        caps[b] = k * step_W if k * step_W >= min_bid_W else 0.0
    return tuple(FcrBlockOffer(block_index=b, capacity_W=c) for b, c in enumerate(caps))


def fcr_capacity_bids(
    offers: Sequence[FcrBlockOffer], *, bidder_id: str, price_EUR_per_MW: float, submitted_at_s: float
) -> list[CapacityBid]:
    return [
        CapacityBid(
            bid_id=f"{bidder_id}-FCR-{o.block_index}", bidder_id=bidder_id, product=CapacityProduct.FCR,
            block_index=o.block_index, capacity_MW=round(o.capacity_W / 1e6), capacity_price_EUR_per_MW=price_EUR_per_MW,
            submitted_at_s=submitted_at_s,
        )
        for o in offers
        if o.capacity_W > 0
    ]


# ----------------------------------------------------------------------------- day-ahead


@dataclass(frozen=True, slots=True, kw_only=True)
class DayAheadPlan:
    schedule_W: tuple[float, ...]  # per quarter-hour, + = buy (charge), − = sell (discharge)
    limit_price_EUR_per_MWh: tuple[float | None, ...]  # None = price-independent (cap / floor)
    expected_cost_EUR: float  # at the forecast; negative = revenue


def _optimal_schedule(envelope: PoolEnvelope, forecast: Sequence[float], terminal_value: float) -> list[float]:
    """Cheapest schedule inside the envelope at the forecast prices, energy left at the end of the
    day counted at ``terminal_value`` €/MWh (LP in MW / MWh)."""
    n = len(envelope.intervals)
    eta_c, eta_d = envelope.charge_efficiency, envelope.discharge_efficiency
    ivs = envelope.intervals
    e0 = envelope.initial_energy_Wh / 1e6
    idle_penalty = 1e-3  # €/MWh: no needless charging and discharging in the same quarter-hour
    lp = highspy.HighsLp()
    lp.num_col_ = 2 * n
    lp.num_row_ = 2 * n
    charge_cost = [(forecast[t] - terminal_value * eta_c) * QUARTER_HOUR_H + idle_penalty for t in range(n)]
    discharge_cost = [(terminal_value / eta_d - forecast[t]) * QUARTER_HOUR_H + idle_penalty for t in range(n)]
    lp.col_cost_ = np.array(charge_cost + discharge_cost)
    lp.col_lower_ = np.zeros(2 * n)
    lp.col_upper_ = np.array([max(iv.max_power_W, 0.0) / 1e6 for iv in ivs] + [max(-iv.min_power_W, 0.0) / 1e6 for iv in ivs])
    lp.row_lower_ = np.array([iv.min_power_W / 1e6 for iv in ivs] + [iv.min_energy_Wh / 1e6 - e0 for iv in ivs])
    lp.row_upper_ = np.array([iv.max_power_W / 1e6 for iv in ivs] + [iv.max_energy_Wh / 1e6 - e0 for iv in ivs])
    starts, index, value = [0], [], []
    for k in range(2 * n):  # column k: its power row, then every energy row from its quarter-hour on
        t = k % n
        charging = k < n
        index += [t, *range(n + t, 2 * n)]
        value += [1.0 if charging else -1.0] + [eta_c * QUARTER_HOUR_H if charging else -QUARTER_HOUR_H / eta_d] * (n - t)
        starts.append(len(index))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
    lp.a_matrix_.index_ = np.array(index, dtype=np.int32)
    lp.a_matrix_.value_ = np.array(value)
    solver = new_highs()
    solver.passModel(lp)
    solver.run()
    if solver.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise EnvelopeInfeasible(0, f"no schedule found ({solver.modelStatusToString(solver.getModelStatus())})")
    x = list(solver.getSolution().col_value)
    return [(x[t] - x[n + t]) * 1e6 for t in range(n)]


def _round_to_tick(envelope: PoolEnvelope, wanted_W: Sequence[float], tick_W: float) -> list[float]:
    """Nearest tick multiples to ``wanted_W`` that keep a feasible continuation (backward tube)."""
    ivs = envelope.intervals
    p_lo = [math.ceil(iv.min_power_W / tick_W - 1e-9) * tick_W for iv in ivs]
    p_hi = [math.floor(iv.max_power_W / tick_W + 1e-9) * tick_W for iv in ivs]
    n = len(ivs)
    tube: list[tuple[float, float]] = [(0.0, 0.0)] * n
    low, high = ivs[-1].min_energy_Wh, ivs[-1].max_energy_Wh
    for t in range(n - 1, -1, -1):
        low, high = max(low, ivs[t].min_energy_Wh), min(high, ivs[t].max_energy_Wh)
        tube[t] = (low, high)
        low -= envelope.stored_change_Wh(p_hi[t])
        high -= envelope.stored_change_Wh(p_lo[t])
    energy = envelope.initial_energy_Wh
    schedule = []
    for t in range(n):
        a = max(p_lo[t], envelope.power_for_change_W(tube[t][0] - energy))
        b = min(p_hi[t], envelope.power_for_change_W(tube[t][1] - energy))
        k_lo, k_hi = math.ceil(a / tick_W - 1e-9), math.floor(b / tick_W + 1e-9)
        if k_lo > k_hi:
            raise EnvelopeInfeasible(t, f"no multiple of the {tick_W:.0f} W volume tick fits")
        p = min(k_hi, max(k_lo, round(wanted_W[t] / tick_W))) * tick_W
        schedule.append(p)
        energy += envelope.stored_change_Wh(p)
    return schedule


def plan_day_ahead(
    envelope: PoolEnvelope,
    forecast_EUR_per_MWh: Sequence[float],
    *,
    limit_margin_EUR_per_MWh: float = 20.0,
    terminal_value_EUR_per_MWh: float | None = None,
    tick_W: float = 100_000.0,
    price_floor_EUR_per_MWh: float = -500.0,
    price_cap_EUR_per_MWh: float = 4000.0,
) -> DayAheadPlan:
    """Buy-low/sell-high schedule and limit prices inside the envelope (see the module doc).

    Energy still stored at the end of the day is worth ``terminal_value_EUR_per_MWh`` (default:
    the median forecast), so the plan does not sell the pool empty just because the day ends."""
    if len(forecast_EUR_per_MWh) != len(envelope.intervals):
        raise ValueError("one forecast price per quarter-hour of the envelope")
    check_feasible(envelope)
    forecast = [float(f) for f in forecast_EUR_per_MWh]
    terminal = float(np.median(forecast)) if terminal_value_EUR_per_MWh is None else terminal_value_EUR_per_MWh
    schedule = _round_to_tick(envelope, _optimal_schedule(envelope, forecast, terminal), tick_W)
    path = energy_path_Wh(envelope, schedule)
    room_down = [e - iv.min_energy_Wh for e, iv in zip(path, envelope.intervals, strict=True)]
    room_up = [iv.max_energy_Wh - e for e, iv in zip(path, envelope.intervals, strict=True)]
    limits: list[float | None] = [None] * len(schedule)
    # a limited buy that fails leaves less stored energy from then on, a failed sell leaves more;
    # the dearest buys and the cheapest sells get their protective limit first
    buys = sorted((t for t, p in enumerate(schedule) if p > 0), key=lambda t: -forecast[t])
    sells = sorted((t for t, p in enumerate(schedule) if p < 0), key=lambda t: forecast[t])
    for t in buys + sells:
        p, iv = schedule[t], envelope.intervals[t]
        if not iv.min_power_W <= 0 <= iv.max_power_W:
            continue
        missing = envelope.stored_change_Wh(p)
        room = room_down if p > 0 else room_up
        if min(room[t:]) + 1e-6 >= abs(missing):
            for j in range(t, len(room)):
                room[j] -= abs(missing)
            limit = forecast[t] + (limit_margin_EUR_per_MWh if p > 0 else -limit_margin_EUR_per_MWh)
            limits[t] = round(min(price_cap_EUR_per_MWh, max(price_floor_EUR_per_MWh, limit)), 2)
    cost = sum(f * p / 1e6 * QUARTER_HOUR_H for f, p in zip(forecast, schedule, strict=True))
    return DayAheadPlan(schedule_W=tuple(schedule), limit_price_EUR_per_MWh=tuple(limits), expected_cost_EUR=cost)


def day_ahead_bids(
    plan: DayAheadPlan,
    *,
    bidder_id: str,
    submitted_at_s: float,
    price_floor_EUR_per_MWh: float = -500.0,
    price_cap_EUR_per_MWh: float = 4000.0,
) -> list[Bid]:
    """The plan as exchange bids: buys at their limit or the cap, sells at their limit or the floor."""
    bids = []
    for t, (p, limit) in enumerate(zip(plan.schedule_W, plan.limit_price_EUR_per_MWh, strict=True)):
        if p == 0:
            continue
        buy = p > 0
        price = limit if limit is not None else (price_cap_EUR_per_MWh if buy else price_floor_EUR_per_MWh)
        bids.append(Bid(
            bid_id=f"{bidder_id}-DA-{t}", bidder_id=bidder_id, side=Side.BUY if buy else Side.SELL, mtu_index=t,
            power_MW=round(abs(p) / 1e6, 1), price_EUR_per_MWh=price, submitted_at_s=submitted_at_s,
        ))
    return bids
