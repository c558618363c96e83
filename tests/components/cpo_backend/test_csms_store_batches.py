"""The CSMS store writes in batches and loses nothing: stations in memory, engine and store as in a study.

    StationCore ─ MemoryEndpoint ══ OCPP 2.1 frames (validated) ══ MemoryEndpoint ─ CsmsEngine ─ CsmsStore ─ SQL

A TransactionEvent changes the transaction in memory; rows go to the database in one database
transaction per flush. Readers (``transactions``, ``samples``, ``session``) flush first, so they
see every sample at once; (transaction, seqNo) is stored once, also for a transaction that has
left memory and across a restart of the CSMS on the same database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from bidicharge.components.cpo_backend import CsmsEngine, CsmsStore, SchedulePeriod
from bidicharge.components.cpo_backend.live import CsmsLive
from bidicharge.components.cpo_backend.store import IMPORT_REGISTER, Station, TransactionEventSeen
from bidicharge.components.evse.ocpp_station_core import StationCore
from bidicharge.protocols.ocppj import OcppVersion, counter_ids
from bidicharge.protocols.ocppj.memory import MemoryEndpoint

T0 = datetime(2018, 3, 7, 12, 0, tzinfo=UTC)


class World:
    """Stations wired in memory to one engine; ``send`` carries one CALL and returns the answer."""

    def __init__(self, store: CsmsStore) -> None:
        self.now = T0
        self.engine = CsmsEngine(store, now=lambda: self.now, accept_unknown_tokens=True)
        self.stations: dict[str, tuple[StationCore, MemoryEndpoint, MemoryEndpoint]] = {}

    def station(self, identity: str, *, boot: bool = True, core: StationCore | None = None) -> StationCore:
        core = core or StationCore(identity=identity, now=lambda: self.now)
        ours = MemoryEndpoint(identity=identity, version=OcppVersion.V2_1, new_message_id=counter_ids(f"{identity}-"))
        csms = MemoryEndpoint(identity=identity, version=OcppVersion.V2_1, new_message_id=counter_ids("csms-"))
        core.register(ours.router)
        self.engine.setup(csms)
        self.stations[identity] = (core, ours, csms)
        if boot:
            self.send(identity, core.boot_request("PowerUp"))
        return core

    def send(self, identity: str, request: Any) -> Any:
        _, ours, csms = self.stations[identity]
        return ours.call(request, lambda text: csms.receive(text, now=0.0), now=0.0)

    def plug(self, identity: str, token: str) -> StationCore:
        core = self.stations[identity][0]
        core.evses[1].connector_status = "Occupied"
        self.send(identity, core.status_request(1))
        core.begin_transaction(1, token, "eMAID")
        self.send(identity, core.transaction_event(1, "Started", "CablePluggedIn", offline=False, id_token=token))
        return core

    def meter(self, identity: str, import_Wh: float, export_Wh: float = 0.0) -> Any:
        """One TransactionEvent Updated with the registers; returns the request (to send again)."""
        core = self.stations[identity][0]
        core.set_registers(1, import_Wh=import_Wh, export_Wh=export_Wh)
        request = core.transaction_event(1, "Updated", "MeterValuePeriodic", offline=False)
        self.send(identity, request)
        return request

    def unplug(self, identity: str) -> Any:
        core = self.stations[identity][0]
        request = core.transaction_event(1, "Ended", "EVDeparted", offline=False, stopped_reason="EVDisconnected")
        core.end_transaction(1)
        self.send(identity, request)
        return request


class StatementCounter:
    def __init__(self, store: CsmsStore) -> None:
        self.statements: list[str] = []
        event.listen(store.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement.split()[0].upper())

    def writes(self) -> list[str]:
        return [s for s in self.statements if s in ("INSERT", "UPDATE")]


@pytest.fixture
def world() -> Iterator[World]:
    store = CsmsStore("sqlite://")
    yield World(store)
    store.close()


def test_a_step_of_meter_values_is_written_as_one_batch_of_bulk_statements(world: World) -> None:
    for i in range(20):
        world.station(f"cs{i}")
        world.plug(f"cs{i}", f"car{i}")
    world.engine.store.flush()
    counter = StatementCounter(world.engine.store)
    world.now += timedelta(minutes=5)
    for i in range(20):
        world.meter(f"cs{i}", import_Wh=1000.0 + i)
    assert counter.statements == []  # 20 TransactionEvents: nothing read, nothing written yet
    world.engine.store.flush()
    # one UPDATE of the 20 transactions, one INSERT of their events, one of their samples
    assert sorted(counter.writes()) == ["INSERT", "INSERT", "UPDATE"]
    txs = {t.station: t for t in world.engine.store.transactions()}
    assert txs["cs7"].import_last_Wh == 1007.0 and txs["cs7"].id_token == "car7"


def test_a_reader_sees_every_sample_without_an_explicit_flush(world: World) -> None:
    world.station("cs1")
    world.plug("cs1", "car1")
    for k in range(1, 4):
        world.now += timedelta(minutes=5)
        world.meter("cs1", import_Wh=500.0 * k, export_Wh=100.0 * k)
    (tx,) = world.engine.store.transactions("cs1")
    assert (tx.imported_Wh, tx.exported_Wh) == (1500.0, 300.0)
    imports = [s.value for s in world.engine.store.samples("cs1", tx.transaction_id) if s.measurand == IMPORT_REGISTER]
    assert imports == [0.0, 500.0, 1000.0, 1500.0]


def test_a_replayed_event_is_stored_once_in_memory_and_after_its_transaction_left_memory(world: World) -> None:
    world.station("cs1")
    world.plug("cs1", "car1")
    world.now += timedelta(minutes=5)
    again = world.meter("cs1", import_Wh=700.0)
    world.send("cs1", again)  # the station resends (it missed our answer)
    world.now += timedelta(minutes=5)
    ended = world.unplug("cs1")
    world.engine.store.flush()  # the ended transaction leaves memory; the database has it
    assert world.engine.store.open_transactions() == []
    world.send("cs1", again)  # a late replay of both, from the station's offline queue
    world.send("cs1", ended)
    with world.engine.store.session() as s:
        seq = [e.seq_no for e in s.scalars(select(TransactionEventSeen).order_by(TransactionEventSeen.seq_no))]
    assert seq == [0, 1, 2]
    (tx,) = world.engine.store.transactions("cs1")
    assert tx.ended_at is not None and tx.imported_Wh == 700.0
    assert len([s for s in world.engine.store.samples("cs1") if s.measurand == IMPORT_REGISTER]) == 3


def test_a_restarted_csms_knows_the_open_transactions_and_does_not_count_a_replay_twice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'csms.db'}"
    first = World(CsmsStore(url))
    first.station("cs1")
    first.plug("cs1", "car1")
    first.now += timedelta(minutes=5)
    replay = first.meter("cs1", import_Wh=2000.0)
    needs = first.stations["cs1"][0].charging_needs_request(1, _needs())
    first.send("cs1", needs)
    first.engine.store.close()  # the CSMS stops: what it received is written

    second = World(CsmsStore(url))
    tx_id = second.engine.active_transaction("cs1", 1)
    assert tx_id is not None
    (ev,) = second.engine.live_evs()
    assert (ev.connected, ev.transaction_id, ev.vehicle_id, ev.imported_Wh) == (True, tx_id, "car1", 2000.0)
    assert ev.max_discharge_power_W == 7000
    second.now = first.now
    second.station("cs1", core=first.stations["cs1"][0])  # the station reconnects and replays the event it had queued
    second.send("cs1", replay)
    second.now += timedelta(minutes=5)
    second.meter("cs1", import_Wh=2600.0)
    request = second.engine.charging_profile_request("cs1", OcppVersion.V2_1, 1, [
        SchedulePeriod(operation_mode="CentralSetpoint", setpoint_W=-3000.0)])
    assert request.charging_profile.transaction_id == tx_id
    tx = second.engine.store.transaction("cs1", tx_id)
    assert tx is not None and (tx.imported_Wh, tx.last_seq_no) == (2600.0, 2)
    with second.engine.store.session() as s:
        assert len(list(s.scalars(select(TransactionEventSeen)))) == 3
    second.engine.store.close()


def test_a_profile_is_built_without_a_query_and_recorded_with_the_next_batch(world: World) -> None:
    world.station("cs1")
    world.plug("cs1", "car1")
    world.engine.store.flush()
    counter = StatementCounter(world.engine.store)
    _, _, csms = world.stations["cs1"]
    core = world.stations["cs1"][0]
    for setpoint_W in (-3000.0, 2000.0, -1000.0):
        request = world.engine.charging_profile_request("cs1", OcppVersion.V2_1, 1, [
            SchedulePeriod(operation_mode="CentralSetpoint", setpoint_W=setpoint_W)])
        assert world.engine.profile_answered("cs1", request, core.on_set_profile(request)) == "Accepted"
    assert counter.statements == []
    world.engine.store.flush()
    assert counter.writes() == ["INSERT"]
    assert world.engine.setpoints[("cs1", 1)] == -1000.0
    with pytest.raises(LookupError, match="no transaction"):
        world.engine.charging_profile_request("cs1", OcppVersion.V2_1, 2, [SchedulePeriod(limit_W=1000.0)])


def test_a_station_that_did_not_boot_still_gets_its_row() -> None:
    store = CsmsStore("sqlite://")
    world = World(store)
    world.station("cs9", boot=False)
    world.plug("cs9", "car9")
    with store.session() as s:
        assert s.get(Station, "cs9") is not None
    assert [t.id_token for t in store.transactions("cs9")] == ["car9"]
    store.close()


async def test_live_the_timer_writes_what_arrived_for_other_readers_of_the_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'csms.db'}"
    world = World(CsmsStore(url))
    live = CsmsLive()
    live.name, live.store = "cpo", world.engine.store
    world.station("cs1")
    world.plug("cs1", "car1")
    world.meter("cs1", import_Wh=1234.0)
    other = CsmsStore(url)  # e.g. a billing job on the same database: it cannot flush our memory
    assert other.transactions() == []
    async with asyncio.TaskGroup() as tasks:
        timer = tasks.create_task(live._flush_every(0.01))
        async with asyncio.timeout(10):
            while not other.transactions():
                await asyncio.sleep(0.01)
        timer.cancel()
    (tx,) = other.transactions()
    assert (tx.id_token, tx.import_last_Wh) == ("car1", 1234.0)
    other.close()
    world.engine.store.close()


def _needs() -> Any:
    from bidicharge.protocols.ocppj import v2_1

    return v2_1.ChargingNeedsType(
        requested_energy_transfer=v2_1.EnergyTransferModeEnumType.AC_BPT,
        v2x_charging_parameters=v2_1.V2XChargingParametersType(max_charge_power=11000, max_discharge_power=7000))
