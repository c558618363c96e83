"""The energy market component: bids in, reasons for refusals, results per bidder; its REST API
live (I-44/I-53/I-54), with schema errors answered 422 naming the field.

    bidder (httpx / Link.request) ──bids──► market ──receipt, results──► bidder
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from bidicharge.components.energy_market import EnergyMarket
from bidicharge.control.market_clearing import Bid, CapacityBid, CapacityProduct, RejectReason, Side
from bidicharge.runtime.assembly import assemble
from bidicharge.runtime.clock import AcceleratedClock
from bidicharge.runtime.runner import LiveRun
from bidicharge.runtime.scenario import parse_scenario
from bidicharge.runtime.trace import TraceRecorder

START = "2026-01-14T00:00:00+01:00"
DAY0 = datetime.fromisoformat(START).timestamp()
DAY1 = DAY0 + 86_400.0


def _scenario(config: dict[str, Any] | None = None, step: str = "1s") -> Any:
    raw = {"start": START, "duration": "1d", "step": step,
           "components": {"market": {"component": "energy_market", "config": config or {}}}}
    return parse_scenario(raw, file="market.yaml", base_dir=".")


def _market(**config: Any) -> EnergyMarket:
    market = assemble(_scenario(config), TraceRecorder())["market"]
    assert isinstance(market, EnergyMarket)
    return market


def _bid(bid_id: str, side: Side, power: float, price: float, mtu: int = 0, who: str = "a") -> Bid:
    return Bid(bid_id=bid_id, bidder_id=who, side=side, mtu_index=mtu, power_MW=power, price_EUR_per_MWh=price, submitted_at_s=0.0)


def test_late_and_malformed_bids_are_refused_with_reasons() -> None:
    market = _market()
    gate = DAY1 - 86_400 + 12 * 3600  # 12:00 local on the day before delivery
    ok = market.submit_day_ahead(DAY1, (_bid("b1", Side.BUY, 10, 50), _bid("b1", Side.SELL, 5, 30)), gate - 1)
    assert ok.accepted == ("b1",)
    assert [r.reason for r in ok.rejected] == [RejectReason.MALFORMED] and "duplicate" in ok.rejected[0].detail
    late = market.submit_day_ahead(DAY1, (_bid("s1", Side.SELL, 5, 30),), gate + 1)
    assert late.accepted == () and late.rejected[0].reason is RejectReason.LATE
    odd = market.submit_day_ahead(DAY1, (_bid("s2", Side.SELL, 0.05, 30), _bid("s3", Side.SELL, 5, 9999)), gate - 1)
    assert [r.reason for r in odd.rejected] == [RejectReason.BELOW_MINIMUM_SIZE, RejectReason.PRICE_OUT_OF_RANGE]
    not_midnight = market.submit_day_ahead(DAY1 + 3600, (_bid("s4", Side.SELL, 5, 30),), gate - 1)
    assert not_midnight.rejected[0].reason is RejectReason.MALFORMED and "midnight" in not_midnight.rejected[0].detail


def test_the_first_day_clears_at_the_start_and_results_go_to_each_bidder_alone() -> None:
    market = _market(fcr_demand_MW=1)
    market.submit_day_ahead(DAY0, (_bid("buy", Side.BUY, 10, 50, who="retailer"), _bid("sell", Side.SELL, 10, 30, who="plant")), DAY0)
    cap = CapacityBid(bid_id="fcr", bidder_id="pool", product=CapacityProduct.FCR, block_index=0,
                      capacity_MW=1, capacity_price_EUR_per_MW=10, submitted_at_s=0)
    assert market.submit_capacity(DAY0, (cap,), DAY0).accepted == ("fcr",)
    assert not market.results("plant", DAY0).published
    market.step(DAY0, 1.0)  # gate closed at the run's start: clears now
    plant = market.results("plant", DAY0)
    assert plant.published and [a.bid_id for a in plant.awards] == ["sell"] and plant.capacity_awards == ()
    assert plant.mtus[0].clearing_price_EUR_per_MWh == 40.0  # midpoint of [30, 50]
    assert [a.accepted_MW for a in market.results("pool", DAY0).capacity_awards] == [1]
    again = market.submit_day_ahead(DAY0, (_bid("more", Side.SELL, 1, 30),), DAY0)
    assert again.rejected[0].reason is RejectReason.LATE


def test_supplier_demand_buys_the_area_load_each_quarter_hour() -> None:
    market = _market(supplier_demand={"load_scale": 1.0})
    market.submit_day_ahead(DAY0, tuple(_bid(f"s{q}", Side.SELL, 9000, 20, mtu=q, who="plants") for q in range(96)), DAY0)
    market.step(DAY0, 1.0)
    res = market.results("plants", DAY0)
    cleared = [m.cleared_power_MW for m in res.mtus]
    assert all(6500 < c < 9500 for c in cleared)  # the 10 GW area's load, night trough to evening peak
    assert max(cleared) - min(cleared) > 1000
    assert {m.clearing_price_EUR_per_MWh for m in res.mtus} == {20.0}  # supply to spare: the curtailed sells set it


async def test_rest_api_takes_bids_and_refuses_schema_errors_naming_the_field(tmp_path: Path) -> None:
    sc = _scenario({"live_first_day_grace_s": 60.0})  # 12 s of wall time at factor 5
    live = LiveRun(sc, AcceleratedClock(start_s=sc.start_s, factor=5.0))
    market = live.components["market"]
    assert isinstance(market, EnergyMarket)
    tomorrow = (datetime.fromtimestamp(DAY1, timezone(timedelta(hours=1)))).date().isoformat()
    today = datetime.fromtimestamp(DAY0, UTC).astimezone(timezone(timedelta(hours=1))).date().isoformat()
    bid = {"bid_id": "x1", "bidder_id": "me", "side": "sell", "mtu_index": 3, "power_MW": 2.5, "price_EUR_per_MWh": 41.5}
    async with asyncio.TaskGroup() as tg:
        runner = tg.create_task(live.run(duration_s=None))
        async with asyncio.timeout(30):
            await market.ready.wait()
        async with httpx.AsyncClient(base_url=market.api_url or "", timeout=10) as client:
            r = await client.post(f"/v1/day-ahead/{tomorrow}/bids", json={"bids": [bid]})
            assert r.status_code == 200 and r.json()["accepted"] == ["x1"] and r.json()["rejected"] == []
            for broken, field in (({k: v for k, v in bid.items() if k != "power_MW"}, "power_MW"),
                                  ({**bid, "side": "hold"}, "side"), ({**bid, "mtu_index": 100}, "mtu_index"),
                                  ({**bid, "colour": "red"}, "colour")):
                r = await client.post(f"/v1/day-ahead/{tomorrow}/bids", json={"bids": [broken]})
                assert r.status_code == 422 and field in [str(p) for e in r.json()["detail"] for p in e["loc"]]
            r = await client.post(f"/v1/day-ahead/{tomorrow}/bids", json={"bids": [{**bid, "bid_id": "x2", "price_EUR_per_MWh": 41.555}]})
            assert r.json()["rejected"][0]["reason"] == "malformed" and "tick" in r.json()["rejected"][0]["detail"]
            r = await client.post(f"/v1/day-ahead/{today}/bids", json={"bids": [{**bid, "bid_id": "x3"}]})
            assert r.json()["accepted"] == ["x3"]  # live, the run's first day takes bids for a grace period
            cap = {"bid_id": "c1", "bidder_id": "me", "product": "FCR", "block_index": 2, "capacity_MW": 1.5,
                   "capacity_price_EUR_per_MW": 9}
            r = await client.post(f"/v1/capacity/{tomorrow}/bids", json={"bids": [cap]})
            assert r.status_code == 200 and r.json()["rejected"][0]["reason"] == "malformed"  # 1 MW steps
            assert (await client.get(f"/v1/results/{tomorrow}", params={"bidder_id": "me"})).status_code == 404
            yesterday = (datetime.fromisoformat(today) - timedelta(days=1)).date().isoformat()
            r = await client.post(f"/v1/day-ahead/{yesterday}/bids", json={"bids": [{**bid, "bid_id": "x5"}]})
            assert r.json()["rejected"][0]["reason"] == "late"
            async with asyncio.timeout(60):  # the first day clears when its grace is over
                while (r := await client.get(f"/v1/results/{today}", params={"bidder_id": "me"})).status_code == 404:
                    await asyncio.sleep(0.1)
            assert r.status_code == 200 and r.json()["awards"] == [] and len(r.json()["prices_EUR_per_MWh"]) == 96
            r = await client.post(f"/v1/day-ahead/{today}/bids", json={"bids": [{**bid, "bid_id": "x4"}]})
            assert r.json()["rejected"][0]["reason"] == "late"
        runner.cancel()


@pytest.mark.parametrize("gate", ["25:00", "noon"])
def test_config_refuses_a_gate_that_is_no_time(gate: str) -> None:
    from bidicharge.runtime.scenario import ScenarioError

    with pytest.raises(ScenarioError, match="day_ahead_gate_closure"):
        _scenario({"day_ahead_gate_closure": gate})
