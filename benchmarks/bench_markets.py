"""Benchmark 3 of issue 9: day-ahead clearing of 100,000 bids (target < 1 s).

Measures, in the same run and on the same book:
* ours, end to end: ``run_day_ahead_auction`` (validation, clearing, awards as objects);
* ours, core only: ``clear_columns`` on arrays;
* the anchor: per-bid validation with the same rules, then a straightforward per-quarter-hour merit-order clearing
  in pure Python (sort buys by price descending and sells ascending, walk both lists while they
  cross, accepting as matched), the way one would write it without thinking about speed. It has
  no tie or indeterminacy rule; the cleared volumes of both are checked to agree.
* the rule's allowance: the issue's target of 1 s.

Also: pool allocation over 500 cars against the 4-s aFRR set-point cycle.

Ratios are anchor / ours (> 1: ours is faster or inside the allowance).

Run: ``.venv/bin/python benchmarks/bench_markets.py [n_bids]``
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from collections.abc import Callable

import numpy as np

from bidicharge.control.frequency_reserve import PoolCar, allocate_pool
from bidicharge.control.market_clearing import (
    Bid,
    DayAheadRules,
    Side,
    check_day_ahead_bid,
    clear_columns,
    run_day_ahead_auction,
)

MTUS = 96


def make_book(n: int, seed: int = 7) -> list[Bid]:
    rng = np.random.default_rng(seed)
    mtu = rng.integers(0, MTUS, n)
    is_buy = rng.random(n) < 0.5
    centre = 80.0 + 40.0 * np.sin(2 * np.pi * mtu / MTUS)
    price = np.round(np.where(is_buy, centre + rng.normal(10, 40, n), centre + rng.normal(-10, 40, n)), 0)
    price = np.clip(price, -500, 4000)
    power = np.round(rng.integers(1, 200, n) / 10, 1)
    return [
        Bid(bid_id=f"b{i}", bidder_id=f"t{i % 50}", side=Side.BUY if is_buy[i] else Side.SELL,
            mtu_index=int(mtu[i]), power_MW=float(power[i]), price_EUR_per_MWh=float(price[i]), submitted_at_s=0.0)
        for i in range(n)
    ]


def naive_clearing(bids: list[Bid], rules: DayAheadRules) -> tuple[dict[int, float], dict[str, float]]:
    """The same validation, then per MTU: walk the sorted buy and sell lists while the best buy
    still pays the best sell, accepting bids as they are matched; price = midpoint of the last
    matched pair. Returns cleared volume per MTU and accepted MW per bid."""
    valid = []
    seen: set[str] = set()
    for b in bids:  # per-bid validation, the straightforward way
        if check_day_ahead_bid(b, rules) is None and b.bid_id not in seen:
            seen.add(b.bid_id)
            valid.append(b)
    buys: dict[int, list[Bid]] = defaultdict(list)
    sells: dict[int, list[Bid]] = defaultdict(list)
    for b in valid:
        (buys if b.side is Side.BUY else sells)[b.mtu_index].append(b)
    volume: dict[int, float] = {}
    accepted: dict[str, float] = {}
    for m in range(MTUS):
        bl = sorted(buys[m], key=lambda x: -x.price_EUR_per_MWh)
        sl = sorted(sells[m], key=lambda x: x.price_EUR_per_MWh)
        i = j = 0
        traded = 0.0
        bq = bl[0].power_MW if bl else 0.0
        sq = sl[0].power_MW if sl else 0.0
        while i < len(bl) and j < len(sl) and bl[i].price_EUR_per_MWh >= sl[j].price_EUR_per_MWh:
            q = min(bq, sq)
            traded += q
            accepted[bl[i].bid_id] = accepted.get(bl[i].bid_id, 0.0) + q
            accepted[sl[j].bid_id] = accepted.get(sl[j].bid_id, 0.0) + q
            bq -= q
            sq -= q
            if bq <= 1e-12:
                i += 1
                bq = bl[i].power_MW if i < len(bl) else 0.0
            if sq <= 1e-12:
                j += 1
                sq = sl[j].power_MW if j < len(sl) else 0.0
        volume[m] = traded
    return volume, accepted


def best_of(repeats: int, fn: Callable[[], object]) -> tuple[float, object]:
    best = float("inf")
    out: object = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def bench_allocation(cars_n: int = 500) -> None:
    """Pool allocation of an FCR/aFRR request over 500 cars, against the 4-s aFRR cycle."""
    rng = np.random.default_rng(3)
    cars = [
        PoolCar(car_id=f"c{i}", power_W=float(rng.uniform(-11_000, 11_000)), max_charge_W=11_000.0,
                max_discharge_W=11_000.0, soc=float(rng.uniform(0.2, 0.9)), min_soc=0.3, capacity_Wh=60_000.0,
                consent=bool(rng.random() < 0.9))
        for i in range(cars_n)
    ]
    t, _ = best_of(20, lambda: allocate_pool(1e6, cars, horizon_s=4.0))
    print(f"BENCH pool_allocation_{cars_n}_cars: {t * 1000:.2f} ms per request "
          f"(anchor aFRR set-point cycle 4000 ms, ratio {4.0 / t:.0f})")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    book = make_book(n)
    rules = DayAheadRules(gate_closure_s=1.0)
    t_ours, result = best_of(3, lambda: run_day_ahead_auction(book, rules))
    t_naive, naive_out = best_of(3, lambda: naive_clearing(book, rules))
    assert isinstance(naive_out, tuple)
    naive = naive_out[0]
    ours = {m.mtu_index: m.cleared_power_MW for m in result.mtus}  # type: ignore[attr-defined]
    worst = max(abs(ours[m] - naive[m]) for m in range(MTUS))
    assert worst < 1e-6, f"volumes disagree by {worst} MW"

    mtu = np.array([b.mtu_index for b in book], dtype=np.int64)
    is_buy = np.array([b.side is Side.BUY for b in book])
    price = np.rint(np.array([b.price_EUR_per_MWh for b in book]) * 100).astype(np.int64)
    qty = np.rint(np.array([b.power_MW for b in book]) * 1000).astype(np.int64)
    t_core, _ = best_of(5, lambda: clear_columns(mtu, is_buy, price, qty, mtu_count=MTUS))

    print(f"BENCH da_clearing_{n}_bids_end_to_end: {t_ours:.3f} s "
          f"(anchor naive validate+sort-and-walk {t_naive:.3f} s, ratio {t_naive / t_ours:.2f})")
    print(f"BENCH da_clearing_{n}_bids_core_arrays: {t_core * 1000:.1f} ms "
          f"(anchor naive validate+sort-and-walk {t_naive * 1000:.1f} ms, ratio {t_naive / t_core:.1f})")
    print(f"BENCH da_clearing_{n}_bids_vs_target: {t_ours:.3f} s (anchor target 1.000 s, ratio {1.0 / t_ours:.1f})")
    bench_allocation()


if __name__ == "__main__":
    main()
