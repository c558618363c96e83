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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bidicharge.protocols.ocppj import OcppVersion, v2_0_1, v2_1
from bidicharge.transports.ocpp_websocket import Backoff, OcppClient, OcppServer, OcppSession

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


@dataclass
class TinyCsms:
    """The CSMS side under test: handlers on our router that record what arrived."""

    version: OcppVersion
    meter_Wh: list[tuple[str, float]] = field(default_factory=list)
    needs: Any = None
    needs_seen: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    def setup(self, session: OcppSession) -> None:
        m = msgs(session.version)
        r = session.router
        r.add(m.BootNotificationRequest, lambda q: m.BootNotificationResponse(
            current_time=NOW, interval=300, status=m.RegistrationStatusEnumType.ACCEPTED))
        r.add(m.AuthorizeRequest, lambda q: m.AuthorizeResponse(id_token_info=m.IdTokenInfoType(
            status=m.AuthorizationStatusEnumType.INVALID if q.id_token.id_token == "BAD"
            else m.AuthorizationStatusEnumType.ACCEPTED)))
        r.add(m.TransactionEventRequest, self.transaction_event)
        r.add(m.NotifyEVChargingNeedsRequest, self.charging_needs)

    def transaction_event(self, q: Any) -> Any:
        m = msgs(self.version)
        for mv in q.meter_value or ():
            for sv in mv.sampled_value:
                self.meter_Wh.append((str(sv.measurand), sv.value))
        if q.event_type == "Ended":
            self.ended.set()
        if q.event_type == "Started":
            return m.TransactionEventResponse(id_token_info=m.IdTokenInfoType(
                status=m.AuthorizationStatusEnumType.ACCEPTED))
        return m.TransactionEventResponse()

    def charging_needs(self, q: Any) -> Any:
        self.needs = q
        self.needs_seen.set()
        m = msgs(self.version)
        return m.NotifyEVChargingNeedsResponse(status=m.NotifyEVChargingNeedsStatusEnumType.ACCEPTED)


def v2x_profile(version: OcppVersion) -> Any:
    m = msgs(version)
    if version is OcppVersion.V2_1:
        period = m.ChargingSchedulePeriodType(start_period=0, operation_mode=m.OperationModeEnumType.CENTRAL_SETPOINT,
                                              setpoint=-7000, setpoint_l2=-2300, setpoint_l3=-2300,
                                              discharge_limit=-11000, limit=11000, limit_l2=3700)
    else:
        period = m.ChargingSchedulePeriodType(start_period=0, limit=7400, number_phases=3)
    return m.SetChargingProfileRequest(evse_id=1, charging_profile=m.ChargingProfileType(
        id=7, stack_level=0, charging_profile_purpose=m.ChargingProfilePurposeEnumType.TX_PROFILE,
        charging_profile_kind=m.ChargingProfileKindEnumType.ABSOLUTE, transaction_id="TX-1",
        charging_schedule=(m.ChargingScheduleType(id=1, charging_rate_unit=m.ChargingRateUnitEnumType.W,
                                                  start_schedule=NOW, charging_schedule_period=(period,)),)))


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.value)
async def test_ocpprpc_station_against_our_csms(version: OcppVersion) -> None:
    csms = TinyCsms(version)
    server = OcppServer(setup=csms.setup, versions=[version])
    port = await server.start()
    try:
        async for node in start_node("station.js", f"ws://127.0.0.1:{port}/ocpp", "CS-NODE-1", version.value):
            assert (await node.until("connected"))["connected"] == version.value
            async with asyncio.timeout(20):
                await csms.needs_seen.wait()
            answer = await server.sessions["CS-NODE-1"].call(v2x_profile(version))
            assert answer.status == "Accepted"
            await node.until("done")
            await csms.ended.wait()
            received = [line["params"] for line in node.lines if line.get("recv") == "SetChargingProfile"]
    finally:
        await server.close()

    assert node.invalid() == [], node.invalid()
    sent = {(line["sent"], json.dumps(line["response"].get("idTokenInfo", {}).get("status")))
            for line in node.lines if "sent" in line}
    assert ("Authorize", '"Accepted"') in sent and ("Authorize", '"Invalid"') in sent
    boot = next(line for line in node.lines if line.get("sent") == "BootNotification")
    assert boot["response"]["status"] == "Accepted" and boot["response"]["currentTime"] == "2025-06-01T12:00:00Z"
    # import and export registers arrive apart, in order
    imports = [v for k, v in csms.meter_Wh if k == "Energy.Active.Import.Register"]
    exports = [v for k, v in csms.meter_Wh if k == "Energy.Active.Export.Register"]
    assert imports == [1000, 3500, 4100] and exports == [0, 1200, 2300]
    if version is OcppVersion.V2_1:
        v2x = csms.needs.charging_needs.v2x_charging_parameters
        assert (v2x.max_discharge_power, v2x.max_discharge_power_l2, v2x.max_charge_power_l3) == (11000, 3700, 3700)
        assert csms.needs.charging_needs.requested_energy_transfer == "AC_BPT"
        period = received[0]["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"][0]
        assert period["operationMode"] == "CentralSetpoint"
        assert (period["setpoint"], period["setpoint_L2"], period["dischargeLimit"]) == (-7000, -2300, -11000)
    else:
        assert csms.needs.charging_needs.ac_charging_parameters.ev_max_current == 16
        assert received[0]["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"][0]["limit"] == 7400


