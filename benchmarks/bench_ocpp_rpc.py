#!/usr/bin/env python3
"""Benchmark: OCPP-J round trips per second, bidicharge vs the PyPI ``ocpp`` package (anchor).

Both run in this one process (one core), station and CSMS connected over loopback WebSockets,
OCPP 2.1, sequential ``NotifyEVChargingNeeds`` calls with the same V2X payload, schema
validation on in both directions on both sides (the anchor with its defaults: cached
``Draft4Validator`` run in a thread). The payload avoids ``_L2``/``_L3`` fields, which the anchor
cannot send (see docs/ocpp.md).

Our transport drives websockets' sans-I/O core from ``asyncio.Protocol`` callbacks
(``transports/ws_link.py``); the anchor uses websockets' asyncio implementation, as it ships.
Both run on asyncio's default event loop. On a shared machine the load drifts within seconds,
so the two alternate for ``--rounds`` rounds and the median of each is compared.

Prints ``BENCH ocpp_rpc: <ours> round_trips/s (anchor <anchor>, ratio <x>)``.
Run: ``python benchmarks/bench_ocpp_rpc.py [--n 3000] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time
from datetime import UTC, datetime

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from bidicharge.protocols.ocppj import OcppVersion, v2_1
from bidicharge.transports.ocpp_websocket import Backoff, OcppClient, OcppServer, OcppSession

NEEDS_WIRE = {
    "requested_energy_transfer": "AC_BPT",
    "control_mode": "DynamicControl",
    "departure_time": "2025-06-01T18:00:00Z",
    "v2x_charging_parameters": {
        "max_charge_power": 11000, "min_charge_power": 1400, "max_discharge_power": 11000,
        "min_discharge_power": 1400, "ev_target_energy_request": 30000, "ev_min_energy_request": 5000,
        "ev_max_energy_request": 50000, "target_soc": 80,
    },
}


def ours_request() -> v2_1.NotifyEVChargingNeedsRequest:
    p = NEEDS_WIRE["v2x_charging_parameters"]
    assert isinstance(p, dict)
    return v2_1.NotifyEVChargingNeedsRequest(evse_id=1, charging_needs=v2_1.ChargingNeedsType(
        requested_energy_transfer=v2_1.EnergyTransferModeEnumType.AC_BPT,
        control_mode=v2_1.ControlModeEnumType.DYNAMIC_CONTROL,
        departure_time=datetime(2025, 6, 1, 18, tzinfo=UTC),
        v2x_charging_parameters=v2_1.V2XChargingParametersType(**p)))


async def bench_ours(n: int) -> float:
    def setup(session: OcppSession) -> None:
        session.router.add(v2_1.NotifyEVChargingNeedsRequest, lambda r: v2_1.NotifyEVChargingNeedsResponse(
            status=v2_1.NotifyEVChargingNeedsStatusEnumType.ACCEPTED))

    server = OcppServer(setup=setup, versions=[OcppVersion.V2_1], flood_limit=None, ping_interval_s=None)
    port = await server.start()
    client = OcppClient(url=f"ws://127.0.0.1:{port}", identity="BENCH", versions=[OcppVersion.V2_1],
                        backoff=Backoff(wait_minimum_s=0.05, random_range_s=0.0), ping_interval_s=None)
    request = ours_request()
    try:
        async with asyncio.TaskGroup() as tasks:
            task = tasks.create_task(client.run())
            session = await client.session()
            for _ in range(min(200, n)):  # warm-up: compile the validators
                await session.call(request)
            start = time.perf_counter()
            for _ in range(n):
                response = await session.call(request)
            elapsed = time.perf_counter() - start
            assert response.status == "Accepted"
            task.cancel()
    finally:
        await server.close()
    return n / elapsed


async def bench_anchor(n: int) -> float:
    from ocpp.routing import on
    from ocpp.v21 import ChargePoint, call, call_result
    from ocpp.v21.enums import Action

    class Csms(ChargePoint):  # type: ignore[misc]
        @on(Action.notify_ev_charging_needs)
        def on_needs(self, evse_id: int, charging_needs: dict[str, object], **kwargs: object) -> object:
            return call_result.NotifyEVChargingNeeds(status="Accepted")

    async def handler(ws) -> None:  # type: ignore[no-untyped-def]
        with contextlib.suppress(ConnectionClosed):
            await Csms("BENCH", ws).start()

    async with serve(handler, "127.0.0.1", 0, subprotocols=["ocpp2.1"], ping_interval=None,  # type: ignore[list-item]
                     compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}/BENCH", subprotocols=["ocpp2.1"], ping_interval=None,  # type: ignore[list-item]
                           compression=None, proxy=None) as ws:
            station = ChargePoint("BENCH", ws)
            async with asyncio.TaskGroup() as tasks:
                reader = tasks.create_task(station.start())
                request = call.NotifyEVChargingNeeds(evse_id=1, charging_needs=NEEDS_WIRE)
                for _ in range(min(200, n)):
                    await station.call(request)
                start = time.perf_counter()
                for _ in range(n):
                    response = await station.call(request)
                elapsed = time.perf_counter() - start
                assert response.status == "Accepted"
                reader.cancel()
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=3000, help="measured round trips of ours (the anchor does n/3)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians are compared")
    args = parser.parse_args()
    if args.n < 1 or args.rounds < 1:
        parser.error("--n and --rounds must be at least 1")
    ours_runs, anchor_runs = [], []
    for _ in range(args.rounds):
        ours_runs.append(asyncio.run(bench_ours(args.n)))
        anchor_runs.append(asyncio.run(bench_anchor(max(300, args.n // 3))))
    ours, anchor = statistics.median(ours_runs), statistics.median(anchor_runs)
    print(f"  rounds: ours {[round(x) for x in ours_runs]}, anchor {[round(x) for x in anchor_runs]}")
    print(f"BENCH ocpp_rpc: {ours:.0f} round_trips/s (anchor {anchor:.0f}, ratio {ours / anchor:.1f})")


if __name__ == "__main__":
    main()
