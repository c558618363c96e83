"""The charging park as OCPP 2.1 stations of a CSMS, without an aggregator: I-14 is driven here.

    cars (fleet_bev, 6) ◄──I-01── park (6 EVSEs) ──I-04 OCPP 2.1──► cpo (cpo_backend) ◄──I-14── this test

Stepped by hand from 12:00 for 12 hours at 5-minute steps. What a CPO would check: each EVSE is
a booted station, each plug-in a transaction named by the car, the car's V2X limits reach the
CSMS, a negative I-14 schedule discharges the car through SetChargingProfile, the CSMS's
registers match the park's meters, and bad frames from the CSMS are answered on the wire.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bidicharge.components.charging_park import ChargingPark
from bidicharge.components.cpo_backend import CpoBackend, i14
from bidicharge.components.interfaces.i04_ocpp import OcppFrame
from bidicharge.components.interfaces.i14_cpo_aggregator import (
    ChargingSchedule,
    SchedulePeriod,
    SetChargingSchedules,
)
from bidicharge.protocols.ocppj import OcppVersion
from bidicharge.runtime.assembly import assemble, step_order
from bidicharge.runtime.clock import ManualClock
from bidicharge.runtime.scenario import parse_scenario
from bidicharge.runtime.trace import TraceRecorder

STEP_S = 300.0
RAW: dict[str, Any] = {
    "name": "park_ocpp", "start": "2018-03-07T12:00:00+01:00", "duration": "12h", "step": "5min", "seed": 8,
    "trace": "full",
    "components": {
        "cars": {"component": "fleet_bev", "config": {"n_cars": 6, "plan_hour": 12, "aggregator": None}},
        "cpo": {"component": "cpo_backend", "config": {"store_url": "sqlite://", "heartbeat_interval_s": 3600}},
        "park": {"component": "charging_park", "config": {"max_power_W": 11000, "bidirectional": True},
                 "connect": {"vehicles": "cars.charger", "backend": "cpo.ocpp"}},
    },
}


class World:
    def __init__(self) -> None:
        sc = parse_scenario(json.loads(json.dumps(RAW)), file="park_ocpp.yaml", base_dir=".")
        self.trace = TraceRecorder(sc.trace)
        self.clock = ManualClock(start_s=sc.start_s)
        self.comps = assemble(sc, self.trace, self.clock)
        self.order = step_order(self.comps)
        self.now = sc.start_s
        for c in self.order:
            c.start(self.now)
        park, cpo = self.comps["park"], self.comps["cpo"]
        assert isinstance(park, ChargingPark) and isinstance(cpo, CpoBackend)
        self.park, self.cpo = park, cpo

    def step(self, n: int = 1) -> None:
        for _ in range(n):
            self.clock.set(self.now)
            for c in self.order:
                c.step(self.now, STEP_S)
            self.now += STEP_S
        self.clock.set(self.now)

    def frames(self, message: str) -> list[Any]:
        return [json.loads(r.summary) for r in self.trace.select(interface="I-04", message=message)]


@pytest.fixture(scope="module")
def world() -> World:
    w = World()
    w.step(8 * 12)  # to 20:00: the home chargers have arrived
    return w


def test_every_evse_boots_as_a_station_and_each_plug_in_is_a_transaction_named_by_the_car(world: World) -> None:
    assert len(world.frames("BootNotification")) == 6
    assert world.cpo.report()["stations"] == 6
    started = [f[3] for f in world.frames("TransactionEvent") if f[3]["eventType"] == "Started"]
    plugged = {world.park.evse_ids[i]: v for i, (v, p) in enumerate(
        zip(world.park._last.vehicle_id, world.park._last.plugged, strict=True)) if p}
    assert plugged, "some cars are plugged in by 20:00"
    assert {s["idToken"]["idToken"] for s in started} >= set(plugged.values())
    assert {s["idToken"]["type"] for s in started} == {"eMAID"}
    live = {e.evse_id: e for e in i14.live_data(world.cpo.engine, world.now).evses}
    assert {k: e.vehicle_id for k, e in live.items() if e.connected} == plugged
    for evse_id, car in plugged.items():
        i = world.park.evse_ids.index(evse_id)
        assert live[evse_id].soc == pytest.approx(world.park._last.soc[i], abs=1e-6), car
        assert live[evse_id].max_discharge_power_W > 0  # from NotifyEVChargingNeeds (V2X)


def test_a_negative_i14_schedule_discharges_the_car_through_set_charging_profile(world: World) -> None:
    evse_id, car = next((world.park.evse_ids[i], v) for i, (v, p) in enumerate(
        zip(world.park._last.vehicle_id, world.park._last.plugged, strict=True)) if p)
    i = world.park.evse_ids.index(evse_id)
    exported_before = float(world.park.exported_Wh[i])
    answer = world.cpo.handle("aggregator", SetChargingSchedules(schedules=(ChargingSchedule(
        evse_id=evse_id, start_s=world.now, periods=(SchedulePeriod(start_offset_s=0, setpoint_W=-3000.0),)),)),
        world.cpo.links_by_station[evse_id])
    assert answer.accepted == 1 and answer.rejected == ()
    _, _, action, payload = world.frames("SetChargingProfile")[-1]
    assert payload["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"][0]["setpoint"] == -3000.0
    world.step(2)
    assert world.park._last.power_W[i] == pytest.approx(-3000.0)
    assert float(world.park.exported_Wh[i]) - exported_before == pytest.approx(3000.0 * 2 * STEP_S / 3600.0)
    live = {e.evse_id: e for e in i14.live_data(world.cpo.engine, world.now).evses}
    assert live[evse_id].vehicle_id == car and live[evse_id].power_W == pytest.approx(-3000.0)


def test_the_csms_registers_equal_the_park_meters(world: World) -> None:
    live = {e.evse_id: e for e in i14.live_data(world.cpo.engine, world.now).evses}
    for i, evse_id in enumerate(world.park.evse_ids):
        if evse_id in live:  # a station whose car never came has no meter value yet
            assert live[evse_id].imported_Wh == pytest.approx(float(world.park.imported_Wh[i]), abs=0.01)
            assert live[evse_id].exported_Wh == pytest.approx(float(world.park.exported_Wh[i]), abs=0.01)
    txs = world.cpo.store.transactions()
    assert sum(t.imported_Wh for t in txs) == pytest.approx(float(world.park.imported_Wh.sum()), abs=0.01)


def test_bad_frames_from_the_csms_are_answered_on_the_wire_and_the_park_stays_up(world: World) -> None:
    link = world.cpo.links_by_station[world.park.evse_ids[0]]
    identity = world.park.evse_ids[0]
    broken = world.park.handle("backend", OcppFrame(identity=identity, version=OcppVersion.V2_1,
                                                    text='[2, "m1", "SetChargingProfile", {"evseId": "one"}]'), link)
    assert isinstance(broken, OcppFrame)
    kind, message_id, code = json.loads(broken.text)[:3]
    assert (kind, message_id) == (4, "m1") and code in ("FormatViolation", "TypeConstraintViolation",
                                                        "OccurrenceConstraintViolation")
    unknown = world.park.handle("backend", OcppFrame(identity="nobody", version=OcppVersion.V2_1,
                                                     text='[2, "m2", "Reset", {"type": "Immediate"}]'), link)
    assert unknown is None  # no such station here: as a connection that is not open
    world.step()  # and the park goes on
    assert world.park.report()["ocpp_errors"] == 0
