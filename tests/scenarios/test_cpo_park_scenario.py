"""A CPO park over OCPP 2.1 in study mode (scenario ``cpo_park``), steered on I-14.

    ev_1 ──I-01──► wb_1 ─┐
    ev_2 ──I-01──► wb_2 ─┼─I-04 OCPP 2.1 (frames in memory)──► cpo (cpo_backend, SQLite) ◄──I-14── dispatcher
    ev_3 ──I-01──► wb_3 ─┘                                                       (test-only aggregator)

The wallboxes boot, report their connectors, run a transaction per plug-in with meter values;
the test-only dispatcher reads the live data and, at 02:00, sends an I-14 schedule that
discharges ev_1 at 5 kW for an hour and then charges it again. Asserted on the trace of OCPP
frames, on the CSMS's store, and on the cars' power and energy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from bidicharge.components.cpo_backend import CsmsStore
from bidicharge.components.interfaces.i14_cpo_aggregator import (
    ChargingSchedule,
    LiveData,
    LiveDataRequest,
    SchedulePeriod,
    SetChargingSchedules,
)
from bidicharge.runtime.component import COMPONENT_TYPES, Component, ComponentConfig, Phase, component_type
from bidicharge.runtime.ports import requires
from bidicharge.runtime.scenario import parse_scenario
from bidicharge.runtime.study import StudyResult, run_study

SCENARIO = Path(__file__).parents[2] / "src" / "bidicharge" / "scenarios" / "cpo_park.yaml"
DISPATCHER_KIND = "test_cpo_park_dispatcher"
DISCHARGE_AT_S = 2 * 3600.0  # after the start (00:00 local)
DISCHARGE_W = -5000.0
LATE_AT_S = 7 * 3600.0  # ev_3 left at 06:00: its wallbox has no transaction any more


class DispatcherConfig(ComponentConfig):
    pass


class Dispatcher(Component):
    """A minimal technical aggregator on I-14: live data every step, three schedules."""

    kind = DISPATCHER_KIND
    catalogue_id = "C-TECH-AGG"
    Config = DispatcherConfig
    PORTS = (requires("cpo", "I-14", "in-memory"),)
    phase = Phase.CONTROL
    OBSERVABLES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.live: dict[float, LiveData] = {}
        self.answers: dict[str, Any] = {}

    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        cpo = self.link("cpo")
        assert cpo is not None
        since = now - self.context.start_s
        if since in (DISCHARGE_AT_S - 60, DISCHARGE_AT_S + 1800):
            self.live[since] = cpo.request(LiveDataRequest())
        if since == DISCHARGE_AT_S:
            schedule = ChargingSchedule(evse_id="wb_1", start_s=now, periods=(
                SchedulePeriod(start_offset_s=0, setpoint_W=DISCHARGE_W),
                SchedulePeriod(start_offset_s=3600, setpoint_W=11000.0)))
            self.answers["discharge"] = cpo.request(SetChargingSchedules(schedules=(schedule,)))
        if since == LATE_AT_S:
            self.answers["late"] = cpo.request(SetChargingSchedules(schedules=(
                ChargingSchedule(evse_id="wb_3", start_s=now, periods=(SchedulePeriod(start_offset_s=0, setpoint_W=-3000),)),
                ChargingSchedule(evse_id="nowhere", start_s=now, periods=(SchedulePeriod(start_offset_s=0, setpoint_W=0),)),
                ChargingSchedule(evse_id="wb_2", start_s=now, periods=()))))


if DISPATCHER_KIND not in COMPONENT_TYPES:
    component_type(Dispatcher)


def run_park(store_url: str = "sqlite://") -> StudyResult:
    raw = yaml.safe_load(SCENARIO.read_text())
    raw["components"]["cpo"]["config"]["store_url"] = store_url
    raw["components"]["dispatcher"] = {"component": DISPATCHER_KIND, "connect": {"cpo": "cpo.aggregator"}}
    return run_study(parse_scenario(raw, file=str(SCENARIO), base_dir=str(SCENARIO.parent)))


STORES: dict[int, CsmsStore] = {}  # id(result) -> the CSMS's database, opened again after the run


def run_and_open(store_url: str) -> StudyResult:
    result = run_park(store_url)
    STORES[id(result)] = CsmsStore(store_url)
    return result


@pytest.fixture(scope="module")
def park(tmp_path_factory: pytest.TempPathFactory) -> StudyResult:
    return run_and_open(f"sqlite:///{tmp_path_factory.mktemp('csms') / 'csms.db'}")


def frames(result: StudyResult, message: str, **where: str) -> list[Any]:
    return [(r, json.loads(r.summary)) for r in result.trace.select(interface="I-04", message=message)
            if all(getattr(r, k) == v for k, v in where.items())]


def energy_by_step(result: StudyResult, evse: str) -> tuple[Any, Any, Any]:
    """(end time of each step, import Wh, export Wh) of the wallbox's grid side, per step."""
    dt = result.scenario.step_s
    grid = result.column(f"{evse}.grid_power_W")
    return result.times_s + dt, grid.clip(min=0) * dt / 3600.0, (-grid).clip(min=0) * dt / 3600.0


