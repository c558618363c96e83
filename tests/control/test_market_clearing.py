"""Day-ahead and capacity auctions: hand-checked order books, rejections, merit-order invariants."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bidicharge.control.market_clearing import (
    Bid,
    CapacityAuctionRules,
    CapacityBid,
    CapacityProduct,
    DayAheadRules,
    RejectReason,
    Side,
    parse_day_ahead_bid,
    run_capacity_auction,
    run_day_ahead_auction,
)

RULES = DayAheadRules(gate_closure_s=1000.0, mtu_count=4)
B, S = Side.BUY, Side.SELL


def bid(bid_id: str, side: Side, power_MW: float, price: float, mtu: int = 0, at_s: float = 0.0) -> Bid:
    return Bid(bid_id=bid_id, bidder_id="t1", side=side, mtu_index=mtu, power_MW=power_MW,
               price_EUR_per_MWh=price, submitted_at_s=at_s)


@pytest.mark.parametrize(("book", "price", "interval", "volume_MW", "accepted_MW"), [
    # one buy, one sell of equal size: any price in between clears -> midpoint
    ([bid("b", B, 10, 50), bid("s", S, 10, 30)], 40.0, (30.0, 50.0), 10.0, {"b": 10, "s": 10}),
    # the supply step at 40 straddles the demand: 40 is the only clearing price, seller s2 curtailed
    ([bid("b", B, 10, 50), bid("s1", S, 5, 30), bid("s2", S, 10, 40)], 40.0, (40.0, 40.0), 10.0,
     {"b": 10, "s1": 5, "s2": 5}),
    # merit order: cheapest sells first, dearest buys first; 9 MW offered up to 70 meets 10 MW
    # demanded down to 60, so buyer b2 at 60 is marginal (curtailed to 3) and sets the price
    ([bid("b1", B, 6, 100), bid("b2", B, 4, 60), bid("b3", B, 5, 45),
      bid("s1", S, 5, 20), bid("s2", S, 4, 50), bid("s3", S, 8, 70)], 60.0, (60.0, 60.0), 9.0,
     {"b1": 6, "b2": 3, "s1": 5, "s2": 4}),
    # negative prices clear too
    ([bid("b", B, 3, -10), bid("s", S, 3, -200)], -105.0, (-200.0, -10.0), 3.0, {"b": 3, "s": 3}),
    # demand exceeds supply: the marginal buyer at the price of the last buy curtailed
    ([bid("b1", B, 5, 90), bid("b2", B, 5, 80), bid("s", S, 7, 10)], 80.0, (80.0, 80.0), 7.0,
     {"b1": 5, "b2": 2, "s": 7}),
    # midpoint off the tick rounds down: interval 10.00 … 10.01
    ([bid("b", B, 1, 10.01), bid("s", S, 1, 10.0)], 10.0, (10.0, 10.01), 1.0, {"b": 1, "s": 1}),
])
def test_small_books_clear_at_the_hand_computed_price(book, price, interval, volume_MW, accepted_MW):
    result = run_day_ahead_auction(book, RULES)
    mtu = result.mtus[0]
    assert mtu.clearing_price_EUR_per_MWh == pytest.approx(price)
    assert mtu.price_interval_EUR_per_MWh == pytest.approx(interval)
    assert mtu.cleared_power_MW == pytest.approx(volume_MW)
    assert {k: a.accepted_power_MW for k, a in result.awards.items()} == pytest.approx(accepted_MW)
    assert all(a.price_EUR_per_MWh == pytest.approx(price) for a in result.awards.values())


def test_marginal_sells_at_equal_price_are_curtailed_pro_rata():
    book = [bid("b", B, 10, 40), bid("s1", S, 4, 40), bid("s2", S, 6, 40), bid("s3", S, 10, 40)]
    result = run_day_ahead_auction(book, RULES)
    assert result.mtus[0].clearing_price_EUR_per_MWh == 40.0
    shares = {k: a.accepted_power_MW for k, a in result.awards.items() if a.side is S}
    assert shares == pytest.approx({"s1": 2.0, "s2": 3.0, "s3": 5.0})  # half of each


def test_curves_that_do_not_cross_have_no_price_and_no_awards():
    result = run_day_ahead_auction([bid("b", B, 1, 20), bid("s", S, 1, 30), bid("s2", S, 1, 5, mtu=1)], RULES)
    assert result.mtus[0].clearing_price_EUR_per_MWh is None
    assert result.mtus[0].cleared_power_MW == 0
    assert result.mtus[1].clearing_price_EUR_per_MWh is None  # an empty demand side
    assert result.awards == {}


def test_each_quarter_hour_clears_on_its_own_book():
    book = [bid("b0", B, 1, 50, mtu=0), bid("s0", S, 1, 50, mtu=0),
            bid("b3", B, 2, 300, mtu=3), bid("s3", S, 2, 100, mtu=3)]
    result = run_day_ahead_auction(book, RULES)
    assert [m.clearing_price_EUR_per_MWh for m in result.mtus] == [50.0, None, None, 200.0]
    assert [m.start_s for m in result.mtus] == [0.0, 900.0, 1800.0, 2700.0]


@pytest.mark.parametrize(("bad", "reason"), [
    (bid("x", B, 1, 50, at_s=1000.5), RejectReason.LATE),
    (bid("x", B, 0.05, 50), RejectReason.BELOW_MINIMUM_SIZE),
    (bid("x", B, 0.25, 50), RejectReason.MALFORMED),  # off the 0.1 MW tick
    (bid("x", B, 1, 4000.01), RejectReason.PRICE_OUT_OF_RANGE),
    (bid("x", S, 1, -500.01), RejectReason.PRICE_OUT_OF_RANGE),
    (bid("x", B, 1, 12.345), RejectReason.MALFORMED),  # off the 0.01 €/MWh tick
    (bid("x", B, 1, 50, mtu=4), RejectReason.MALFORMED),
    (bid("x", B, float("nan"), 50), RejectReason.MALFORMED),
    (bid("", B, 1, 50), RejectReason.MALFORMED),
])
def test_invalid_bids_are_rejected_with_a_reason_and_do_not_clear(bad, reason):
    result = run_day_ahead_auction([bad, bid("s", S, 1, 0)], RULES)
    assert [r.reason for r in result.rejections] == [reason]
    assert result.rejections[0].detail
    assert result.awards == {}


def test_limit_prices_at_the_harmonised_limits_are_valid():
    result = run_day_ahead_auction([bid("b", B, 1, 4000), bid("s", S, 1, -500)], RULES)
    assert result.rejections == ()
    assert result.mtus[0].clearing_price_EUR_per_MWh == 1750.0


def test_duplicate_bid_id_is_rejected_once_and_the_first_bid_stands():
    result = run_day_ahead_auction([bid("b", B, 1, 60), bid("b", B, 5, 60), bid("s", S, 3, 10)], RULES)
    assert [(r.bid_id, r.reason) for r in result.rejections] == [("b", RejectReason.MALFORMED)]
    assert result.mtus[0].cleared_power_MW == pytest.approx(1.0)


@pytest.mark.parametrize("raw", [
    {"bid_id": "x", "bidder_id": "t", "side": "hold", "mtu_index": 0, "power_MW": 1, "price_EUR_per_MWh": 1},
    {"bid_id": "x", "bidder_id": "t", "side": "buy", "mtu_index": 0, "power_MW": "1", "price_EUR_per_MWh": 1},
    {"bid_id": "x", "bidder_id": "t", "side": "buy", "mtu_index": 0.5, "power_MW": 1, "price_EUR_per_MWh": 1},
    {"bid_id": "x", "side": "buy", "mtu_index": 0, "power_MW": 1, "price_EUR_per_MWh": 1},
])
def test_malformed_json_bids_are_rejected_with_the_field_named(raw):
    outcome = parse_day_ahead_bid(raw, submitted_at_s=0.0)
    assert not isinstance(outcome, Bid)
    assert outcome.reason is RejectReason.MALFORMED
    assert outcome.bid_id == "x"


def test_well_formed_json_bid_parses():
    raw = {"bid_id": "x", "bidder_id": "t", "side": "sell", "mtu_index": 3, "power_MW": 2, "price_EUR_per_MWh": -3.5}
    assert parse_day_ahead_bid(raw, submitted_at_s=7.0) == Bid(
        bid_id="x", bidder_id="t", side=S, mtu_index=3, power_MW=2.0, price_EUR_per_MWh=-3.5, submitted_at_s=7.0)


awkward_floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32),
                           st.integers(-60, 60).map(lambda k: k / 20), st.sampled_from([4000.0, -500.0, 4000.01, 0.1]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", ""]), st.sampled_from([B, S, "buy"]),
                          st.integers(-1, 5), awkward_floats, awkward_floats,
                          st.sampled_from([0.0, 1000.0, 1000.5, float("nan")])), max_size=12))
def test_batch_validation_gives_the_same_verdicts_as_checking_bid_by_bid(raw):
    from bidicharge.control.market_clearing import check_day_ahead_bid, validate_day_ahead
    bids = [Bid(bid_id=i, bidder_id="t", side=side, mtu_index=m, power_MW=q, price_EUR_per_MWh=p, submitted_at_s=at)
            for i, side, m, q, p, at in raw]
    valid, rejected = validate_day_ahead(bids, RULES)
    expected_valid, expected_rejected, seen = [], [], set()
    for b in bids:
        problem = check_day_ahead_bid(b, RULES)
        if problem is None and b.bid_id in seen:
            problem = "duplicate"
        if problem is None:
            seen.add(b.bid_id)
            expected_valid.append(b)
        else:
            expected_rejected.append(b.bid_id)
    assert valid == expected_valid
    assert [r.bid_id for r in rejected] == expected_rejected


# ----------------------------------------------------------------------- merit-order invariants

prices = st.integers(min_value=-3, max_value=6).map(lambda k: 10.0 * k)  # few levels: many ties
sizes = st.integers(min_value=1, max_value=30).map(lambda k: k / 10)
orders = st.lists(st.tuples(st.booleans(), sizes, prices), min_size=1, max_size=25)


@settings(max_examples=300, deadline=None)
@given(orders)
def test_clearing_respects_every_limit_and_maximises_traded_volume(raw):
    book = [bid(f"o{i}", B if is_buy else S, q, p) for i, (is_buy, q, p) in enumerate(raw)]
    result = run_day_ahead_auction(book, RULES)
    mtu = result.mtus[0]
    bought = sum(a.accepted_power_MW for a in result.awards.values() if a.side is B)
    sold = sum(a.accepted_power_MW for a in result.awards.values() if a.side is S)
    assert bought == pytest.approx(sold) == pytest.approx(mtu.cleared_power_MW)
    # brute force: the largest volume any single price could trade
    best = max(min(sum(b.power_MW for b in book if b.side is B and b.price_EUR_per_MWh >= p),
                   sum(b.power_MW for b in book if b.side is S and b.price_EUR_per_MWh <= p))
               for p in {b.price_EUR_per_MWh for b in book})
    assert mtu.cleared_power_MW == pytest.approx(best)
    price = mtu.clearing_price_EUR_per_MWh
    if price is None:
        assert best == 0
        return
    for b in book:
        accepted = result.awards[b.bid_id].accepted_power_MW if b.bid_id in result.awards else 0.0
        assert accepted <= b.power_MW + 1e-9
        if b.side is B:
            assert accepted == 0 or b.price_EUR_per_MWh >= price  # no buy accepted above its limit
            if b.price_EUR_per_MWh > price:
                assert accepted == pytest.approx(b.power_MW)  # in the money: fully accepted
        else:
            assert accepted == 0 or b.price_EUR_per_MWh <= price  # no sell accepted below its limit
            if b.price_EUR_per_MWh < price:
                assert accepted == pytest.approx(b.power_MW)


# ------------------------------------------------------------------------------ capacity


def cap(bid_id: str, mw: float, price: float, *, product=CapacityProduct.FCR, block=0, at_s=0.0) -> CapacityBid:
    return CapacityBid(bid_id=bid_id, bidder_id="agg", product=product, block_index=block, capacity_MW=mw,
                       capacity_price_EUR_per_MW=price, submitted_at_s=at_s)


def cap_rules(**demand: int) -> CapacityAuctionRules:
    keys = {"fcr0": (CapacityProduct.FCR, 0), "pos0": (CapacityProduct.AFRR_POSITIVE, 0),
            "neg0": (CapacityProduct.AFRR_NEGATIVE, 0), "fcr1": (CapacityProduct.FCR, 1)}
    return CapacityAuctionRules(gate_closure_s=100.0, demand_MW={keys[k]: v for k, v in demand.items()})


def test_fcr_block_takes_cheapest_offers_and_pays_the_marginal_price_to_all():
    result = run_capacity_auction([cap("a", 5, 10.0), cap("b", 3, 7.0), cap("c", 4, 12.0)], cap_rules(fcr0=10))
    (product,) = result.products
    assert (product.accepted_MW, product.shortfall_MW, product.clearing_price_EUR_per_MW) == (10, 0, 12.0)
    assert {a.bid_id: (a.accepted_MW, a.price_EUR_per_MW) for a in result.awards} == {
        "b": (3, 12.0), "a": (5, 12.0), "c": (2, 12.0)}


def test_tied_capacity_offers_share_by_largest_remainder_in_whole_megawatts():
    offers = [cap("x", 3, 5.0, at_s=2), cap("y", 3, 5.0, at_s=1), cap("z", 3, 5.0, at_s=3)]
    result = run_capacity_auction(offers, cap_rules(fcr0=4))
    got = {a.bid_id: a.accepted_MW for a in result.awards}
    assert got == {"y": 2, "x": 1, "z": 1}  # 4/3 each; the leftover MW goes to the earliest offer
    assert sum(got.values()) == 4


def test_capacity_products_clear_separately_and_report_shortfall():
    offers = [cap("f", 2, 1.0), cap("p", 1, 9.0, product=CapacityProduct.AFRR_POSITIVE),
              cap("n", 6, 3.0, product=CapacityProduct.AFRR_NEGATIVE)]
    result = run_capacity_auction(offers, cap_rules(fcr0=1, pos0=3, neg0=5, fcr1=2))
    by_key = {(p.product, p.block_index): p for p in result.products}
    assert by_key[CapacityProduct.FCR, 0].clearing_price_EUR_per_MW == 1.0
    assert by_key[CapacityProduct.AFRR_POSITIVE, 0].shortfall_MW == 2
    assert by_key[CapacityProduct.AFRR_NEGATIVE, 0].accepted_MW == 5
    assert by_key[CapacityProduct.FCR, 1].clearing_price_EUR_per_MW is None  # no offers at all


@pytest.mark.parametrize(("bad", "reason"), [
    (cap("x", 0.5, 1.0), RejectReason.BELOW_MINIMUM_SIZE),  # 1 MW minimum
    (cap("x", 1.5, 1.0), RejectReason.MALFORMED),  # 1 MW steps
    (cap("x", 2, 1.0, at_s=101), RejectReason.LATE),
    (cap("x", 2, -1.0), RejectReason.PRICE_OUT_OF_RANGE),
    (cap("x", 2, 1.0, block=5), RejectReason.MALFORMED),  # no auction for that block
])
def test_invalid_capacity_offers_are_rejected_with_a_reason(bad, reason):
    result = run_capacity_auction([bad], cap_rules(fcr0=1))
    assert [r.reason for r in result.rejections] == [reason]
    assert result.awards == ()
