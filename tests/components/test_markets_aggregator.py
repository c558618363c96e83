"""The commercial aggregator: what it offers (FCR, aFRR, day-ahead) and how it reports an
activation its pool cannot deliver in full.

    market ◄──I-44── aggregator (pool) ◄──I-24 IEC 104── tso ──I-51──► gas_op ── gas ── hv
"""

from __future__ import annotations

from typing import Any

import pytest

from bidicharge.components.interfaces.i2x_markets import I24
from bidicharge.components.tso_control_center.telecontrol import summary_values
from bidicharge.runtime.scenario import parse_scenario
from bidicharge.runtime.study import StudyResult, run_study


def _run(aggregator: dict[str, Any], market: dict[str, Any], tso: dict[str, Any], duration: str = "5min") -> StudyResult:
    raw = {
        "start": "2026-01-14T00:00:00+01:00", "duration": duration, "step": "1s", "seed": 5,
        "components": {
            "hv": {"component": "hv_grid", "config": {"frequency": {"mode": "double_pulse",
                                                                     "double_pulse": {"lead_s": 30, "pulse_s": 240, "pause_s": 60}}}},
            "market": {"component": "energy_market", "config": market},
            "gas": {"component": "power_plant", "connect": {"grid": "hv.plants"},
                    "config": {"capacity_MW": 800, "marginal_cost_EUR_per_MWh": 60, "ramp_MW_per_min": 400, "initial_MW": 500}},
            "gas_op": {"component": "plant_operator", "config": {"plants": ["gas"]}},
            "tso": {"component": "tso_control_center", "config": tso,
                    "connect": {"plant_operators": ["gas_op.tso"], "aggregators": ["aggregator.tso"]}},
            "aggregator": {"component": "comm_aggregator", "config": {"grid": "hv", **aggregator},
                           "connect": {"energy_market": "market.aggregators"}},
        },
    }
    return run_study(parse_scenario(raw, file="aggregator.yaml", base_dir="."))


def test_the_pool_offers_afrr_and_fcr_and_holds_what_it_is_awarded() -> None:
    result = _run({"pool": {"cars": 500}, "afrr_bid_MW": 1, "bid_day_ahead": False},
                  {"fcr_demand_MW": 2, "afrr_positive_demand_MW": 1, "afrr_negative_demand_MW": 1}, {}, "2min")
    bids = result.trace.select(interface="I-44", message="SubmitCapacityBids")[0].summary
    assert bids.count('"product":"aFRR+"') == 6 and bids.count('"product":"aFRR-"') == 6 and '"product":"FCR"' in bids
    report = result.reports["aggregator"]
    assert set(report["afrr_MW_by_block"].values()) == {1.0} and set(report["fcr_MW_by_block"].values()) == {2.0}
    assert not result.trace.select(interface="I-44", message="SubmitDayAheadBids")


def test_an_afrr_setpoint_the_pool_cannot_deliver_is_reported_smaller() -> None:
    # 20 cars (about 0.2 MW each way) under a 1 MW aFRR contract; the pulse drives the TSO's
    # controller to its limit, so it asks the pool for 0.5 MW
    result = _run({"pool": {"cars": 20}, "afrr_capacity_W": 1e6, "bid_day_ahead": False},
                  {"fcr_demand_MW": 0}, {"afrr_pool_W": 500_000})
    t = result.trace
    asked = [summary_values(r.summary)[I24.AFRR_SETPOINT_W] for r in t.select(interface="I-24", message="C_SE_NC_1 act")
             if f" {I24.AFRR_SETPOINT_W}=" in r.summary]
    told = [summary_values(r.summary)[I24.AFRR_FEEDBACK_W] for r in t.select(interface="I-24", message="M_ME_NC_1 retrem")
            if f" {I24.AFRR_FEEDBACK_W}=" in r.summary]
    assert len(asked) == len(told) and max(asked) >= 450_000
    short = [(a, b) for a, b in zip(asked, told, strict=True) if b < a - 1_000]
    assert short and max(b for _, b in short) < 250_000  # what 20 cars can do, said on the wire
    assert all(b == a for a, b in zip(asked, told, strict=True) if a <= 100_000)  # small ones in full


def test_the_supplier_gets_the_pools_position_per_quarter_hour() -> None:
    from bidicharge.components.interfaces.i2x_markets import PoolPosition, PositionRequest
    from bidicharge.runtime.assembly import assemble, step_order
    from bidicharge.runtime.clock import ManualClock
    from bidicharge.runtime.trace import TraceRecorder

    raw = {"start": "2026-01-14T00:00:00+01:00", "duration": "5h", "step": "30s", "components": {
        "market": {"component": "energy_market", "config": {"fcr_demand_MW": 1}},
        "aggregator": {"component": "comm_aggregator", "config": {"pool": {"cars": 200}},
                       "connect": {"energy_market": "market.aggregators"}}}}
    sc = parse_scenario(raw, file="supplier.yaml", base_dir=".")
    clock = ManualClock(start_s=sc.start_s)
    comps = assemble(sc, TraceRecorder(), clock)
    order = step_order(comps)
    for c in order:
        c.start(sc.start_s)
    from bidicharge.control.market_clearing import Bid, Side

    liquidity = tuple(Bid(bid_id=f"{side.value}-{q}", bidder_id="exchange", side=side, mtu_index=q, power_MW=100.0,
                          price_EUR_per_MWh=(1.0 if q < 4 else 50.0) if side is Side.SELL else 40.0, submitted_at_s=0.0)
                      for q in range(96) for side in (Side.BUY, Side.SELL))  # cheap in the first hour
    comps["market"].submit_day_ahead(sc.start_s, liquidity, sc.start_s)
    for k in range(480):  # 4 h
        clock.set(sc.start_s + 30 * k)
        for c in order:
            c.step(sc.start_s + 30 * k, 30.0)
    agg: Any = comps["aggregator"]
    position = agg.handle("supplier", PositionRequest(delivery_day_start_s=sc.start_s), None)
    assert isinstance(position, PoolPosition)
    assert len(position.scheduled_W) == 96 and position.fcr_W_by_block == (1e6,) * 6
    assert all(m is not None for m in position.metered_Wh[:15]) and position.metered_Wh[15] is None  # 15 finished
    bought = [q for q in range(15) if position.scheduled_W[q] > 0]
    assert bought  # the pool's day-ahead buys cleared against the exchange's offers
    for q in bought:  # and the pool drew what it bought (the FCR it held was not activated: no frequency)
        assert position.metered_Wh[q] == pytest.approx(position.scheduled_W[q] * 0.25, rel=0.05)
