"""Commercial aggregator: FCR capacity per block from the envelope, day-ahead bids inside it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bidicharge.control.aggregator_bidding import (
    EnvelopeInfeasible,
    EnvelopeInterval,
    PoolEnvelope,
    check_feasible,
    day_ahead_bids,
    energy_path_Wh,
    envelope_violations,
    fcr_capacity_bids,
    max_fcr_offers,
    plan_day_ahead,
    reserve_fcr,
)
from bidicharge.control.frequency_reserve import EnergyReservoir, fcr_reserve_check
from bidicharge.control.market_clearing import (
    Bid,
    CapacityAuctionRules,
    CapacityProduct,
    DayAheadRules,
    Side,
    check_day_ahead_bid,
    run_capacity_auction,
    run_day_ahead_auction,
)


def flat(n: int, *, p_W: float, e_min_Wh: float, e_max_Wh: float, e0_Wh: float, eta: float = 1.0) -> PoolEnvelope:
    iv = EnvelopeInterval(min_power_W=-p_W, max_power_W=p_W, min_energy_Wh=e_min_Wh, max_energy_Wh=e_max_Wh)
    return PoolEnvelope(initial_energy_Wh=e0_Wh, intervals=(iv,) * n, charge_efficiency=eta, discharge_efficiency=eta)


# ----------------------------------------------------------------------------- envelope


def test_an_unreachable_departure_target_names_the_quarter_hour():
    ivs = [EnvelopeInterval(min_power_W=0, max_power_W=1e6, min_energy_Wh=0, max_energy_Wh=9e6)] * 4
    ivs[3] = EnvelopeInterval(min_power_W=0, max_power_W=1e6, min_energy_Wh=2e6, max_energy_Wh=9e6)
    check_feasible(PoolEnvelope(initial_energy_Wh=1.1e6, intervals=tuple(ivs)))  # +1 MWh possible, 0.9 needed
    check_feasible(PoolEnvelope(initial_energy_Wh=1.0e6, intervals=tuple(ivs)))  # exactly reachable
    with pytest.raises(EnvelopeInfeasible) as err:
        check_feasible(PoolEnvelope(initial_energy_Wh=0.9e6, intervals=tuple(ivs)))
    assert err.value.interval == 3


def test_efficiency_counts_on_the_way_in_and_out():
    env = flat(2, p_W=1e6, e_min_Wh=0, e_max_Wh=1e7, e0_Wh=1e6, eta=0.9)
    assert energy_path_Wh(env, [1e6, -1e6]) == pytest.approx([1e6 + 225_000, 1e6 + 225_000 - 250_000 / 0.9])


# ---------------------------------------------------------------------------------- FCR


def test_fcr_reservation_takes_power_both_ways_and_15_minutes_of_energy_both_ways():
    env = flat(16, p_W=3e6, e_min_Wh=1e6, e_max_Wh=5e6, e0_Wh=3e6)
    reduced = reserve_fcr(env, [1e6])
    assert reduced.intervals[0] == EnvelopeInterval(min_power_W=-2e6, max_power_W=2e6,
                                                    min_energy_Wh=1.25e6, max_energy_Wh=4.75e6)


def test_fcr_energy_reserve_also_holds_at_the_start_of_the_next_block():
    env = flat(32, p_W=3e6, e_min_Wh=1e6, e_max_Wh=5e6, e0_Wh=3e6)
    reduced = reserve_fcr(env, [0.0, 2e6])
    assert reduced.intervals[14].min_energy_Wh == 1e6
    assert reduced.intervals[15].min_energy_Wh == 1.5e6  # end of block 0 = start of block 1
    assert reduced.intervals[15].min_power_W == -3e6  # power is only held inside the block


@pytest.mark.parametrize(("p_W", "e_min_Wh", "e_max_Wh", "expected_MW"), [
    (1.5e6, 0, 2e6, 1),  # power-limited: 1.5 MW headroom each way -> 1 MW (whole MW)
    (2.5e6, 0, 2e6, 2),
    (5e6, 0.5e6, 1.5e6, 2),  # energy-limited: 0.5 MWh each way = 15 min at 2 MW
    (5e6, 0.8e6, 1.2e6, 0),  # 0.2 MWh each way = 0.8 MW, below the 1 MW minimum
])
def test_offerable_fcr_per_block_respects_power_and_the_energy_reserve(p_W, e_min_Wh, e_max_Wh, expected_MW):
    env = flat(96, p_W=p_W, e_min_Wh=e_min_Wh, e_max_Wh=e_max_Wh, e0_Wh=1e6)
    offers = max_fcr_offers(env)
    assert [o.capacity_W / 1e6 for o in offers] == [expected_MW] * 6


def test_a_rising_departure_target_reduces_the_fcr_of_the_blocks_before_it():
    ivs = [EnvelopeInterval(min_power_W=-3e6, max_power_W=3e6, min_energy_Wh=1e6, max_energy_Wh=6e6)] * 96
    # from 06:00 (interval 24) the cars must hold 5 MWh: at most 1 MWh of room above for a reserve
    ivs[24:] = [EnvelopeInterval(min_power_W=-3e6, max_power_W=3e6, min_energy_Wh=5e6, max_energy_Wh=6e6)] * 72
    env = PoolEnvelope(initial_energy_Wh=3e6, intervals=tuple(ivs))
    offers = [o.capacity_W / 1e6 for o in max_fcr_offers(env)]
    # after 06:00 only 1 MWh of room: 0.5 MWh each way = 2 MW. Block 0 alone could hold 3 MW, but
    # that pins the pool at 3 MWh until 04:00, and block 1 would then have 1 MW left to charge
    # 2.5 MWh in 9 quarter-hours (2.25 MWh): it stays at 2 MW so that block 1 keeps 2 MW
    assert offers == [2, 2, 2, 2, 2, 2]
    reduced = reserve_fcr(env, [o * 1e6 for o in offers])
    check_feasible(reduced)


def test_a_plan_inside_the_reduced_envelope_passes_the_fcr_energy_reserve_check_every_quarter_hour():
    env = flat(96, p_W=3.5e6, e_min_Wh=1e6, e_max_Wh=5e6, e0_Wh=3e6)
    offers = max_fcr_offers(env)
    assert [o.capacity_W for o in offers] == [3e6] * 6  # ±0.5 MW left for the day-ahead
    reduced = reserve_fcr(env, [o.capacity_W for o in offers])
    forecast = [60 + 40 * ((t // 8) % 2) for t in range(96)]  # cheap and dear every two hours
    plan = plan_day_ahead(reduced, forecast)
    assert any(p != 0 for p in plan.schedule_W)
    path = energy_path_Wh(env, plan.schedule_W)
    for t in range(95):
        capacity = offers[(t + 1) // 16].capacity_W
        pool = EnergyReservoir(energy_Wh=path[t], min_energy_Wh=1e6, max_energy_Wh=5e6, max_charge_W=3.5e6,
                               max_discharge_W=3.5e6, baseline_W=plan.schedule_W[t + 1])
        assert fcr_reserve_check(pool, capacity).ok, t


def test_blocks_are_topped_up_where_the_envelope_allows_more():
    ivs = [EnvelopeInterval(min_power_W=-3e6, max_power_W=3e6, min_energy_Wh=1e6, max_energy_Wh=6e6)] * 32
    ivs[16:] = [EnvelopeInterval(min_power_W=-1.5e6, max_power_W=1.5e6, min_energy_Wh=1e6, max_energy_Wh=6e6)] * 16
    env = PoolEnvelope(initial_energy_Wh=3e6, intervals=tuple(ivs))
    assert [o.capacity_W / 1e6 for o in max_fcr_offers(env)] == [3, 1]  # block 1 has only 1.5 MW of headroom


def test_fcr_offers_become_valid_capacity_bids_that_clear():
    env = flat(96, p_W=2.5e6, e_min_Wh=0, e_max_Wh=2e6, e0_Wh=1e6)
    bids = fcr_capacity_bids(max_fcr_offers(env), bidder_id="agg", price_EUR_per_MW=12.5, submitted_at_s=0)
    rules = CapacityAuctionRules(gate_closure_s=10, demand_MW={(CapacityProduct.FCR, b): 10 for b in range(6)})
    result = run_capacity_auction(bids, rules)
    assert result.rejections == ()
    assert sorted(a.accepted_MW for a in result.awards) == [2] * 6


# ---------------------------------------------------------------------------- day-ahead


def test_four_quarter_hours_buy_low_sell_high_by_hand():
    env = flat(4, p_W=1e6, e_min_Wh=0, e_max_Wh=250_000, e0_Wh=0)
    plan = plan_day_ahead(env, [10, 100, 20, 200])
    assert plan.schedule_W == pytest.approx((1e6, -1e6, 1e6, -1e6))
    assert plan.expected_cost_EUR == pytest.approx((10 - 100 + 20 - 200) * 0.25)
    # only the last sell may fail without leaving the envelope (energy would stay at the maximum)
    assert plan.limit_price_EUR_per_MWh == (None, None, None, 180.0)


def test_energy_left_at_the_end_of_the_day_keeps_its_value():
    env = flat(2, p_W=1e6, e_min_Wh=0, e_max_Wh=1e6, e0_Wh=500_000)
    assert plan_day_ahead(env, [50, 60], terminal_value_EUR_per_MWh=100).schedule_W == pytest.approx((1e6, 1e6))
    assert plan_day_ahead(env, [50, 60], terminal_value_EUR_per_MWh=0).schedule_W == pytest.approx((-1e6, -1e6))


def test_plan_bids_are_valid_exchange_bids():
    env = flat(96, p_W=2e6, e_min_Wh=1e6, e_max_Wh=5e6, e0_Wh=3e6, eta=0.95)
    forecast = [80 + 60 * ((t // 12) % 3 - 1) for t in range(96)]
    plan = plan_day_ahead(env, forecast)
    bids = day_ahead_bids(plan, bidder_id="agg", submitted_at_s=0.0)
    rules = DayAheadRules(gate_closure_s=1.0)
    assert bids and all(check_day_ahead_bid(b, rules) is None for b in bids)
    assert all(b.price_EUR_per_MWh in (4000.0, -500.0) or b.price_EUR_per_MWh == pytest.approx(
        forecast[b.mtu_index] + (20 if b.side is Side.BUY else -20)) for b in bids)


TICK_WH = 25_000  # 0.1 MW for a quarter-hour


@st.composite
def envelopes(draw: st.DrawFn) -> tuple[PoolEnvelope, list[float]]:
    """Envelopes built around a random tick-aligned path, so that a schedule exists."""
    n = draw(st.integers(2, 10))
    e0 = draw(st.integers(0, 40)) * TICK_WH
    energy = e0
    intervals = []
    for _ in range(n):
        p = draw(st.integers(-10, 10))
        energy = max(0, energy + p * TICK_WH)
        lo_p, hi_p = draw(st.integers(0, 10)), draw(st.integers(0, 10))
        lo_e, hi_e = draw(st.integers(0, 8)), draw(st.integers(0, 8))
        intervals.append(EnvelopeInterval(
            min_power_W=(p - lo_p - 10) * 100_000.0, max_power_W=(p + hi_p + 10) * 100_000.0,
            min_energy_Wh=float(energy - lo_e * TICK_WH), max_energy_Wh=float(energy + hi_e * TICK_WH)))
    forecast = draw(st.lists(st.integers(-50, 300).map(float), min_size=n, max_size=n))
    return PoolEnvelope(initial_energy_Wh=float(e0), intervals=tuple(intervals)), forecast


@settings(max_examples=150, deadline=None)
@given(envelopes(), st.data())
def test_whatever_the_auction_accepts_the_pool_stays_inside_its_envelope(case, data):
    env, forecast = case
    plan = plan_day_ahead(env, forecast)
    assert envelope_violations(env, plan.schedule_W) == []
    assert all(abs(p / 100_000 - round(p / 100_000)) < 1e-9 for p in plan.schedule_W)  # on the 0.1 MW tick
    prices = data.draw(st.lists(st.integers(-100, 400).map(float), min_size=len(forecast), max_size=len(forecast)))
    realised = []
    for p, limit, price in zip(plan.schedule_W, plan.limit_price_EUR_per_MWh, prices, strict=True):
        filled = limit is None or (price <= limit if p > 0 else price >= limit)
        realised.append(p if filled else 0.0)
    assert envelope_violations(env, realised) == []


def test_bids_cleared_by_the_auction_keep_the_pool_inside_its_envelope():
    env = flat(96, p_W=2e6, e_min_Wh=1e6, e_max_Wh=5e6, e0_Wh=3e6, eta=0.95)
    forecast = [80 + 60 * ((t // 12) % 3 - 1) for t in range(96)]
    bids = day_ahead_bids(plan_day_ahead(env, forecast), bidder_id="agg", submitted_at_s=0.0)
    # the rest of the market: deep supply and demand that set each quarter-hour's price
    actual = [f + (45 if t % 5 == 0 else -35) for t, f in enumerate(forecast)]
    market = [Bid(bid_id=f"{side.value}{t}", bidder_id="mkt", side=side, mtu_index=t, power_MW=1000.0,
                  price_EUR_per_MWh=actual[t], submitted_at_s=0.0) for t in range(96) for side in Side]
    result = run_day_ahead_auction(bids + market, DayAheadRules(gate_closure_s=1.0))
    assert [m.clearing_price_EUR_per_MWh for m in result.mtus] == pytest.approx(actual)
    realised = [0.0] * 96
    for b in bids:
        award = result.awards.get(b.bid_id)
        if award is not None:
            realised[b.mtu_index] += award.accepted_power_MW * 1e6 * (1 if b.side is Side.BUY else -1)
    assert realised != [0.0] * 96
    assert envelope_violations(env, realised) == []
