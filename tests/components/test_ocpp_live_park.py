"""The ``cpo_park`` scenario live (``bidicharge up`` path: :class:`LiveRun` on an accelerated clock):
three wallboxes dial the CPO backend's OCPP-J WebSocket server on loopback (a free port), the
technical aggregator's side is the I-14 REST API (httpx here, a free port).

    ev_n ──I-01──► wb_n ──OCPP 2.1 over WebSocket (127.0.0.1:<free>)──► cpo ◄──REST I-14── httpx

Asserted as a user would check it: every wallbox booted and reports its car in the store; the
transactions carry growing import registers; a negative setpoint posted on I-14 reaches wb_1 as
SetChargingProfile (``CentralSetpoint``), the car discharges, and the export register of its
transaction grows in the store. Bounded in time (``asyncio.timeout``), no timing asserts.
"""

from __future__ import annotations

import asyncio
import logging
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from bidicharge.runtime.clock import AcceleratedClock
from bidicharge.runtime.runner import LiveRun
from bidicharge.runtime.scenario import parse_scenario

ACCELERATE = 300.0  # one simulated minute (the scenario's step) every 0.2 s


def _park(tmp_path: Path) -> LiveRun:
    raw = yaml.safe_load((resources.files("bidicharge.scenarios") / "cpo_park.yaml").read_text())
    raw["components"]["cpo"]["config"].update(store_url=f"sqlite:///{tmp_path / 'csms.db'}", port=0, api_port=0)
    for wb in ("wb_1", "wb_2", "wb_3"):
        raw["components"][wb]["config"]["ocpp"]["queue_dir"] = str(tmp_path)
    sc = parse_scenario(raw, file="cpo_park.yaml", base_dir=str(tmp_path))
    return LiveRun(sc, AcceleratedClock(start_s=sc.start_s, factor=ACCELERATE))


async def _until(check: Any, what: str, *, timeout_s: float = 20.0) -> Any:
    """Poll ``check()`` until it returns something truthy; the timeout names what never happened."""
    try:
        async with asyncio.timeout(timeout_s):
            while not (value := check()):
                await asyncio.sleep(0.05)
            return value
    except TimeoutError:
        raise AssertionError(f"live cpo_park: {what} did not happen within {timeout_s} s") from None


async def _exercise(live: LiveRun) -> dict[str, Any]:
    cpo: Any = live.components["cpo"]
    ev_1: Any = live.components["ev_1"]
    wb_1: Any = live.components["wb_1"]
    seen: dict[str, Any] = {}
    async with asyncio.TaskGroup() as tg:
        runner = tg.create_task(live.run(duration_s=None))
        await _until(lambda: cpo.api_port, "the I-14 API listening")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{cpo.api_port}", timeout=10) as api:
            async def evs() -> dict[str, Any]:
                r = await api.get("/v1/evs")
                assert r.status_code == 200
                return {e["station"]: e for e in r.json()}

            async def all_charging() -> bool:
                found = await evs()
                seen["evs"] = found
                return len(found) == 3 and all(e["connected"] and e["imported_Wh"] > 100 for e in found.values())

            async with asyncio.timeout(30):
                while not await all_charging():
                    await asyncio.sleep(0.1)
            # bad input on I-14: a station that is not there, a setpoint that is not a number
            assert (await api.post("/v1/evs/nowhere/1/setpoint", json={"setpoint_W": -1000})).status_code == 404
            bad = await api.post("/v1/evs/wb_1/1/setpoint", json={"setpoint_W": "lots"})
            assert bad.status_code == 422 and "setpoint_W" in bad.text
            r = await api.post("/v1/evs/wb_1/1/setpoint", json={"setpoint_W": -5000})
            seen["setpoint_answer"] = (r.status_code, r.json())
            await _until(lambda: ev_1.power_W < -4000, "ev_1 discharging")
            seen["wb_1_setpoint_W"] = wb_1.setpoint_W
            exported_before = (await evs())["wb_1"]["exported_Wh"]
            async with asyncio.timeout(30):
                while (await evs())["wb_1"]["exported_Wh"] <= exported_before + 100:
                    await asyncio.sleep(0.1)
            seen["evs_after"] = await evs()
        runner.cancel()
    return seen


async def test_cpo_park_live_boots_meters_and_discharges_on_an_i14_setpoint(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    live = _park(tmp_path)
    with caplog.at_level(logging.WARNING):
        async with asyncio.timeout(60):
            seen = await _exercise(live)
    # a clean stop: no uvicorn lifespan CancelledError, no station or CSMS error
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    cpo: Any = live.components["cpo"]
    store = cpo.store
    # every wallbox booted over the WebSocket and runs a transaction with its registers
    assert {e: v["vehicle_id"] for e, v in seen["evs"].items()} == {"wb_1": "ev_1", "wb_2": "ev_2", "wb_3": "ev_3"}
    for wb in ("wb_1", "wb_2", "wb_3"):
        (tx,) = [t for t in store.transactions(wb) if t.ended_at is None]
        samples = store.samples(wb, tx.transaction_id)
        imports = [s.value for s in samples if s.measurand == "Energy.Active.Import.Register"]
        assert len(imports) >= 2 and imports == sorted(imports)
        assert any(s.measurand == "Energy.Active.Export.Register" for s in samples)
    # the I-14 setpoint became a CentralSetpoint profile that wb_1 accepted and applies
    assert seen["setpoint_answer"] == (200, {"status": "Accepted"})
    assert seen["wb_1_setpoint_W"] == -5000
    with store.session() as s:
        from bidicharge.components.cpo_backend.store import SentProfile

        (sent,) = s.query(SentProfile).filter_by(station="wb_1").all()
        period = sent.wire["chargingSchedule"][0]["chargingSchedulePeriod"][0]
    assert sent.status == "Accepted" and period["operationMode"] == "CentralSetpoint" and period["setpoint"] == -5000
    # the export register of wb_1's transaction grew in the store; the others only import
    after = seen["evs_after"]
    assert after["wb_1"]["exported_Wh"] > 100
    assert after["wb_2"]["exported_Wh"] == 0 and after["wb_3"]["exported_Wh"] == 0
    # the WebSocket frames are in the trace on I-04, as in a study
    names = [(r.source, r.target, r.message) for r in live.trace.select(interface="I-04")]
    for wb in ("wb_1", "wb_2", "wb_3"):
        assert (wb, "cpo", "BootNotification") in names and ("cpo", wb, "BootNotificationResponse") in names
        assert (wb, "cpo", "NotifyEVChargingNeeds") in names and (wb, "cpo", "TransactionEvent") in names
    assert ("cpo", "wb_1", "SetChargingProfile") in names and ("wb_1", "cpo", "SetChargingProfileResponse") in names
    assert all(r.protocol == "OCPP 2.1" for r in live.trace.select(interface="I-04"))
