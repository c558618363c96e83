#!/usr/bin/env python3
"""Benchmark: one CSMS process holding many simulated charging stations (OCPP 2.1 over loopback).

Every station boots, then sends Heartbeat and MeterValues (import and export registers)
alternately every ``60 / accel`` seconds ("every 60 s", accelerated). When all are connected,
the CSMS sends SetChargingProfile (V2X CentralSetpoint, negative setpoint) to ``--probes``
stations picked at random, one after the other, and measures each round trip; then it reports
its resident memory. The stations run in this process, the CSMS in a child process.

Ours: ``OcppServer`` + ``CsmsEngine`` (every Boot, Heartbeat and MeterValues written to SQLite).
Anchor, same run, same load: a CSMS built on the PyPI ``ocpp`` 2.1.0 package (``ChargePoint``
per connection, handlers that only answer; no database).

Both CSMS processes call ``gc.collect(); gc.freeze()`` once all stations are up, as a long-running
server would after warm-up: without it, full collections over the objects of 10,000 connections
dominate the p99 of both (``--no-gc-freeze`` to see that).

Prints ``BENCH csms_scale_p99``, ``…_p50`` (ms; ratio = anchor / ours, > 1 means we are faster)
and ``BENCH csms_scale_rss`` (MiB; ratio = anchor / ours).
Run: ``python benchmarks/bench_csms_scale.py [--stations 10000] [--accel 2] [--probes 300]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

PROFILE = {"evseId": 1, "chargingProfile": {
    "id": 9, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Absolute",
    "chargingSchedule": [{"id": 1, "chargingRateUnit": "W", "startSchedule": "2025-06-01T12:00:00Z",
                          "chargingSchedulePeriod": [{"startPeriod": 0, "operationMode": "CentralSetpoint",
                                                      "setpoint": -7000, "dischargeLimit": -11000}]}]}}


def rss_MiB() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ---- CSMS children ---------------------------------------------------------------------------


async def csms_ours(port: int) -> tuple[Any, Any]:
    from bidicharge.components.cpo_backend import CsmsEngine, CsmsStore, SchedulePeriod
    from bidicharge.transports.ocpp_websocket import OcppServer

    engine = CsmsEngine(CsmsStore("sqlite://"), now=lambda: datetime.now(UTC), heartbeat_interval_s=60)
    server = OcppServer(setup=engine.setup, max_frame_bytes=1 << 16)
    await server.start("127.0.0.1", port)
    period = SchedulePeriod(operation_mode="CentralSetpoint", setpoint_W=-7000, max_discharge_W=11000)

    async def probe(identity: str) -> None:
        status = await engine.set_charging_schedule(identity, 1, [period], purpose="TxDefaultProfile")
        assert status == "Accepted", status

    return server, (lambda: list(engine.sessions), probe)


async def csms_anchor(port: int) -> tuple[Any, Any]:
    from ocpp.routing import on
    from ocpp.v21 import ChargePoint, call, call_result
    from ocpp.v21.enums import Action
    from websockets.asyncio.server import serve

    stations: dict[str, Any] = {}

    class Csms(ChargePoint):  # type: ignore[misc]
        @on(Action.boot_notification)
        def boot(self, **kw: Any) -> Any:
            return call_result.BootNotification(current_time=datetime.now(UTC).isoformat(), interval=60,
                                                status="Accepted")

        @on(Action.heartbeat)
        def heartbeat(self, **kw: Any) -> Any:
            return call_result.Heartbeat(current_time=datetime.now(UTC).isoformat())

        @on(Action.meter_values)
        def meter_values(self, **kw: Any) -> Any:
            return call_result.MeterValues()

    async def handler(ws: Any) -> None:
        identity = ws.request.path.rstrip("/").rsplit("/", 1)[-1]
        cp = Csms(identity, ws)
        stations[identity] = cp
        with contextlib.suppress(ConnectionClosed):
            await cp.start()
        stations.pop(identity, None)

    server = await serve(handler, "127.0.0.1", port, subprotocols=["ocpp2.1"], max_size=1 << 16)  # type: ignore[list-item]
    snake = {"evse_id": 1, "charging_profile": {
        "id": 9, "stack_level": 0, "charging_profile_purpose": "TxDefaultProfile", "charging_profile_kind": "Absolute",
        "charging_schedule": [{"id": 1, "charging_rate_unit": "W", "start_schedule": "2025-06-01T12:00:00Z",
                               "charging_schedule_period": [{"start_period": 0, "operation_mode": "CentralSetpoint",
                                                             "setpoint": -7000, "discharge_limit": -11000}]}]}}

    async def probe(identity: str) -> None:
        result = await stations[identity].call(call.SetChargingProfile(**snake))
        assert result.status == "Accepted", result

    return server, (lambda: list(stations), probe)


async def child(role: str, port: int, probes: int, seed: int, gc_freeze: bool) -> None:
    server, (connected, probe) = await (csms_ours(port) if role == "ours" else csms_anchor(port))
    print("READY", flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    await reader.readline()  # the parent says: all stations are up
    if gc_freeze:  # server tuning, applied alike to both: long-lived objects leave the collector's scans
        gc.collect()
        gc.freeze()
    rng = random.Random(seed)
    names = connected()
    for identity in names[:5]:  # warm-up, not timed: both sides build their SetChargingProfile validators here
        with contextlib.suppress(Exception):
            await probe(identity)
            break
    latencies_ms: list[float] = []
    failed = 0
    first_error = ""
    for identity in rng.sample(names, min(probes, len(names))):
        start = time.perf_counter()
        try:
            await probe(identity)
        except Exception as exc:  # timeout or error: counted, not timed
            failed += 1
            first_error = first_error or repr(exc)[:300]
            continue
        latencies_ms.append((time.perf_counter() - start) * 1000)
    latencies_ms = latencies_ms or [float("nan")]
    print(json.dumps({"connected": len(names), "failed": failed, "first_error": first_error,
                      "p50_ms": statistics.median(latencies_ms), "p99_ms": percentile(latencies_ms, 0.99),
                      "rss_MiB": rss_MiB()}), flush=True)
    await reader.readline()
    closing = server.close()  # ours: a coroutine; websockets' Server: plain
    if asyncio.iscoroutine(closing):
        await closing

# ---- station simulator (parent) --------------------------------------------------------------


async def station(i: int, port: int, period_s: float, up: asyncio.Semaphore, ready: list[int],
                  stop: asyncio.Event, rng: random.Random) -> None:
    ident = f"SIM{i:05d}"
    async with up:
        for _attempt in range(20):
            try:
                ws = await connect(f"ws://127.0.0.1:{port}/ocpp/{ident}", subprotocols=["ocpp2.1"],  # type: ignore[list-item]
                                   ping_interval=None, compression=None, proxy=None, open_timeout=120,
                                   max_size=1 << 16)
                break
            except (OSError, InvalidStatus, TimeoutError):
                await asyncio.sleep(0.5)
        else:
            return
    n = 0

    async def reader() -> None:
        async for frame in ws:
            msg = json.loads(frame)
            if msg[0] == 2:  # a CALL from the CSMS: accept it
                await ws.send(json.dumps([3, msg[1], {"status": "Accepted"}]))

    try:
        async with asyncio.TaskGroup() as tasks:
            read = tasks.create_task(reader())
            await ws.send(json.dumps([2, f"b{i}", "BootNotification", {
                "reason": "PowerUp", "chargingStation": {"model": "sim", "vendorName": "bench"}}]))
            ready[0] += 1
            await asyncio.sleep(rng.uniform(0, period_s))
            while not stop.is_set():
                n += 1
                if n % 2:
                    frame = [2, f"h{i}-{n}", "Heartbeat", {}]
                else:
                    ts = datetime.now(UTC).isoformat().replace("+00:00", "Z")
                    frame = [2, f"m{i}-{n}", "MeterValues", {"evseId": 1, "meterValue": [{"timestamp": ts, "sampledValue": [
                        {"value": 1000.0 * n, "measurand": "Energy.Active.Import.Register"},
                        {"value": 400.0 * n, "measurand": "Energy.Active.Export.Register"}]}]}]
                await ws.send(json.dumps(frame))
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(period_s):
                        await stop.wait()
            await ws.close()
            read.cancel()
    except* ConnectionClosed:
        pass


async def run_load(role: str, stations: int, accel: float, probes: int, seed: int, gc_freeze: bool) -> dict[str, Any]:
    with contextlib.closing(__import__("socket").socket()) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = await asyncio.create_subprocess_exec(sys.executable, __file__, "--child", role, "--port", str(port),
                                                "--probes", str(probes), "--seed", str(seed),
                                                *([] if gc_freeze else ["--no-gc-freeze"]),
                                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stdin is not None
    assert (await proc.stdout.readline()).strip() == b"READY"
    stop = asyncio.Event()
    ready = [0]
    rng = random.Random(seed)
    up = asyncio.Semaphore(100)
    async with asyncio.TaskGroup() as tasks:
        for i in range(stations):
            tasks.create_task(station(i, port, 60.0 / accel, up, ready, stop, rng))
        for _ in range(3600):
            if ready[0] >= stations:
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(60.0 / accel)  # one full period of background load
        proc.stdin.write(b"go\n")
        await proc.stdin.drain()
        result: dict[str, Any] = json.loads(await proc.stdout.readline())
        stop.set()
    proc.stdin.write(b"bye\n")
    await proc.stdin.drain()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(30):
            await proc.wait()
    if proc.returncode is None:
        proc.kill()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stations", type=int, default=10_000)
    parser.add_argument("--accel", type=float, default=2.0, help="time acceleration of the 60 s message period")
    parser.add_argument("--probes", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child", choices=["ours", "anchor"])
    parser.add_argument("--port", type=int)
    parser.add_argument("--no-gc-freeze", dest="gc_freeze", action="store_false",
                        help="do not gc.freeze() the CSMS processes before probing (default: freeze both)")
    parser.add_argument("--only", choices=["ours", "anchor"], help="diagnostics: run one side only")
    args = parser.parse_args()
    if args.child:
        asyncio.run(child(args.child, args.port, args.probes, args.seed, args.gc_freeze))
        return
    if args.only:
        print(asyncio.run(run_load(args.only, args.stations, args.accel, args.probes, args.seed, args.gc_freeze)))
        return
    ours = asyncio.run(run_load("ours", args.stations, args.accel, args.probes, args.seed, args.gc_freeze))
    anchor = asyncio.run(run_load("anchor", args.stations, args.accel, args.probes, args.seed, args.gc_freeze))
    print(f"# SetChargingProfile round trips from a CSMS holding {ours['connected']} stations (anchor "
          f"{anchor['connected']}), messages every {60 / args.accel:.0f} s; failed probes: ours {ours['failed']}, "
          f"anchor {anchor['failed']} of {args.probes}; ratio = anchor / ours")
    for key, name, unit in (("p99_ms", "csms_scale_p99", "ms"), ("p50_ms", "csms_scale_p50", "ms"),
                            ("rss_MiB", "csms_scale_rss", "MiB")):
        print(f"BENCH {name}: {ours[key]:.1f} {unit} (anchor {anchor[key]:.1f}, ratio {anchor[key] / ours[key]:.2f})")


if __name__ == "__main__":
    main()