# ---- our station -> ocpp-rpc CSMS ----------------------------------------------------------


def meter(m: Any, import_Wh: float, export_Wh: float) -> tuple[Any, ...]:
    unit = m.UnitOfMeasureType(unit="Wh")
    return (m.MeterValueType(timestamp=NOW, sampled_value=(
        m.SampledValueType(value=import_Wh, measurand=m.MeasurandEnumType.ENERGY_ACTIVE_IMPORT_REGISTER,
                           unit_of_measure=unit),
        m.SampledValueType(value=export_Wh, measurand=m.MeasurandEnumType.ENERGY_ACTIVE_EXPORT_REGISTER,
                           unit_of_measure=unit))),)


def charging_needs(version: OcppVersion) -> Any:
    m = msgs(version)
    if version is OcppVersion.V2_1:
        needs = m.ChargingNeedsType(
            requested_energy_transfer=m.EnergyTransferModeEnumType.AC_BPT,
            control_mode=m.ControlModeEnumType.DYNAMIC_CONTROL,
            v2x_charging_parameters=m.V2XChargingParametersType(
                max_charge_power=11000, max_charge_power_l2=3700, max_charge_power_l3=3700, max_discharge_power=11000,
                max_discharge_power_l2=3700, max_discharge_power_l3=3700, ev_target_energy_request=30000))
    else:
        needs = m.ChargingNeedsType(requested_energy_transfer=m.EnergyTransferModeEnumType.AC_THREE_PHASE,
                                    ac_charging_parameters=m.ACChargingParametersType(
                                        energy_amount=30000, ev_min_current=6, ev_max_current=16, ev_max_voltage=400))
    return m.NotifyEVChargingNeedsRequest(evse_id=1, charging_needs=needs)


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.value)
async def test_ocpprpc_csms_against_our_station(version: OcppVersion, unused_tcp_port: int) -> None:
    m = msgs(version)
    profiles: list[Any] = []
    got_profile = asyncio.Event()
    results: dict[str, Any] = {}
    done = asyncio.Event()

    def setup(session: OcppSession) -> None:
        def on_profile(q: Any) -> Any:
            profiles.append(q)
            got_profile.set()
            return m.SetChargingProfileResponse(status=m.ChargingProfileStatusEnumType.ACCEPTED)

        session.router.add(m.SetChargingProfileRequest, on_profile)

    async def station_main(session: OcppSession) -> None:
        iso14443 = m.IdTokenEnumType.ISO14443 if version is OcppVersion.V2_0_1 else "ISO14443"  # 2.1: open string
        token = m.IdTokenType(id_token="TOKEN-1", type=iso14443)
        results["boot"] = await session.call(m.BootNotificationRequest(
            reason=m.BootReasonEnumType.POWER_UP, charging_station=m.ChargingStationType(model="BiDi", vendor_name="bc")))
        results["auth"] = await session.call(m.AuthorizeRequest(id_token=token))
        results["bad"] = await session.call(m.AuthorizeRequest(id_token=m.IdTokenType(id_token="BAD", type=iso14443)))
        tx = m.TransactionType(transaction_id="TX-1")
        results["started"] = await session.call(m.TransactionEventRequest(
            event_type=m.TransactionEventEnumType.STARTED, timestamp=NOW, seq_no=0, transaction_info=tx,
            trigger_reason=m.TriggerReasonEnumType.AUTHORIZED, id_token=token, evse=m.EVSEType(id=1, connector_id=1),
            meter_value=meter(m, 1000, 0)))
        await session.call(m.TransactionEventRequest(
            event_type=m.TransactionEventEnumType.UPDATED, timestamp=NOW, seq_no=1, transaction_info=tx,
            trigger_reason=m.TriggerReasonEnumType.METER_VALUE_PERIODIC, meter_value=meter(m, 3500, 1200)))
        results["needs"] = await session.call(charging_needs(version))
        await got_profile.wait()
        await session.call(m.TransactionEventRequest(
            event_type=m.TransactionEventEnumType.ENDED, timestamp=NOW, seq_no=2, transaction_info=tx,
            trigger_reason=m.TriggerReasonEnumType.STOP_AUTHORIZED, meter_value=meter(m, 4100, 2300)))
        done.set()

    async for node in start_node("csms.js", str(unused_tcp_port), version.value):
        await node.until("listening")
        client = OcppClient(url=f"ws://127.0.0.1:{unused_tcp_port}/ocpp", identity="CS-PY-1", versions=[version],
                            setup=setup, on_connected=station_main, backoff=Backoff(wait_minimum_s=0.05,
                                                                                    random_range_s=0.05))
        async with asyncio.TaskGroup() as tasks:
            task = tasks.create_task(client.run())
            async with asyncio.timeout(20):
                sent = await node.until("sent")
                await done.wait()
            task.cancel()
        while not any(line.get("recv") == "TransactionEvent" and line["params"]["eventType"] == "Ended"
                      for line in node.lines):
            await node.next_line()

    assert node.invalid() == [], node.invalid()
    assert sent == {"sent": "SetChargingProfile", "response": {"status": "Accepted"}}
    assert results["boot"].status == "Accepted" and results["auth"].id_token_info.status == "Accepted"
    assert results["bad"].id_token_info.status == "Invalid" and results["needs"].status == "Accepted"
    recv = [(line["recv"], line["params"]) for line in node.lines if "recv" in line]
    assert [a for a, _ in recv] == ["BootNotification", "Authorize", "Authorize", "TransactionEvent", "TransactionEvent",
                                    "NotifyEVChargingNeeds", "TransactionEvent"]
    registers = [{sv["measurand"]: sv["value"] for sv in p["meterValue"][0]["sampledValue"]}
                 for a, p in recv if a == "TransactionEvent"]
    assert registers == [{"Energy.Active.Import.Register": 1000, "Energy.Active.Export.Register": 0},
                         {"Energy.Active.Import.Register": 3500, "Energy.Active.Export.Register": 1200},
                         {"Energy.Active.Import.Register": 4100, "Energy.Active.Export.Register": 2300}]
    period = profiles[0].charging_profile.charging_schedule[0].charging_schedule_period[0]
    if version is OcppVersion.V2_1:
        wire_needs = recv[5][1]["chargingNeeds"]["v2xChargingParameters"]
        assert wire_needs["maxDischargePower_L2"] == 3700 and wire_needs["maxChargePower_L3"] == 3700
        assert (period.operation_mode, period.setpoint, period.setpoint_l2, period.discharge_limit_l2) == (
            "CentralSetpoint", -7000, -2300, -3700)
    else:
        assert period.limit == 7400 and period.number_phases == 3