def test_every_wallbox_boots_and_reports_its_connector(park: StudyResult) -> None:
    for wb in ("wb_1", "wb_2", "wb_3"):
        boot = frames(park, "BootNotification", source=wb, target="cpo")
        answer = frames(park, "BootNotificationResponse", source="cpo", target=wb)
        assert len(boot) == 1 and boot[0][1][2] == "BootNotification"
        assert answer[0][1][2]["status"] == "Accepted"
        statuses = [f[3]["connectorStatus"] for _, f in frames(park, "StatusNotification", source=wb)]
        assert statuses[:2] == ["Available", "Occupied"]  # boots, then sees the car plugged at midnight
        assert "Available" in statuses[2:]  # the car left in the morning
    assert all(r.protocol == "OCPP 2.1" for r in park.trace.select(interface="I-04"))


def test_charging_needs_carry_the_cars_v2x_limits(park: StudyResult) -> None:
    (_, needs), *_ = frames(park, "NotifyEVChargingNeeds", source="wb_1")
    v2x = needs[3]["chargingNeeds"]["v2xChargingParameters"]
    assert needs[3]["chargingNeeds"]["requestedEnergyTransfer"] == "AC_BPT"
    assert v2x["maxChargePower"] == 11000 and v2x["maxDischargePower"] == 11000
    assert v2x["evTargetEnergyRequest"] == pytest.approx((0.8 - 0.5) * 77000)
    assert v2x["targetSoC"] == 80


def test_meter_registers_match_the_wallbox_energy_to_the_wh(park: StudyResult) -> None:
    cpo = park_component_store(park)
    for wb in ("wb_1", "wb_2", "wb_3"):
        ends, imported, exported = energy_by_step(park, wb)
        samples = cpo.samples(wb)
        registers = [s for s in samples if s.measurand.startswith("Energy.Active")]
        assert len(registers) > 20
        for s in registers:
            upto = ends <= s.timestamp.timestamp() + 1e-6
            expected = (imported if "Import" in s.measurand else exported)[upto].sum()
            assert s.value == pytest.approx(expected, abs=1.0), (wb, s.timestamp, s.measurand)
        for tx in cpo.transactions(wb):
            first = min(s.timestamp for s in samples if s.transaction_id == tx.transaction_id)
            last = max(s.timestamp for s in samples if s.transaction_id == tx.transaction_id)
            window = (ends > first.timestamp() + 1e-6) & (ends <= last.timestamp() + 1e-6)
            assert tx.imported_Wh == pytest.approx(imported[window].sum(), abs=1.0)
            assert tx.exported_Wh == pytest.approx(exported[window].sum(), abs=1.0)


def park_component_store(result: StudyResult) -> CsmsStore:
    return STORES[id(result)]


def test_an_i14_discharge_schedule_becomes_a_central_setpoint_and_the_car_discharges(park: StudyResult) -> None:
    dispatcher_answer = [r for r in park.trace.select(interface="I-14", message="SetChargingSchedulesResult")]
    assert json.loads(dispatcher_answer[0].summary) == {"accepted": 1, "rejected": []}
    (rec, call), = frames(park, "SetChargingProfile", source="cpo", target="wb_1")
    profile = call[3]["chargingProfile"]
    assert profile["chargingProfilePurpose"] == "TxProfile"
    periods = profile["chargingSchedule"][0]["chargingSchedulePeriod"]
    assert periods[0] == {"startPeriod": 0, "operationMode": "CentralSetpoint", "setpoint": DISCHARGE_W}
    assert periods[1]["startPeriod"] == 3600 and periods[1]["setpoint"] == 11000
    (_, answer), = frames(park, "SetChargingProfileResponse", source="wb_1", target="cpo")
    assert answer[2]["status"] == "Accepted"
    t = park.times_s - park.scenario.start_s
    power = park.column("ev_1.power_W")
    during = (t >= DISCHARGE_AT_S + 300) & (t < DISCHARGE_AT_S + 3600)
    assert (park.column("wb_1.setpoint_W")[during] == DISCHARGE_W).all()
    assert (power[during] < -4000).all()  # the car gives (inlet side, after the stage's ramp)
    after = (t >= DISCHARGE_AT_S + 3600 + 300) & (t < DISCHARGE_AT_S + 3600 + 1800)
    assert (power[after] > 0).all() and power[after].max() == 11000  # the second period charges again
    tx1 = [tx for tx in park_component_store(park).transactions("wb_1") if tx.exported_Wh > 0]
    assert len(tx1) == 1 and tx1[0].exported_Wh == pytest.approx(-DISCHARGE_W * 0.97 * 0.95, rel=0.1)


