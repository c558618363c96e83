"""Technical aggregator: I-23 and I-11 over REST (+ WebSocket), and refusal of bad input.

    commercial (httpx/TestClient here) ──REST I-23──► tech_agg ──REST+WS I-11──► app (TestClient here)
                                                        │ I-14 in memory: cpo ── I-04 OCPP 2.1: park (20 EVSEs) ── 20 cars
                                                        │ I-13 in memory: oem ◄──I-02── cars

A 20-car fleet_v2g runs two hours in study mode (stepped here by hand); then the aggregator's
API is exercised in process (ASGI, no socket needed for the assertions).
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import numpy as np
import pytest
import yaml
from fastapi.testclient import TestClient

from bidicharge.components.interfaces.i02_telematics import OwnerSettings
from bidicharge.components.interfaces.i23_flexibility import PoolSchedule
from bidicharge.components.tech_aggregator import TechAggregator
from bidicharge.components.tech_aggregator.api import create_app
from bidicharge.runtime.assembly import assemble, step_order
from bidicharge.runtime.clock import ManualClock
from bidicharge.runtime.component import Component
from bidicharge.runtime.scenario import parse_scenario
from bidicharge.runtime.trace import TraceRecorder

BAD_CAR = "ev000001"


def _raw() -> dict[str, Any]:
    raw = yaml.safe_load((resources.files("bidicharge.scenarios") / "fleet_v2g.yaml").read_text())
    raw["components"]["cars"]["config"]["n_cars"] = 20
    raw["components"]["cars"]["config"]["deviations"] = {}
    raw["duration"] = "2h"
    return raw


@pytest.fixture(scope="module")
def world() -> tuple[dict[str, Component], TraceRecorder]:
    sc = parse_scenario(copy.deepcopy(_raw()), file="fleet_v2g.yaml", base_dir=".")
    trace = TraceRecorder(sc.trace)
    clock = ManualClock(start_s=sc.start_s)
    comps = assemble(sc, trace, clock)
    # the owner of one car enters a departure in the past (the app would refuse it; a car's own
    # settings reach the backend unchecked): the aggregator must refuse the car, with the reason
    comps["oem"].store.put_settings(  # type: ignore[attr-defined]
        BAD_CAR, OwnerSettings(departure_s=sc.start_s - 3600, target_soc=0.8, min_soc_for_discharge=0.3,
                               v2g_consent=True, aggregator="tech_agg"))
    order = step_order(comps)
    for c in order:
        c.start(sc.start_s)
    for i in range(sc.steps):
        now = sc.start_s + i * sc.step_s
        clock.set(now)
        for c in order:
            c.step(now, sc.step_s)
    return comps, trace


def _client(world: tuple[dict[str, Component], TraceRecorder]) -> tuple[TechAggregator, TestClient]:
    agg = world[0]["tech_agg"]
    assert isinstance(agg, TechAggregator)
    return agg, TestClient(create_app(agg))


def test_a_car_with_inconsistent_data_is_refused_with_the_reason_and_left_alone(world: Any) -> None:
    comps, trace = world
    agg = comps["tech_agg"]
    assert "is not after now" in agg.refused_cars[BAD_CAR]
    assert BAD_CAR not in agg.report()["evse_of"]
    # the car's EVSE (EVSE i serves car i), whether the car has plugged in yet or not
    park = comps["park"]
    bad_evse = {park.evse_ids[park._last.vehicle_id.index(BAD_CAR)]}  # type: ignore[attr-defined]
    for rec in trace.select(interface="I-14", message="SetChargingSchedules"):
        assert not any(s["evse_id"] in bad_evse for s in json.loads(rec.summary)["schedules"])


def test_i23_offer_schedule_refusal_names_the_interval_and_delivery_is_reported(world: Any) -> None:
    agg, http = _client(world)
    offer = http.get("/v1/i23/offer").json()
    assert offer["n_cars"] == 19 and len(offer["min_power_W"]) == 96
    too_low = list(offer["min_power_W"])
    too_low[5] -= 5_000.0
    r = http.post("/v1/i23/schedule", json={"offer_id": offer["offer_id"], "start_s": offer["start_s"],
                                            "power_W": too_low})
    assert r.status_code == 422
    detail = r.json()["detail"][0]
    assert detail["interval"] <= 5 and detail["loc"][:2] == ["body", "power_W"]
    r = http.post("/v1/i23/schedule", json={"offer_id": "someone-else", "start_s": offer["start_s"],
                                            "power_W": offer["baseline_power_W"]})
    assert r.status_code == 422 and "no open offer" in r.text
    r = http.post("/v1/i23/prices", content='{"start_s": 0, "price_EUR_per_MWh": [1.0, NaN]}',
                  headers={"content-type": "application/json"})
    assert r.status_code == 422 and "price_EUR_per_MWh" in r.text
    delivery = http.get("/v1/i23/delivery").json()
    assert len(delivery["delivered_power_W"]) == 7 and len(delivery["sold_power_W"]) == 96
    sold = np.array(delivery["sold_power_W"][:7])
    assert np.max(np.abs(np.array(delivery["delivered_power_W"]) - sold)) <= 0.04 * np.max(np.abs(sold)) + 1.0
    assert agg.plan is not None


def test_a_schedule_inside_the_envelope_is_accepted_over_rest(world: Any) -> None:
    # a new offer for the same fleet, answered with its own baseline (inside by construction)
    _, http = _client(world)
    offer = http.post("/v1/i23/prices", json={"start_s": 0, "step_s": 3600, "price_EUR_per_MWh": [50.0] * 48}).json()
    body = PoolSchedule(offer_id=offer["offer_id"], start_s=offer["start_s"], power_W=tuple(offer["baseline_power_W"]))
    r = http.post("/v1/i23/schedule", json={"offer_id": body.offer_id, "start_s": body.start_s,
                                            "power_W": list(body.power_W)})
    assert r.status_code == 200 and r.json()["accepted"] is True


def test_i11_cars_power_direction_history_revenue_and_push(world: Any) -> None:
    _, http = _client(world)
    cars = http.get("/v1/app/cars").json()
    assert len(cars) == 20
    for car in cars:
        assert car["direction"] in ("charging", "discharging", "idle")
        assert (car["power_W"] > 1) == (car["direction"] == "charging")
        assert set(car) >= {"soc", "revenue_EUR", "cost_EUR", "v2g_consent", "min_soc_for_discharge", "target_soc"}
    busy = max(cars, key=lambda c: c["charged_Wh"] + c["discharged_Wh"])
    history = http.get(f"/v1/app/cars/{busy['vin']}/history").json()
    assert sum(h["charged_Wh"] for h in history) == pytest.approx(busy["charged_Wh"], abs=0.01)
    assert http.get("/v1/app/cars/nobody").status_code == 404
    assert [c["vin"] for c in http.get(f"/v1/app/cars?user={busy['vin']}").json()] == [busy["vin"]]
    with http.websocket_connect(f"/v1/app/ws?user={busy['vin']}") as ws:
        pushed = json.loads(ws.receive_text())
    assert [c["vin"] for c in pushed["cars"]] == [busy["vin"]]


def test_a_soc_jump_is_refused_and_the_last_good_reading_kept(world: Any) -> None:
    # runs last: one station reports a SoC no charger could have produced (a BMS glitch) in an
    # ordinary OCPP meter value; the aggregator reads it from the CSMS on I-14
    comps, _ = world
    park, agg = comps["park"], comps["tech_agg"]
    stations = park.stations
    last = park._last
    i = next(j for j, plugged in enumerate(last.plugged) if plugged and last.vehicle_id[j] != BAD_CAR)
    vin, station = last.vehicle_id[i], stations.stations[i]
    soc = last.soc[i] + 0.5 if last.soc[i] < 0.5 else last.soc[i] - 0.5
    core = station.core
    answer = stations.call(station, core.transaction_event(1, "Updated", "MeterValuePeriodic", offline=False, soc=soc))
    assert answer is not None  # the CSMS stores it: a SoC is the car's business, not the protocol's
    now = agg.now + 300.0
    agg.step(now, 300.0)
    assert [(v, why.startswith("SoC jumped")) for _, v, why in agg.refused_reports] == [(vin, True)]
