"""Interop with the npm package ``ocpp-rpc`` 2.2.1 (mikuso/ocpp-rpc, MIT) in strict mode: it
validates every payload both ways against the official schemas (formats, ranges, no unknown
keys). An ocpp-rpc station against our CSMS and an ocpp-rpc CSMS against our station, for
OCPP 2.0.1 and 2.1: boot, authorise, a transaction with import and export meter values,
NotifyEVChargingNeeds (2.1: V2X parameters incl. ``_L2``/``_L3`` fields) and a SetChargingProfile
(2.1: operationMode CentralSetpoint with a negative setpoint).

The peer is installed by ``tools/interop/ocpp_rpc.sh`` (``make test`` runs it) under ``.interop/``.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bidicharge.components.cpo_backend import CsmsEngine, CsmsStore, SchedulePeriod
from bidicharge.components.cpo_backend.store import ChargingNeeds
from bidicharge.components.evse.ocpp_station import AppliedLimits, OcppStation
from bidicharge.protocols.ocppj import OcppVersion, v2_0_1, v2_1
from bidicharge.transports.ocpp_websocket import Backoff, OcppServer

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / ".interop" / "ocpp_rpc" / "node_modules"
SCRIPTS = ROOT / "tools" / "interop" / "ocpp_rpc"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(NODE is None or not (NODE_MODULES / "ocpp-rpc").is_dir(),
                       reason="ocpp-rpc not installed (run tools/interop/ocpp_rpc.sh; needs node and npm)"),
]
VERSIONS = [OcppVersion.V2_0_1, OcppVersion.V2_1]
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def msgs(version: OcppVersion) -> Any:
    return v2_1 if version is OcppVersion.V2_1 else v2_0_1


class NodePeer:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[dict[str, Any]] = []

    async def next_line(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        async with asyncio.timeout(20):
            raw = await self.proc.stdout.readline()
        if not raw:
            raise AssertionError(f"node peer ended; so far: {self.lines}")
        line: dict[str, Any] = json.loads(raw)
        self.lines.append(line)
        assert "fatal" not in line, line["fatal"]
        return line

    async def until(self, key: str) -> dict[str, Any]:
        for _ in range(100):
            line = await self.next_line()
            if key in line:
                return line
        raise AssertionError(f"no {key!r} in {self.lines}")

    def invalid(self) -> list[dict[str, Any]]:
        return [line for line in self.lines if "invalid" in line or "error" in line]


async def start_node(script: str, *args: str) -> AsyncIterator[NodePeer]:
    assert NODE is not None
    env = {**os.environ, "NODE_PATH": str(NODE_MODULES)}
    proc = await asyncio.create_subprocess_exec(NODE, str(SCRIPTS / script), *args, env=env,
                                                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    try:
        yield NodePeer(proc)
    finally:
        if proc.returncode is None:
            assert proc.stdin is not None
            proc.stdin.close()
            try:
                async with asyncio.timeout(5):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()


# ---- ocpp-rpc station -> our CSMS ----------------------------------------------------------


class ManualClock:
    def __init__(self) -> None:
        self.t = NOW

    def __call__(self) -> datetime:
        return self.t


async def eventually(condition: Any, what: str) -> None:
    for _ in range(400):
        if condition():
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"never happened: {what}")


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.value)
async def test_ocpprpc_station_against_our_csms(version: OcppVersion) -> None:
    store = CsmsStore("sqlite://")
    store.add_token("TOKEN-1")
    store.add_token("BAD", status="Invalid")
    engine = CsmsEngine(store, now=ManualClock(), heartbeat_interval_s=300)
    server = OcppServer(setup=engine.setup, versions=[version])
    port = await server.start()
    try:
        async for node in start_node("station.js", f"ws://127.0.0.1:{port}/ocpp", "CS-NODE-1", version.value):
            assert (await node.until("connected"))["connected"] == version.value
            await eventually(lambda: any(ev.requested_energy_transfer for ev in engine.live_evs()),
                             "NotifyEVChargingNeeds stored")
            if version is OcppVersion.V2_1:
                status = await engine.set_charging_schedule("CS-NODE-1", 1, [SchedulePeriod(
                    operation_mode="CentralSetpoint", setpoint_W=-7000, setpoint_per_phase_W=(-2300, -2300),
                    max_discharge_W=11000, limit_W=11000, limit_per_phase_W=(3700, 3700))])
            else:
                status = await engine.set_charging_schedule("CS-NODE-1", 1, [SchedulePeriod(limit_W=7400)])
            assert status == "Accepted"
            await node.until("done")
            await eventually(lambda: engine.active_transaction("CS-NODE-1", 1) is None, "transaction ended")
            received = [line["params"] for line in node.lines if line.get("recv") == "SetChargingProfile"]
    finally:
        await server.close()

    assert node.invalid() == [], node.invalid()
    auth = [line["response"]["idTokenInfo"]["status"] for line in node.lines if line.get("sent") == "Authorize"]
    assert auth == ["Accepted", "Invalid"]
    boot = next(line for line in node.lines if line.get("sent") == "BootNotification")
    assert boot["response"] == {"currentTime": "2025-06-01T12:00:00Z", "interval": 300, "status": "Accepted"}
    # import and export registers arrive and are stored apart
    tx = store.transaction("CS-NODE-1", "TX-1")
    assert tx is not None and tx.ended_at is not None and tx.id_token == "TOKEN-1"
    assert (tx.imported_Wh, tx.exported_Wh) == (4100 - 1000, 2300 - 0)
    with store.session() as s:
        needs = s.get(ChargingNeeds, ("CS-NODE-1", 1))
        assert needs is not None
        wire = needs.wire
    period = received[0]["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"][0]
    assert received[0]["chargingProfile"]["transactionId"] == "TX-1"
    if version is OcppVersion.V2_1:
        v2x = wire["v2xChargingParameters"]
        assert (v2x["maxDischargePower"], v2x["maxDischargePower_L2"], v2x["maxChargePower_L3"]) == (11000, 3700, 3700)
        assert needs.requested_energy_transfer == "AC_BPT"
        assert period == {"startPeriod": 0, "operationMode": "CentralSetpoint", "limit": 11000, "limit_L2": 3700,
                          "limit_L3": 3700, "setpoint": -7000, "setpoint_L2": -2300, "setpoint_L3": -2300,
                          "dischargeLimit": -11000}
    else:
        assert wire["acChargingParameters"]["evMaxCurrent"] == 16
        assert period == {"startPeriod": 0, "limit": 7400}


# ---- our station -> ocpp-rpc CSMS ----------------------------------------------------------


def charging_needs(version: OcppVersion) -> Any:
    m = msgs(version)
    if version is OcppVersion.V2_1:
        return m.ChargingNeedsType(
            requested_energy_transfer=m.EnergyTransferModeEnumType.AC_BPT,
            control_mode=m.ControlModeEnumType.DYNAMIC_CONTROL,
            v2x_charging_parameters=m.V2XChargingParametersType(
                max_charge_power=11000, max_charge_power_l2=3700, max_charge_power_l3=3700, max_discharge_power=11000,
                max_discharge_power_l2=3700, max_discharge_power_l3=3700, ev_target_energy_request=30000))
    return m.ChargingNeedsType(requested_energy_transfer=m.EnergyTransferModeEnumType.AC_THREE_PHASE,
                               ac_charging_parameters=m.ACChargingParametersType(
                                   energy_amount=30000, ev_min_current=6, ev_max_current=16, ev_max_voltage=400))


async def never(_: float) -> None:  # no heartbeats in this exchange
    await asyncio.Event().wait()


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.value)
async def test_ocpprpc_csms_against_our_station(version: OcppVersion, unused_tcp_port: int) -> None:
    applied: list[AppliedLimits] = []
    station = OcppStation(identity="CS-PY-1", url=f"ws://127.0.0.1:{unused_tcp_port}/ocpp", now=ManualClock(),
                          sleep=never, versions=[version], new_transaction_id=lambda: "TX-1",
                          power_stage=lambda evse, limits: applied.append(limits),
                          backoff=Backoff(wait_minimum_s=0.05, random_range_s=0.05))
    async for node in start_node("csms.js", str(unused_tcp_port), version.value, "2025-06-01T12:00:00Z"):
        await node.until("listening")
        async with asyncio.TaskGroup() as tasks:
            run = tasks.create_task(station.run())
            async with asyncio.timeout(20):
                await station.accepted.wait()
                await station.set_connector_status(1, "Occupied")
                auth = [await station.authorize("TOKEN-1"), await station.authorize("BAD")]
                await station.report_meter(1, import_Wh=1000, export_Wh=0)
                await station.start_transaction(1, "TOKEN-1")
                await station.report_meter(1, import_Wh=3500, export_Wh=1200)
                needs_status = await station.notify_ev_charging_needs(1, charging_needs(version))
                sent = await node.until("sent")
                await station.report_meter(1, import_Wh=4100, export_Wh=2300)
                await station.stop_transaction(1)
                while (await node.until("recv")).get("params", {}).get("eventType") != "Ended":
                    pass
            run.cancel()

    assert node.invalid() == [], node.invalid()
    assert auth == ["Accepted", "Invalid"] and needs_status == "Accepted"
    assert sent == {"sent": "SetChargingProfile", "response": {"status": "Accepted"}}
    recv = [(line["recv"], line["params"]) for line in node.lines if "recv" in line]
    assert [a for a, _ in recv] == ["BootNotification", "StatusNotification", "StatusNotification", "Authorize",
                                    "Authorize", "TransactionEvent", "TransactionEvent", "NotifyEVChargingNeeds",
                                    "TransactionEvent", "TransactionEvent"]
    registers = [{sv["measurand"]: sv["value"] for sv in p["meterValue"][0]["sampledValue"]}
                 for a, p in recv if a == "TransactionEvent"]
    assert registers == [{"Energy.Active.Import.Register": i, "Energy.Active.Export.Register": e}
                         for i, e in [(1000, 0), (3500, 1200), (4100, 2300), (4100, 2300)]]
    assert [p["seqNo"] for a, p in recv if a == "TransactionEvent"] == [0, 1, 2, 3]
    if version is OcppVersion.V2_1:
        wire_needs = recv[7][1]["chargingNeeds"]["v2xChargingParameters"]
        assert wire_needs["maxDischargePower_L2"] == 3700 and wire_needs["maxChargePower_L3"] == 3700
        assert applied[0].operation_mode == "CentralSetpoint"
        assert (applied[0].setpoint_W, applied[0].max_discharge_W, applied[0].limit_W) == (-7000, 11000, 11000)
        assert applied[0].setpoint_per_phase_W == (-7000, -2300, -2300)
    else:
        assert applied[0].limit_W == 7400 and applied[0].setpoint_W is None
    assert applied[-1] == AppliedLimits()  # the TxProfile ended with the transaction