def test_live_data_and_refused_schedules_on_i14(park: StudyResult) -> None:
    live = [json.loads(r.summary) for r in park.trace.select(interface="I-14", message="LiveData")]
    before, during = live[0]["evses"], live[1]["evses"]
    wb_1 = next(e for e in during if e["evse_id"] == "wb_1")
    assert wb_1["connected"] and wb_1["setpoint_W"] == DISCHARGE_W and wb_1["power_W"] < -4000
    assert wb_1["max_discharge_power_W"] == 11000 and 0.3 < wb_1["soc"] < 0.9
    assert {e["evse_id"] for e in before} == {"wb_1", "wb_2", "wb_3"}
    late = json.loads(park.trace.select(interface="I-14", message="SetChargingSchedulesResult")[1].summary)
    reasons = dict(late["rejected"])
    assert late["accepted"] == 0
    assert "no transaction" in reasons["wb_3"]
    assert reasons["nowhere"] == "not connected"
    assert "at least one period" in reasons["wb_2"]


def test_the_store_keeps_transactions_and_meter_values(park: StudyResult) -> None:
    check_store(park)


def check_store(result: StudyResult) -> None:
    store = park_component_store(result)
    txs = store.transactions()
    assert len(txs) == 6  # every car: plugged at midnight, away during the day, back in the afternoon
    ended = [tx for tx in txs if tx.ended_at is not None]
    assert len(ended) == 3 and all(tx.stopped_reason == "EVDisconnected" for tx in ended)
    for tx in txs:
        samples = store.samples(tx.station, tx.transaction_id)
        assert {s.measurand for s in samples} >= {"Energy.Active.Import.Register", "Energy.Active.Export.Register"}
    imported = sum(tx.imported_Wh for tx in txs)
    wallboxes = sum(energy_by_step(result, wb)[1].sum() for wb in ("wb_1", "wb_2", "wb_3"))
    assert 0.9 * wallboxes < imported <= wallboxes + 1.0  # the rest flowed after the last meter value


PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


@pytest.mark.postgres
def test_the_store_on_postgresql_keeps_the_same() -> None:
    """The same park with the CSMS on PostgreSQL (a database of its own, dropped afterwards)."""
    import os

    import sqlalchemy

    database = f"bidicharge_csms_{os.getpid()}"
    try:
        admin = sqlalchemy.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{database}"'))
            conn.execute(sqlalchemy.text(f'CREATE DATABASE "{database}"'))
    except Exception as exc:  # noqa: BLE001 - any failure to connect means: no server here
        pytest.skip(f"no PostgreSQL at 127.0.0.1:5432 (user postgres, trust): {exc.__class__.__name__}")
    try:
        result = run_and_open(f"{PG_SERVER}/{database}")
        check_store(result)
        store = park_component_store(result)
        (tx,) = [tx for tx in store.transactions("wb_1") if tx.exported_Wh > 0]
        ends, _, exported = energy_by_step(result, "wb_1")
        assert tx.exported_Wh == pytest.approx(exported.sum(), abs=1.0)  # the only discharge of the day
        store.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


def test_heartbeats_only_after_a_quiet_interval(park: StudyResult) -> None:
    """G02: a station sends Heartbeat when nothing else went to the CSMS for its interval (300 s)."""
    for wb in ("wb_1", "wb_2", "wb_3"):
        sent = sorted(r.time_s for r in park.trace.select(interface="I-04") if r.source == wb and r.target == "cpo"
                      and not r.message.endswith("Response"))
        beats = [r.time_s for r in park.trace.select(interface="I-04", message="Heartbeat") if r.source == wb]
        assert beats, wb  # during the day the car is away: no transaction events, heartbeats instead
        for t in beats:
            before = [s for s in sent if s < t]
            assert t - before[-1] >= 300, (wb, t)


def test_transactions_carry_the_cars_id_and_i14_reports_it(park: StudyResult) -> None:
    (_, started), *_ = [(r, f) for r, f in frames(park, "TransactionEvent", source="wb_1")
                        if f[3]["eventType"] == "Started"]
    assert started[3]["idToken"] == {"idToken": "ev_1", "type": "Central"}  # no ISO 15118 here: the configured car
    live = [json.loads(r.summary) for r in park.trace.select(interface="I-14", message="LiveData")]
    ids = {e["evse_id"]: e.get("vehicle_id") for e in live[0]["evses"]}
    assert ids == {"wb_1": "ev_1", "wb_2": "ev_2", "wb_3": "ev_3"}
