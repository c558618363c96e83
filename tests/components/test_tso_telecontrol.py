"""The control centres' IEC 60870-5-104 links (I-21, I-24, I-51, I-52): in a study the two
sans-I/O cores are paired in memory and every ASDU is traced; live they talk over TCP.

    gas ─runs─ gas_op ◄─I-51─ tso ─I-24─► aggregator (20 cars) ─I-44─► market
                  ▲                 └─I-21─► dso
                  └────────I-52──────────────┘
"""

from __future__ import annotations

import asyncio
from typing import Any

from bidicharge.components.interfaces.i2x_markets import I51, I52
from bidicharge.runtime.assembly import assemble, step_order
from bidicharge.runtime.clock import AcceleratedClock, ManualClock
from bidicharge.runtime.runner import LiveRun
from bidicharge.runtime.scenario import Scenario, parse_scenario
from bidicharge.runtime.study import run_study
from bidicharge.runtime.trace import TraceRecorder


def _scenario(duration: str = "10min", **tso: Any) -> Scenario:
    raw = {
        "start": "2026-01-14T00:00:00+01:00", "duration": duration, "step": "1s", "seed": 3,
        "components": {
            "hv": {"component": "hv_grid", "config": {"frequency": {"mode": "double_pulse",
                                                                     "double_pulse": {"lead_s": 60, "pulse_s": 60, "pause_s": 60}}}},
            "market": {"component": "energy_market", "config": {"fcr_demand_MW": 1}},
            "gas": {"component": "power_plant", "connect": {"grid": "hv.plants"},
                    "config": {"capacity_MW": 800, "marginal_cost_EUR_per_MWh": 60, "ramp_MW_per_min": 400,
                               "min_stable_MW": 300, "initial_MW": 500}},
            "gas_op": {"component": "plant_operator", "config": {"plants": ["gas"]}},
            "tso": {"component": "tso_control_center", "config": {"afrr_pool_W": 500_000, **tso},
                    "connect": {"plant_operators": ["gas_op.tso"], "aggregators": ["aggregator.tso"], "dso": ["dso.tso"]}},
            "dso": {"component": "dso_control_center", "connect": {"plant_operators": ["gas_op.dso"]},
                    "config": {"redispatch": [{"start_h": 0.05, "end_h": 0.1, "limit_MW": 100},
                                              {"start_h": 0.1, "end_h": 0.15, "limit_MW": 400}]}},
            "aggregator": {"component": "comm_aggregator", "config": {"pool": {"cars": 20}, "afrr_capacity_W": 0, "grid": "hv"},
                           "connect": {"energy_market": "market.aggregators"}},
        },
    }
    return parse_scenario(raw, file="telecontrol.yaml", base_dir=".")


def test_study_links_carry_real_apdus_and_refusals_are_reported() -> None:
    result = run_study(_scenario())
    trace = result.trace
    # each link starts with a station interrogation, as after every STARTDT
    for iface in ("I-51", "I-24", "I-21", "I-52"):
        assert trace.select(interface=iface, message="C_IC_NA_1 act"), iface
        assert all(r.protocol == "IEC 60870-5-104" for r in trace.select(interface=iface))
    # the plants' frequency reaches the TSO, and the pulse shows in it
    freq = [r for r in trace.select(interface="I-51", message="M_ME_NC_1 spont") if f" {I51.FREQUENCY_HZ}=" in r.summary]
    assert any("=49.8" in r.summary for r in freq)
    # the DSO's limit below the plant's must-run power is refused on the wire, the next one executed
    limits = trace.select(interface="I-52", message="C_SE_NC_1 act")
    assert [r.summary for r in limits] == [f"CA=52 {I52.LIMIT_MW}=100", f"CA=52 {I52.LIMIT_MW}=400", f"CA=52 {I52.LIMIT_MW}=-1"]
    assert len(trace.select(interface="I-52", message="C_SE_NC_1 actcon negative")) == 1
    assert result.reports["dso"]["gas_op"] == {"confirmed": 2, "refused": 1}
    # the pool holds no aFRR: the TSO's set-points are refused, not silently ignored
    assert trace.select(interface="I-24", message="C_SE_NC_1 actcon negative")
    assert result.reports["tso"]["aggregators"]["aggregator"]["refused"] >= 1
    # the plant followed the limit while it was in force (generation ≤ 400 MW)
    gen = result.series["gas.generation_MW"]
    t = (result.times_s - result.times_s[0]) / 3600.0
    assert gen[(t > 0.13) & (t < 0.15)].max() <= 400.0 + 1.0


def test_a_link_the_core_closes_is_reopened_and_interrogated_again() -> None:
    sc = _scenario("2min", afrr_pool_W=0)
    trace = TraceRecorder()
    clock = ManualClock(start_s=sc.start_s)
    comps = assemble(sc, trace, clock)
    order = step_order(comps)
    for c in order:
        c.start(sc.start_s)

    def run(steps: int, first: int) -> None:
        for i in range(first, first + steps):
            now = sc.start_s + i
            clock.set(now)
            for c in order:
                c.step(now, 1.0)

    run(10, 0)
    tso: Any = comps["tso"]
    end = tso.telecontrol.by_port["plant_operators"][0]
    # an unknown information object: mirrored with cause 47, the link stays up
    end.send_setpoint(4242, 1.0, now=sc.start_s + 10)
    assert end.refused == 1 and end.station.started
    assert trace.select(interface="I-51", message="C_SE_NC_1 unknioa negative") or any(
        "negative" in r.message for r in trace.select(interface="I-51"))
    # an S frame acknowledging frames never sent: a sequence error, the outstation closes the link
    end.pair.controlled.receive_data(bytes([0x68, 0x04, 0x01, 0x00, 0xFE, 0x7F]), now=sc.start_s + 10)
    assert end.pair.controlled.closed
    run(5, 11)
    assert end.reconnects == 1 and end.station.started
    assert len(trace.select(interface="I-51", message="C_IC_NA_1 act")) == 2
    assert I51.GENERATION_MW in end.values


async def test_live_links_run_over_tcp_and_redial_after_a_drop() -> None:
    sc = _scenario("1h", afrr_pool_W=0)
    live = LiveRun(sc, AcceleratedClock(start_s=sc.start_s, factor=20.0))
    tso: Any = live.components["tso"]
    gas_op: Any = live.components["gas_op"]
    async with asyncio.TaskGroup() as tg:
        runner = tg.create_task(live.run(duration_s=None))
        async with asyncio.timeout(60):
            while tso.telecontrol.by_port is None or not all(
                    e.client is not None and e.client.connects >= 1 for g in tso.telecontrol.by_port.values() for e in g):
                await asyncio.sleep(0.05)
            end = tso.telecontrol.by_port["plant_operators"][0]
            while I51.FREQUENCY_HZ not in end.values:
                await asyncio.sleep(0.05)
            for connection in list(gas_op.ends["tso"].server.connections):
                connection.close("test: the link drops")
            while end.client.connects < 2 or not end.client.connection or not end.client.connection.station.started:
                await asyncio.sleep(0.05)
            while len(live.trace.select(interface="I-51", message="C_IC_NA_1 actterm")) < 2:
                await asyncio.sleep(0.05)
        runner.cancel()
    assert live.trace.select(interface="I-24", message="C_SE_NC_1 actcon")  # frequency to the aggregator
    assert live.trace.select(interface="I-21", message="C_SE_NC_1 actcon")
    assert all(r.protocol == "IEC 60870-5-104" for r in live.trace.select(interface="I-51"))
