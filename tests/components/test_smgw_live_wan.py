"""Live mode of the metering path: the gateway posts its sealed TAF messages over HTTPS with
mutual TLS to the pEMP, which opens them and hands the values to the DSO.

    meter_1_1 ─I-15 (SML)─► smgw_1_1 ─HTTPS, mutual TLS (I-16)─► pemp ─I-35─► dso

The pEMP starts listening only after a few minutes: the gateway keeps every message and
delivers them in order once it can (values late, never lost).
"""

from __future__ import annotations

import asyncio
from typing import Any

from test_s14a_world import World, home, world_spec

from bidicharge.protocols.tr03109 import Taf


async def _until(check: Any, what: str) -> None:
    for _ in range(1000):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def test_taf_messages_travel_over_mutual_tls_and_wait_while_the_pemp_is_down() -> None:
    spec = world_spec([home("loadbus_1_1")], controller=False, duration="30min", smgw={"wan_live": True})
    spec["components"]["pemp"]["config"] = {"listen_port": 0}
    w = World(spec)
    gateway, pemp = w["smgw_1_1"], w["pemp"]
    async with asyncio.TaskGroup() as group:
        wan = group.create_task(gateway.serve(w.clock))
        await _until(lambda: gateway.wan is not None, "the WAN client")
        w.step(4)  # three TAF 10 messages sealed (captures at 18:01..18:03) while nobody listens
        await asyncio.sleep(0.2)
        assert gateway.core.backlog_size == 3 and pemp.documents == []
        inbox = group.create_task(pemp.serve(w.clock))
        await _until(lambda: gateway.core.backlog_size == 0, "the backlog to drain")
        w.step(2)
        await _until(lambda: gateway.core.backlog_size == 0 and len(pemp.documents) >= 5, "two more messages")
        for task in (wan, inbox):
            task.cancel()
    taf10 = [d for d in pemp.documents if d.taf is Taf.TAF10]
    assert [d.sequence_no for d in pemp.documents] == sorted(d.sequence_no for d in pemp.documents)
    assert len(taf10) >= 5 and pemp.gaps == [] and gateway.wan.delivered >= 5
    assert w["dso"].last_good["loadbus_1_1"] == 13_000.0  # the values reached the DSO
    pushes = [r for r in w.messages("I-16", "MeterDataPush") if r.protocol.startswith("BSI TR-03109 (HTTPS")]
    assert len(pushes) == gateway.wan.delivered
