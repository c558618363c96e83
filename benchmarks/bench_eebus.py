"""EEBUS benchmark: SHIP handshake + SPINE discovery + one accepted LPC write over loopback TLS.

Figures printed:

* ``eebus_connect_to_lpc_limit``: wall time from TCP connect to the Controllable System
  applying the limit, median of 20 runs, our Energy Guard against our HEMS (both in this
  process, so both ends' work is counted). Anchor: the recorded eebus-go session
  (``tests/interop/data/eebus/lpc_energy_guard_vs_eebus_go_hems.json``), where the accepted limit
  arrived ~18 ms after start: a *recorded* figure (eebus-go is not installable here), read from
  the trace in this run.
* ``eebus_spine_codec``: SPINE datagrams decoded + re-encoded per second (EEBUS-JSON text ->
  typed datagram -> EEBUS-JSON text) over the recorded messages; anchor: plain ``json.loads`` +
  ``json.dumps`` of the same texts in the same run (the floor any JSON-based stack pays).

Run: ``.venv/bin/python benchmarks/bench_eebus.py``
"""

from __future__ import annotations

import asyncio
import datetime
import json
import statistics
import sys
import time
from pathlib import Path

from bidicharge.protocols.ship import messages as ship_messages
from bidicharge.protocols.spine import LocalDevice, SpineNode, decode_datagram
from bidicharge.protocols.spine.stack import EebusStack
from bidicharge.protocols.spine.usecases.energy_guard import EnergyGuard
from bidicharge.protocols.spine.usecases.lpc import (
    ControllableSystem,
    Direction,
    PowerLimitConfig,
)
from bidicharge.transports.ship_websocket import ShipIdentity, ShipTransport, TrustStore

TRACE = Path(__file__).resolve().parents[1] / "tests/interop/data/eebus/lpc_energy_guard_vs_eebus_go_hems.json"
RUNS = 20


async def one_run(hems_id: ShipIdentity, box_id: ShipIdentity) -> float:
    hems_dev = LocalDevice("d:_i:99999_HEMS-1", "EnergyManagementSystem")
    hems_node = SpineNode(hems_dev)
    cs = ControllableSystem(hems_node, hems_dev.add_entity("CEM"), now=0.0,
                            consumption=PowerLimitConfig(nominal_max_W=22_000, failsafe_limit_W=4_200))
    trust = TrustStore()
    trust.add(box_id.ski)
    box_dev = LocalDevice("d:_i:99999_Box-1", "ElectricitySupplySystem")
    box_node = SpineNode(box_dev)
    eg = EnergyGuard(box_node, box_dev.add_entity("GridGuard"), now=0.0)
    limit_applied = asyncio.Event()
    hems = ShipTransport(EebusStack(hems_node, local_ship_id="HEMS-1"), hems_id, trust)
    box = ShipTransport(EebusStack(box_node, local_ship_id="Box-1"), box_id, TrustStore())
    written = False

    def on_box_event(_event: object) -> None:
        nonlocal written
        if written or not eg.systems:
            return
        peer = next(iter(eg.systems))
        try:
            if eg.state_of(peer).limits_W.get(Direction.CONSUME) is None:
                return
            eg.write_limit(peer, Direction.CONSUME, 4_200, box.now(), duration_s=7200)
        except Exception:  # noqa: BLE001 - descriptions not read yet: wait for the next event
            return
        written = True
        box.kick()

    def on_hems_event(_event: object) -> None:
        if cs.limit_W() == 4_200:
            limit_applied.set()

    box_node.add_listener(on_box_event)
    hems_node.add_listener(on_hems_event)
    async with hems, box:
        port = await hems.listen()
        start = time.perf_counter()
        await box.dial("127.0.0.1", port, hems_id.ski)
        async with asyncio.timeout(10):
            await limit_applied.wait()
        return time.perf_counter() - start


def recorded_anchor_ms() -> float:
    trace = json.loads(TRACE.read_text())
    # t_ms counts from the start of the recorded session (TCP connect, TLS included), like ours
    result = next(e["t_ms"] for e in trace if e["dir"] == "--" and "LPC write result" in e["msg"])
    return float(result)


def spine_texts() -> list[bytes]:
    trace = json.loads(TRACE.read_text())
    frames = [bytes([e["msg"]["type"]]) + e["msg"]["json"].encode() for e in trace
              if isinstance(e["msg"], dict) and e["msg"].get("type") == 2]
    return frames


def codec_rate(frames: list[bytes], seconds: float = 1.0) -> tuple[float, float]:
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for frame in frames:
            message = ship_messages.decode(frame)
            assert isinstance(message, ship_messages.Data)
            datagram = decode_datagram(message.payload)
            ship_messages.encode(ship_messages.Data(payload=datagram.to_json()))
        count += len(frames)
    ours = count / (time.perf_counter() - start)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for frame in frames:
            json.dumps(json.loads(frame[1:]), separators=(",", ":"))
        count += len(frames)
    anchor = count / (time.perf_counter() - start)
    return ours, anchor


async def main() -> None:
    now = datetime.datetime.now(datetime.UTC)
    hems_id, box_id = ShipIdentity.generate("HEMS-1", now=now), ShipIdentity.generate("Box-1", now=now)
    await one_run(hems_id, box_id)  # warm-up (imports, first TLS context)
    times = [await one_run(hems_id, box_id) for _ in range(RUNS)]
    ours_ms = statistics.median(times) * 1000
    anchor_ms = recorded_anchor_ms()
    print(f"BENCH eebus_connect_to_lpc_limit: {ours_ms:.1f} ms (anchor {anchor_ms:.1f} ms recorded eebus-go, "
          f"ratio {ours_ms / anchor_ms:.2f})")
    ours_rate, anchor_rate = codec_rate(spine_texts())
    print(f"BENCH eebus_spine_codec: {ours_rate:.0f} msg/s (anchor {anchor_rate:.0f} msg/s plain json, "
          f"ratio {ours_rate / anchor_rate:.2f})")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
