"""fleet_v2g live, 20 cars on an accelerated clock: the cars publish on MQTT (I-02) through the
OEM backend's embedded broker, and the REST APIs answer on loopback sockets — I-13 at the OEM
backend, I-23 and I-11 at the technical aggregator.

    cars ──MQTT I-02──► oem ◄──REST I-13── (httpx here)
    tech_agg ◄──REST I-23 / I-11── (httpx here)      tech_agg ──I-14──► cpo ◄──I-04 OCPP-J WebSocket── park ──I-01──► cars

The park's 20 EVSEs dial the CPO backend's OCPP-J server as 20 stations on loopback.
"""

from __future__ import annotations

import asyncio
import copy
from importlib import resources
from typing import Any

import httpx
import yaml

from bidicharge.components.cpo_backend import i14
from bidicharge.components.cpo_backend.store import Station
from bidicharge.runtime.clock import AcceleratedClock
from bidicharge.runtime.runner import LiveRun
from bidicharge.runtime.scenario import parse_scenario


def _raw() -> dict[str, Any]:
    raw = yaml.safe_load((resources.files("bidicharge.scenarios") / "fleet_v2g.yaml").read_text())
    raw["components"]["cars"]["config"]["n_cars"] = 20
    raw["components"]["cars"]["config"]["deviations"] = {}
    raw["components"]["cars"]["config"]["report_period_s"] = 300
    raw["duration"] = "3h"
    return raw


async def test_fleet_live_over_mqtt_and_rest() -> None:
    sc = parse_scenario(copy.deepcopy(_raw()), file="fleet_v2g.yaml", base_dir=".")
    live = LiveRun(sc, AcceleratedClock(start_s=sc.start_s, factor=2400.0))
    cars, oem, agg = live.components["cars"], live.components["oem"], live.components["tech_agg"]
    async with asyncio.TaskGroup() as tg:
        run = tg.create_task(live.run(duration_s=sc.duration_s))
        async with asyncio.timeout(60):
            while live.steps_done < 12 or cars.published < 20:  # type: ignore[attr-defined]
                await asyncio.sleep(0.1)
        async with httpx.AsyncClient(timeout=10) as http:
            token = {"Authorization": "Bearer agg-secret-token"}
            vehicles = (await http.get(f"{oem.api_url}/v1/aggregator/vehicles", headers=token)).json()  # type: ignore[attr-defined]
            assert len(vehicles) == 20
            delivery = (await http.get(f"{agg.api_url}/v1/i23/delivery")).json()  # type: ignore[attr-defined]
            assert len(delivery["delivered_power_W"]) >= 2 and len(delivery["sold_power_W"]) == 96
            app_cars = (await http.get(f"{agg.api_url}/v1/app/cars")).json()  # type: ignore[attr-defined]
            assert len(app_cars) == 20 and {c["direction"] for c in app_cars} <= {"charging", "discharging", "idle"}
        await run
    # statuses reached the backend over the broker, not only in memory
    assert cars.published >= 20  # type: ignore[attr-defined]
    assert oem.rejected == 0  # type: ignore[attr-defined]
    # every EVSE booted at the CSMS over its WebSocket; plugged cars are transactions named by the car
    cpo, park = live.components["cpo"], live.components["park"]
    assert len(park.live.sessions) == 20  # type: ignore[attr-defined]
    with cpo.store.session() as db:  # type: ignore[attr-defined]
        assert {s.identity for s in db.query(Station)} == set(park.evse_ids)  # type: ignore[attr-defined]
    tokens = {t.id_token for t in cpo.store.transactions()}  # type: ignore[attr-defined]
    assert tokens and tokens <= {c.session.car_id for c in cars.cars}  # type: ignore[attr-defined]
    # and I-14 names the plugged cars by them, as the aggregator reads it
    on_i14 = {e.evse_id: e.vehicle_id for e in i14.live_data(cpo.engine, 0.0).evses if e.connected}  # type: ignore[attr-defined]
    plugged = {park.evse_ids[i]: v for i, (v, p) in enumerate(zip(park._last.vehicle_id, park._last.plugged,  # type: ignore[attr-defined]
                                                                   strict=True)) if p}
    assert on_i14 == plugged and plugged
