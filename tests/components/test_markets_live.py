"""Live mode: the trading system and the commercial aggregator bid over the market's REST API
(I-54, I-44) and get their results back; the aggregator's IEC 104 station serves the TSO.

    plant_op ──I-48──► trading ──REST I-54──► market ◄──REST I-44── aggregator ◄──I-24 TCP── tso
       └─ gas ─I-50─► hv ◄── pool (200 cars, attached by name)
"""

from __future__ import annotations

import asyncio
from typing import Any

from bidicharge.runtime.clock import AcceleratedClock
from bidicharge.runtime.runner import LiveRun
from bidicharge.runtime.scenario import parse_scenario


async def test_bidders_use_the_rest_api_live() -> None:
    raw = {
        "start": "2026-01-14T00:00:00+01:00", "duration": "1d", "step": "1s",
        "components": {
            "hv": {"component": "hv_grid", "config": {"system_base_MW": 1000, "load_scale": 0.07, "noise_std_MW": 5}},
            "market": {"component": "energy_market", "config": {"fcr_demand_MW": 1, "live_first_day_grace_s": 30,
                                                                "supplier_demand": {"load_scale": 0.07}}},
            "gas": {"component": "power_plant", "connect": {"grid": "hv.plants"},
                    "config": {"capacity_MW": 800, "marginal_cost_EUR_per_MWh": 60, "ramp_MW_per_min": 40, "initial_MW": 500}},
            "plant_op": {"component": "plant_operator", "config": {"plants": ["gas"]}},
            "trading": {"component": "trading_system", "config": {"results_poll_s": 5},
                        "connect": {"operators": ["plant_op.trading"], "energy_market": "market.wholesale"}},
            "tso": {"component": "tso_control_center", "connect": {"aggregators": ["aggregator.tso"], "plant_operators": ["plant_op.tso"]}},
            "aggregator": {"component": "comm_aggregator", "config": {"pool": {"cars": 200}, "results_poll_s": 5, "grid": "hv"},
                           "connect": {"energy_market": "market.aggregators"}},
        },
    }
    sc = parse_scenario(raw, file="live.yaml", base_dir=".")
    live = LiveRun(sc, AcceleratedClock(start_s=sc.start_s, factor=5.0))
    trading: Any = live.components["trading"]
    aggregator: Any = live.components["aggregator"]
    async with asyncio.TaskGroup() as tg:
        runner = tg.create_task(live.run(duration_s=None))
        async with asyncio.timeout(90):
            while not (trading.results and aggregator.fcr_W_by_block):
                await asyncio.sleep(0.1)
        runner.cancel()
    t = live.trace
    for iface, message in (("I-54", "SubmitDayAheadBids"), ("I-54", "BidReceipt"), ("I-54", "MarketResults"),
                           ("I-44", "SubmitCapacityBids"), ("I-44", "BidReceipt"), ("I-44", "MarketResults")):
        records = t.select(interface=iface, message=message)
        assert records and {r.protocol for r in records} == {"REST (OpenAPI)"}, (iface, message)
    assert trading.rejections == [] and aggregator.rejections == []
    assert max(aggregator.fcr_W_by_block.values()) == 1e6
    assert t.select(interface="I-48", message="ScheduleAck")
    assert t.select(interface="I-24", message="C_IC_NA_1 actterm")  # the TSO dialled the aggregator over TCP
    assert t.select(interface="I-24", message="C_SE_NC_1 actcon")  # and its frequency was taken
