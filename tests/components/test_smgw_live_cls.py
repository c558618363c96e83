"""Live mode of the CLS path over real sockets (loopback, free ports, mutual TLS):

    aemp ──TLS (SNI cls.cu_1_1, aEMP cert)──► smgw_1_1 ClsProxy ──TLS (gateway cert)──► cu_1_1 ─I-09─► home_1_1
    rogue ─TLS (valid SM-PKI cert, not in the profile)──► refused, logged

The gateway's proxy decides with the GWA-signed profile; the control unit applies only
complete lines and answers with its status.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from test_s14a_world import World, home, world_spec

from bidicharge.components.interfaces.i10_cls import DimmingCommand, StatusQuery
from bidicharge.components.interfaces.i20_dso import ControlOrder


def _order(w: World, command_id: str, limit_W: float = 4200.0) -> ControlOrder:
    return ControlOrder(order_id=command_id, unit_id="unit-loadbus_1_1", gateway_id=w["smgw_1_1"].config.gateway_id,
                        channel_id="cls.cu_1_1", payload=DimmingCommand(command_id=command_id,
                                                                        unit_id="unit-loadbus_1_1", limit_W=limit_W,
                                                                        start_s=w.t, duration_s=900.0))


async def _until(check: Any, what: str) -> None:
    for _ in range(500):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
async def live() -> AsyncIterator[World]:
    spec = world_spec([home("loadbus_1_1")], controller=False,
                      extra={"rogue": {"component": "aemp", "connect": {"gateways": ["smgw_1_1.cls"]}}},
                      smgw={"cls_listen_port": 0})
    spec["components"]["cu_1_1"]["config"]["listen_port"] = 0
    w = World(spec)
    w.step()
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(w["smgw_1_1"].serve(w.clock)), group.create_task(w["cu_1_1"].serve(w.clock))]
        await _until(lambda: w["smgw_1_1"].cls_port and w["cu_1_1"].bound_port, "the servers to listen")
        yield w
        await _until(lambda: w["smgw_1_1"].open_channels == 0 and w["cu_1_1"].open_connections == 0,
                     "the channels to close")
        for task in tasks:
            task.cancel()


async def test_the_permitted_aemp_dims_the_home_through_the_proxy_over_tls(live: World) -> None:
    w = live
    out = await w["aemp"].send_live(_order(w, "live-1", 5000.0))
    assert out.delivered and out.status is not None and out.status.accepted and out.status.limit_W == 5000.0
    assert w["home_1_1"].limit_W == 5000.0
    status = await w["aemp"].send_live(ControlOrder(order_id="q", unit_id="unit-loadbus_1_1",
                                                    gateway_id=w["smgw_1_1"].config.gateway_id,
                                                    channel_id="cls.cu_1_1",
                                                    payload=StatusQuery(unit_id="unit-loadbus_1_1")))
    assert status.status is not None and status.status.reason == "status" and status.status.demand_W == 11_000.0
    # refusals of the control unit travel back the same way
    below = await w["aemp"].send_live(_order(w, "live-2", 3000.0))
    assert below.delivered and not below.status.accepted and below.status.reason == "below_minimum"
    opened = [r for r in w.trace.select(interface="I-10", message="ClsChannelOpened") if r.target == "smgw_1_1"]
    assert len(opened) >= 3


async def test_an_aemp_not_in_the_profile_is_refused_by_the_proxy(live: World) -> None:
    w = live
    out = await w["rogue"].send_live(_order(w, "rogue-1"))
    assert not out.delivered and out.reason == "channel-closed"
    await _until(lambda: any(e[3] == "not-permitted" for e in w["smgw_1_1"].cls_log), "the proxy's log")
    assert w["home_1_1"].limit_W is None and w["cu_1_1"].active is None


async def test_a_command_cut_off_mid_line_is_not_applied(live: World) -> None:
    w = live
    aemp = w["aemp"]
    reader, writer = await asyncio.open_connection("127.0.0.1", w["smgw_1_1"].cls_port, ssl=aemp._client_tls(),
                                                   server_hostname="cls.cu_1_1")
    writer.write(b'{"type":"DimmingCommand","command_id":"cut","unit_id":"unit-loadbus_1_1","limit_W":42')
    await writer.drain()
    writer.close()
    await _until(lambda: any(e[2] == "incomplete" for e in w["cu_1_1"].log), "the control unit's log")
    assert w["home_1_1"].limit_W is None and w["cu_1_1"].active is None
