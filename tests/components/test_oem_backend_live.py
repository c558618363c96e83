"""OEM backend, live: cars on MQTT (I-02), the owner's app on REST + WebSocket (I-12), the
aggregator on REST with per-car consent (I-13); through the embedded broker and through
Mosquitto on 127.0.0.1:1883 (skipped, saying why, where it is absent).

    car (aiomqtt here) ──MQTT I-02──► oem ◄──REST+WS I-12── owner (httpx, websockets here)
                                       ▲
                                       └──REST I-13── aggregator (httpx here)
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid

import aiomqtt
import httpx
import pytest
import websockets

from bidicharge.components.interfaces.i02_telematics import OwnerSettings, VehicleStatus, topic
from bidicharge.components.oem_backend import OemBackend
from bidicharge.runtime.assembly import assemble
from bidicharge.runtime.clock import ManualClock
from bidicharge.runtime.scenario import parse_scenario
from bidicharge.runtime.trace import TraceRecorder

NOW = 1_520_420_400.0  # 2018-03-07 12:00 CET


def _backend(broker: str) -> OemBackend:
    sc = parse_scenario({
        "start": "2018-03-07T12:00:00+01:00", "duration": "1d", "step": "5min",
        "components": {"oem": {"component": "oem_backend",
                               "config": {"broker": broker, "aggregator_tokens": {"tok-a": "agg_a", "tok-b": "agg_b"}}}},
    }, file="oem.yaml", base_dir=".")
    oem = assemble(sc, TraceRecorder(), ManualClock(start_s=NOW))["oem"]
    assert isinstance(oem, OemBackend)
    return oem


def _status(vin: str, soc: float, *, plugged: bool = True) -> VehicleStatus:
    return VehicleStatus(vin=vin, time_s=NOW, soc=soc, location="home" if plugged else "away", plugged=plugged,
                         capacity_Wh=77_000, max_charge_power_W=11_000, max_discharge_power_W=11_000)


async def _eventually(check, timeout_s: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout_s):
        while not check():
            await asyncio.sleep(0.05)


async def _exercise(oem: OemBackend) -> None:
    clock = ManualClock(start_s=NOW)
    vin, other = f"car-{uuid.uuid4().hex[:10]}", f"car-{uuid.uuid4().hex[:10]}"  # retained topics outlive a run
    async with asyncio.TaskGroup() as tg:
        server = tg.create_task(oem.serve(clock))
        async with asyncio.timeout(30):
            await oem.ready.wait()
        addr = oem.broker_address
        assert addr is not None
        async with aiomqtt.Client(addr.host, addr.port, identifier=f"car-{vin}") as car, \
                httpx.AsyncClient(base_url=oem.api_url or "", timeout=10) as http:
            await car.subscribe(topic(vin, "settings"), qos=1)
            await car.subscribe(topic(vin, "command"), qos=1)
            await car.publish(topic(vin, "status"), _status(vin, 0.42).model_dump_json(), qos=1, retain=True)
            await car.publish(topic(other, "status"), _status(other, 0.6).model_dump_json(), qos=1, retain=True)
            await car.publish(topic(vin, "status"), b"{not json", qos=1)  # refused, the backend stays up
            await _eventually(lambda: oem.store.view(vin) is not None and oem.store.view(other) is not None)

            # I-12: the owner sees the car, every field range-checked, 422 naming the field
            seen = (await http.get(f"/v1/vehicles/{vin}")).json()
            assert seen["status"]["soc"] == 0.42 and seen["status"]["plugged"] is True
            good = {"departure_s": NOW + 20 * 3600, "target_soc": 0.8, "min_soc_for_discharge": 0.4,
                    "v2g_consent": True, "aggregator": "agg_a"}
            for field, bad in (("target_soc", 1.2), ("min_soc_for_discharge", -0.1), ("departure_s", NOW - 60),
                               ("v2g_consent", "maybe")):
                r = await http.put(f"/v1/vehicles/{vin}/settings", json={**good, field: bad})
                assert r.status_code == 422, (field, r.text)
                assert field in json.dumps(r.json()["detail"]), (field, r.text)
            r = await http.put(f"/v1/vehicles/{vin}/settings", json={**good, "min_soc_for_discharge": 0.9})
            assert r.status_code == 422 and "min_soc_for_discharge" in r.text

            async with websockets.connect(oem.api_url.replace("http", "ws") + f"/v1/vehicles/{vin}/ws") as ws:  # type: ignore[union-attr]
                first = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert first["vin"] == vin
                assert (await http.put(f"/v1/vehicles/{vin}/settings", json=good)).status_code == 200
                pushed = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert pushed["settings"]["aggregator"] == "agg_a"
                # the car gets the owner's settings on its retained settings topic
                async with asyncio.timeout(10):
                    async for msg in car.messages:
                        if str(msg.topic) == topic(vin, "settings"):
                            assert OwnerSettings.model_validate_json(bytes(msg.payload)).target_soc == 0.8  # type: ignore[arg-type]
                            break
                await car.publish(topic(vin, "status"), _status(vin, 0.45).model_dump_json(), qos=1, retain=True)
                pushed = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert pushed["status"]["soc"] == 0.45

            # I-13: only cars whose owner authorised this aggregator; SoC settings within the owner's rules
            assert (await http.get("/v1/aggregator/vehicles")).status_code == 401
            assert (await http.get("/v1/aggregator/vehicles", headers={"Authorization": "Bearer nope"})).status_code == 401
            a = {"Authorization": "Bearer tok-a"}
            b = {"Authorization": "Bearer tok-b"}
            listed = (await http.get("/v1/aggregator/vehicles", headers=a)).json()
            assert [v["vin"] for v in listed] == [vin]
            assert (await http.get("/v1/aggregator/vehicles", headers=b)).json() == []
            assert (await http.get(f"/v1/aggregator/vehicles/{vin}", headers=b)).status_code == 403
            assert (await http.get(f"/v1/aggregator/vehicles/{other}", headers=a)).status_code == 403
            r = await http.post(f"/v1/aggregator/vehicles/{vin}/soc", headers=a, json={"max_soc": 0.7, "min_soc": 0.4})
            assert r.status_code == 409 and "target_soc" in r.text
            r = await http.post(f"/v1/aggregator/vehicles/{vin}/soc", headers=a, json={"max_soc": 0.9, "min_soc": 0.3})
            assert r.status_code == 409 and "min_soc_for_discharge" in r.text
            r = await http.post(f"/v1/aggregator/vehicles/{vin}/soc", headers=a, json={"max_soc": 1.5, "min_soc": 0.4})
            assert r.status_code == 422 and "max_soc" in r.text
            assert (await http.post(f"/v1/aggregator/vehicles/{vin}/soc", headers=b,
                                    json={"max_soc": 0.9, "min_soc": 0.5})).status_code == 403
            r = await http.post(f"/v1/aggregator/vehicles/{vin}/soc", headers=a, json={"max_soc": 0.9, "min_soc": 0.5})
            assert r.status_code == 202
            async with asyncio.timeout(10):
                async for msg in car.messages:
                    if str(msg.topic) == topic(vin, "command"):
                        command = json.loads(bytes(msg.payload))  # type: ignore[arg-type]
                        assert (command["max_soc"], command["min_soc"], command["aggregator"]) == (0.9, 0.5, "agg_a")
                        break
        assert oem.rejected >= 1
        server.cancel()


async def test_oem_backend_with_the_embedded_broker() -> None:
    await _exercise(_backend("embedded"))


def _mosquitto_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 1883), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.mqtt
async def test_oem_backend_over_mosquitto() -> None:
    if not _mosquitto_up():
        pytest.skip("no MQTT broker on 127.0.0.1:1883 (Mosquitto): the external-broker path cannot be exercised here")
    await _exercise(_backend("mqtt://127.0.0.1:1883"))
