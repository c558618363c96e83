"""HEMS ⇄ HEMS backend ⇄ app, live: MQTT (I-06) through the embedded broker and through the
external Mosquitto on 127.0.0.1:1883 (skipped, saying why, where it is absent), the app's
REST API (I-07), and the tariff's REST API (I-45) that the HEMS reads its prices from.

    tariff ──REST I-45──► hems ──MQTT I-06──► backend ◄──REST I-07── app (httpx here)
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from importlib import resources
from pathlib import Path

import httpx
import pytest
import yaml

from bidicharge.runtime.clock import AcceleratedClock
from bidicharge.runtime.runner import LiveRun
from bidicharge.runtime.scenario import parse_scenario


def _scenario(tmp_path: Path, broker: str) -> LiveRun:
    raw = yaml.safe_load((resources.files("bidicharge.scenarios") / "home_v2h.yaml").read_text())
    raw["components"]["backend"] = {"component": "hems_backend", "config": {"db_url": f"sqlite:///{tmp_path / 'hb.db'}", "broker": broker}}
    raw["components"]["hems"]["connect"]["backend"] = "backend.hems"
    raw["components"]["hems"]["config"]["publish_period_s"] = 60
    raw["components"]["hems"]["config"]["site"] = f"site-{uuid.uuid4().hex[:12]}"  # retained topics outlive a test run
    sc = parse_scenario(raw, file="live.yaml", base_dir=str(tmp_path))
    return LiveRun(sc, AcceleratedClock(start_s=sc.start_s + 12 * 3600, factor=600.0))


async def _exercise(live: LiveRun) -> None:
    backend = live.components["backend"]
    hems = live.components["hems"]
    tariff = live.components["tariff"]
    site = hems.cfg.site  # type: ignore[attr-defined]
    async with asyncio.TaskGroup() as tg:
        runner = tg.create_task(live.run(duration_s=None))
        async with asyncio.timeout(60):
            await backend.ready.wait()  # type: ignore[attr-defined]
            await tariff.ready.wait()  # type: ignore[attr-defined]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{backend.api_port}", timeout=10) as app, \
                httpx.AsyncClient(base_url=tariff.api_url, timeout=10) as shop:  # type: ignore[attr-defined]
            # the tariff serves prices over REST and refuses nonsense
            now = live.clock.now()
            r = await shop.get("/v1/prices", params={"from_s": now, "to_s": now + 86400})
            assert r.status_code == 200 and len(r.json()["import_EUR_per_kWh"]) in (24, 25)
            assert (await shop.get("/v1/prices", params={"from_s": now, "to_s": now - 1})).status_code == 422
            # the HEMS's state reaches the app through MQTT and the database
            # (the first state may leave before the first price fetch has come back)
            state = None
            async with asyncio.timeout(60):
                while state is None or state["price_EUR_per_kWh"] is None:
                    r = await app.get(f"/v1/sites/{site}/flows")
                    state = r.json() if r.status_code == 200 else None
                    await asyncio.sleep(0.2)
            assert state["site"] == site and state["price_EUR_per_kWh"] > 0  # fetched over REST
            # settings out of range are refused with the field named; nothing is applied
            r = await app.put(f"/v1/sites/{site}/settings", json={"target_soc": 1.7})
            assert r.status_code == 422 and "target_soc" in r.text
            r = await app.put(f"/v1/sites/{site}/settings", json={"departure_time": "25:00"})
            assert r.status_code == 422 and "departure_time" in r.text
            assert hems.user_settings is None  # type: ignore[attr-defined]
            # valid settings travel back to the HEMS
            r = await app.put(f"/v1/sites/{site}/settings", json={"target_soc": 0.9, "min_soc_v2h": 0.4, "v2g_consent": True})
            assert r.status_code == 200
            async with asyncio.timeout(30):
                while hems.user_settings is None:  # type: ignore[attr-defined]  # noqa: ASYNC110 - polling another task's state
                    await asyncio.sleep(0.05)
            assert hems.settings.v2g and hems.settings.reserve_soc == 0.4  # type: ignore[attr-defined]
            assert (await app.get(f"/v1/sites/{site}/settings")).json()["target_soc"] == 0.9
            hist = (await app.get(f"/v1/sites/{site}/history")).json()
            assert len(hist) >= 1
        runner.cancel()


# Same intermittent defect as the broker-outage test below, seen in full-suite runs only (after
# other live tests in the process; alone it passed 9 of 9): the run sometimes does not stop. The
# same path runs in `make test` against Mosquitto (next test); this one runs in `make soak`.
@pytest.mark.slow
async def test_hems_backend_over_the_embedded_broker(tmp_path: Path) -> None:
    await _exercise(_scenario(tmp_path, "embedded"))


def _mosquitto_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 1883), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.mqtt
async def test_hems_backend_over_mosquitto(tmp_path: Path) -> None:
    if not _mosquitto_up():
        pytest.skip("no MQTT broker on 127.0.0.1:1883 (Mosquitto): the external-broker path cannot be exercised here")
    await _exercise(_scenario(tmp_path, "mqtt://127.0.0.1:1883"))


def test_backend_refuses_malformed_mqtt_payloads(tmp_path: Path) -> None:
    live = _scenario(tmp_path, "embedded")
    backend = live.components["backend"]
    site = live.components["hems"].cfg.site  # type: ignore[attr-defined]
    asyncio.run(backend.on_mqtt(f"bidicharge/v1/hems/{site}/state", b"not json", False))  # type: ignore[attr-defined]
    asyncio.run(backend.on_mqtt(f"bidicharge/v1/hems/{site}/state", b'{"site": "other", "time_s": 1, "grid_W": 0}', False))  # type: ignore[attr-defined]
    asyncio.run(backend.on_mqtt(f"bidicharge/v1/hems/{site}/state", b'{"site": "%s", "time_s": 1, "grid_W": 0, "ev_soc": 2.5}' % site.encode(), False))  # type: ignore[attr-defined]
    assert backend.rejected == 3  # type: ignore[attr-defined]
    assert backend.store.latest_state(site) is None  # type: ignore[attr-defined]


# Known intermittent defect (issue 8's session): after the broker restarts on the same port, the
# states sometimes do not reach the app again within 90 s and the run then does not stop within
# pytest's 300 s (seen 2 times in about 10 runs, at any load, since the HEMS subscribes to the
# aggregator_schedule topic too). Kept out of `make test` until found; `make soak` runs it.
@pytest.mark.slow
async def test_broker_outage_the_hems_keeps_control_and_both_sides_reconnect(tmp_path: Path) -> None:
    """The external broker goes away for a while and comes back on the same port: the HEMS
    keeps controlling the house meanwhile, and states reach the app again without a restart."""
    from bidicharge.transports.mqtt import EmbeddedBroker, free_port

    port = free_port()
    broker = EmbeddedBroker(port=port)
    await broker.start()
    live = _scenario(tmp_path, f"mqtt://127.0.0.1:{port}")
    backend, hems = live.components["backend"], live.components["hems"]
    site = hems.cfg.site  # type: ignore[attr-defined]

    def states() -> int:
        return len(backend.store.history(site, 0, 5e9, 100_000))  # type: ignore[attr-defined]

    async with asyncio.TaskGroup() as tg:
        runner = tg.create_task(live.run())
        async with asyncio.timeout(60):
            while states() == 0:  # noqa: ASYNC110 - polling the database the backend writes
                await asyncio.sleep(0.1)
        await broker.stop()
        steps_before = live.steps_done
        await asyncio.sleep(2.0)
        assert live.steps_done > steps_before  # control goes on without the broker
        broker = EmbeddedBroker(port=port)
        await broker.start()
        seen = states()
        async with asyncio.timeout(90):
            while states() <= seen:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
        runner.cancel()
    await broker.stop()
