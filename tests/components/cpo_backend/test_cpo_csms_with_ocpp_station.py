"""CSMS engine and charging-station engine over real OCPP 2.1 / 2.0.1 WebSockets on loopback.

    OcppStation "CS-1" ──ws ocpp2.1 (loopback)──► OcppServer ─ CsmsEngine ─ SQLite (memory)
     └ power_stage(evse, limits)                                 └ live_evs() for the aggregator (I-14)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bidicharge.components.cpo_backend import CsmsEngine, CsmsStore, SchedulePeriod
from bidicharge.components.cpo_backend.store import TransactionEventSeen
from bidicharge.components.evse.ocpp_station import AppliedLimits, OcppStation
from bidicharge.protocols.ocppj import OcppVersion, v2_0_1, v2_1
from bidicharge.transports.ocpp_websocket import Backoff, OcppServer

FAST = Backoff(wait_minimum_s=0.02, random_range_s=0.02, repeat_times=1)


class Clock:
    def __init__(self) -> None:
        self.t = datetime(2025, 6, 1, 17, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.t


async def never(_: float) -> None:  # heartbeats are not part of these tests
    await asyncio.Event().wait()


async def eventually(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(400):
        if condition():
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"never happened: {what}")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def csms(clock: Clock) -> AsyncIterator[tuple[CsmsEngine, OcppServer, int]]:
    store = CsmsStore("sqlite://")
    store.add_token("TOKEN-1")
    engine = CsmsEngine(store, now=clock)
    server = OcppServer(setup=engine.setup)
    port = await server.start()
    yield engine, server, port
    await server.close()


def v2x_needs() -> v2_1.ChargingNeedsType:
    return v2_1.ChargingNeedsType(
        requested_energy_transfer=v2_1.EnergyTransferModeEnumType.AC_BPT,
        control_mode=v2_1.ControlModeEnumType.DYNAMIC_CONTROL,
        departure_time=datetime(2025, 6, 2, 7, 0, tzinfo=UTC),
        v2x_charging_parameters=v2_1.V2XChargingParametersType(
            max_charge_power=11000, max_discharge_power=11000, max_discharge_power_l2=3700,
            ev_target_energy_request=30000))


async def test_session_with_v2x_setpoint_and_separate_import_export(
        csms: tuple[CsmsEngine, OcppServer, int], clock: Clock) -> None:
    engine, _, port = csms
    applied: list[tuple[int, AppliedLimits]] = []
    station = OcppStation(identity="CS-1", url=f"ws://127.0.0.1:{port}/ocpp", now=clock, sleep=never,
                          power_stage=lambda evse, limits: applied.append((evse, limits)), backoff=FAST)
    async with asyncio.TaskGroup() as tasks:
        run = tasks.create_task(station.run())
        async with asyncio.timeout(10):
            await station.accepted.wait()
        await station.set_connector_status(1, "Occupied")
        assert await station.authorize("TOKEN-1") == "Accepted"
        assert await station.authorize("STOLEN") != "Accepted"
        tx = await station.start_transaction(1, "TOKEN-1")
        clock.t += timedelta(minutes=15)
        await station.report_meter(1, import_Wh=2750, export_Wh=0, soc=0.55)
        assert await station.notify_ev_charging_needs(1, v2x_needs()) == "Accepted"
        ev_plan = v2_1.ChargingScheduleType(id=1, charging_rate_unit=v2_1.ChargingRateUnitEnumType.W, charging_schedule_period=(
            v2_1.ChargingSchedulePeriodType(start_period=0, limit=11000),
            v2_1.ChargingSchedulePeriodType(start_period=3600, setpoint=-3000)))
        assert await station.notify_ev_charging_schedule(1, ev_plan) == "Accepted"

        assert await engine.set_v2x_setpoint("CS-1", 1, setpoint_W=-7000, max_discharge_W=11000) == "Accepted"
        assert applied[-1] == (1, AppliedLimits(operation_mode="CentralSetpoint", setpoint_W=-7000,
                                                max_discharge_W=11000, profile_id=applied[-1][1].profile_id))
        composite = await engine.get_composite_schedule("CS-1", 1, 3600)
        assert composite.status == "Accepted" and composite.schedule.charging_schedule_period[0].setpoint == -7000

        clock.t += timedelta(minutes=30)
        await station.report_meter(1, import_Wh=2750, export_Wh=3500, soc=0.40)
        (ev,) = engine.live_evs()
        assert (ev.station, ev.evse_id, ev.connected, ev.transaction_id) == ("CS-1", 1, True, tx)
        assert (ev.imported_Wh, ev.exported_Wh, ev.soc) == (2750, 3500, pytest.approx(0.40))
        assert (ev.max_discharge_power_W, ev.energy_request_Wh, ev.requested_energy_transfer) == (11000, 30000, "AC_BPT")

        await station.stop_transaction(1)
        assert applied[-1] == (1, AppliedLimits())  # the TxProfile ends with the transaction
        run.cancel()

    record = engine.store.transaction("CS-1", tx)
    assert record is not None and record.ended_at is not None and record.id_token == "TOKEN-1"
    assert (record.imported_Wh, record.exported_Wh) == (2750, 3500)
    import_samples = [s.value for s in engine.store.samples("CS-1", tx) if s.measurand == "Energy.Active.Import.Register"]
    assert import_samples == sorted(import_samples)  # registers never go back


async def test_offline_transaction_is_queued_on_disk_and_replayed_once(clock: Clock, tmp_path: Path,
                                                                       unused_tcp_port: int) -> None:
    queue = tmp_path / "cs2-queue.jsonl"
    url = f"ws://127.0.0.1:{unused_tcp_port}/ocpp"
    store = CsmsStore("sqlite://")
    store.add_token("TOKEN-1")
    engine = CsmsEngine(store, now=clock)

    station = OcppStation(identity="CS-2", url=url, now=clock, sleep=never, queue_path=queue, backoff=FAST)
    async with asyncio.TaskGroup() as tasks:
        run = tasks.create_task(station.run())  # no CSMS yet: keeps retrying
        tx = await station.start_transaction(1, "TOKEN-1")
        assert await station.notify_ev_charging_needs(1, v2x_needs()) == "Queued"  # K15 raised offline: kept
        for i in range(1, 4):
            clock.t += timedelta(minutes=15)
            await station.report_meter(1, import_Wh=1000 * i, export_Wh=400 * i)
        await station.stop_transaction(1)
        assert len(station.queue) == 6 and len(queue.read_text().splitlines()) == 6
        saved = queue.read_text()

        server = OcppServer(setup=engine.setup)
        await server.start(port=unused_tcp_port)
        await eventually(lambda: len(station.queue) == 0, "queue drained")
        run.cancel()
    await server.close()
    assert queue.read_text() == ""

    # a restarted station finds the same events again on disk (say it crashed before removing them)
    queue.write_text(saved)
    again = OcppStation(identity="CS-2", url=url, now=clock, sleep=never, queue_path=queue, backoff=FAST)
    server = OcppServer(setup=engine.setup)
    await server.start(port=unused_tcp_port)
    async with asyncio.TaskGroup() as tasks:
        run = tasks.create_task(again.run())
        await eventually(lambda: len(again.queue) == 0, "replay drained")
        run.cancel()
    await server.close()

    with store.session() as s:
        events = s.query(TransactionEventSeen).filter_by(station="CS-2").order_by(TransactionEventSeen.seq_no).all()
        assert [(e.seq_no, e.event_type) for e in events] == [(0, "Started"), (1, "Updated"), (2, "Updated"),
                                                               (3, "Updated"), (4, "Ended")]
    record = store.transaction("CS-2", tx)
    assert record is not None and (record.imported_Wh, record.exported_Wh) == (3000, 1200)
    assert len([s for s in store.samples("CS-2", tx) if s.measurand == "Energy.Active.Export.Register"]) == 5
    (ev,) = CsmsEngine(store, now=clock).live_evs()  # the needs raised offline reached the CSMS
    assert (ev.requested_energy_transfer, ev.max_discharge_power_W) == ("AC_BPT", 11000)


async def test_remote_control_device_model_trigger_and_reset(csms: tuple[CsmsEngine, OcppServer, int],
                                                             clock: Clock) -> None:
    engine, server, port = csms
    station = OcppStation(identity="CS-3", url=f"ws://127.0.0.1:{port}/ocpp", now=clock, sleep=never, backoff=FAST)
    m = v2_1
    async with asyncio.TaskGroup() as tasks:
        run = tasks.create_task(station.run())
        async with asyncio.timeout(10):
            await station.accepted.wait()
        session = server.sessions["CS-3"]
        started = await session.call(m.RequestStartTransactionRequest(
            id_token=m.IdTokenType(id_token="TOKEN-1", type="ISO14443"), remote_start_id=42, evse_id=1))
        assert started.status == "Accepted"
        await eventually(lambda: engine.active_transaction("CS-3", 1) is not None, "remote start reached the CSMS")
        tx = engine.active_transaction("CS-3", 1)
        stopped = await session.call(m.RequestStopTransactionRequest(transaction_id=tx))
        assert stopped.status == "Accepted"
        await eventually(lambda: engine.active_transaction("CS-3", 1) is None, "remote stop reached the CSMS")

        hb = m.ComponentType(name="OCPPCommCtrlr"), m.VariableType(name="HeartbeatInterval")
        set_result = await session.call(m.SetVariablesRequest(set_variable_data=(
            m.SetVariableDataType(attribute_value="60", component=hb[0], variable=hb[1]),
            m.SetVariableDataType(attribute_value="1", component=m.ComponentType(name="Toaster"),
                                  variable=m.VariableType(name="Enabled")))))
        assert [r.attribute_status for r in set_result.set_variable_result] == ["Accepted", "UnknownComponent"]
        got = await session.call(m.GetVariablesRequest(get_variable_data=(
            m.GetVariableDataType(component=hb[0], variable=hb[1]),
            m.GetVariableDataType(component=hb[0], variable=m.VariableType(name="NoSuchThing")))))
        assert [(r.attribute_status, r.attribute_value) for r in got.get_variable_result] == [
            ("Accepted", "60"), ("UnknownVariable", None)]

        trig = await session.call(m.TriggerMessageRequest(requested_message=m.MessageTriggerEnumType.HEARTBEAT))
        assert trig.status == "Accepted"
        reset = await session.call(m.ResetRequest(type=m.ResetEnumType.ON_IDLE))
        assert reset.status == "Accepted" and station.resets == ["OnIdle"]
        cleared = await engine.clear_charging_profile("CS-3", 999)
        assert cleared == "Unknown"
        run.cancel()


async def test_ocpp_2_0_1_station_gets_limits_but_no_setpoints(csms: tuple[CsmsEngine, OcppServer, int],
                                                               clock: Clock) -> None:
    engine, _, port = csms
    applied: list[AppliedLimits] = []
    station = OcppStation(identity="CS-4", url=f"ws://127.0.0.1:{port}/ocpp", now=clock, sleep=never,
                          versions=[OcppVersion.V2_0_1], power_stage=lambda e, limits: applied.append(limits),
                          backoff=FAST)
    async with asyncio.TaskGroup() as tasks:
        run = tasks.create_task(station.run())
        async with asyncio.timeout(10):
            await station.accepted.wait()
        assert station.session is not None and station.session.version is OcppVersion.V2_0_1
        await station.start_transaction(1, "TOKEN-1")
        with pytest.raises(ValueError, match="2.1"):
            await engine.set_v2x_setpoint("CS-4", 1, setpoint_W=-3000)
        assert await engine.set_charging_schedule("CS-4", 1, [SchedulePeriod(limit_W=7400)]) == "Accepted"
        assert applied[-1].limit_W == 7400 and applied[-1].setpoint_W is None
        needs = v2_0_1.ChargingNeedsType(requested_energy_transfer=v2_0_1.EnergyTransferModeEnumType.AC_THREE_PHASE)
        assert await station.notify_ev_charging_needs(1, needs) == "Accepted"
        run.cancel()
