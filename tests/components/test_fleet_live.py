"""fleet_v2g live, 20 cars on an accelerated clock: the cars publish on MQTT (I-02) through the
OEM backend's embedded broker, and the REST APIs answer on loopback sockets — I-13 at the OEM
backend, I-23 and I-11 at the technical aggregator.

    cars ──MQTT I-02──► oem ◄──REST I-13── (httpx here)
    tech_agg ◄──REST I-23 / I-11── (httpx here)      tech_agg ──I-14──► cpo ──I-04──► park ──I-01──► cars
"""

from __future__ import annotations

import asyncio
import copy
from importlib import resources
from typing import Any

import httpx
import yaml

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
