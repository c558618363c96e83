"""The aggregator's REST API (I-14) on the CSMS engine, with a real station over OCPP 2.1.

    aggregator ──HTTP (ASGI, in process)──► FastAPI ─ CsmsEngine ◄──ws ocpp2.1──► OcppStation ─ power stage
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx

from bidicharge.components.cpo_backend import CsmsEngine, CsmsStore
from bidicharge.components.cpo_backend.api import create_app
from bidicharge.components.evse.ocpp_station import AppliedLimits, OcppStation
from bidicharge.protocols.ocppj import v2_1
from bidicharge.transports.ocpp_websocket import Backoff, OcppServer

T0 = datetime(2025, 6, 1, 18, 0, tzinfo=UTC)


async def never(_: float) -> None:
    await asyncio.Event().wait()


async def test_aggregator_reads_live_evs_and_sends_a_discharge_setpoint() -> None:
    store = CsmsStore("sqlite://")
    store.add_token("TOKEN-9")
    engine = CsmsEngine(store, now=lambda: T0)
    server = OcppServer(setup=engine.setup)
    port = await server.start()
    applied: list[AppliedLimits] = []
    station = OcppStation(identity="WB-7", url=f"ws://127.0.0.1:{port}", now=lambda: T0, sleep=never,
                          power_stage=lambda evse, limits: applied.append(limits),
                          backoff=Backoff(wait_minimum_s=0.02, random_range_s=0.02))
    app = create_app(engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://aggregator") as http:
        async with asyncio.TaskGroup() as tasks:
            run = tasks.create_task(station.run())
            async with asyncio.timeout(10):
                await station.accepted.wait()
            assert (await http.get("/v1/evs")).json()[0]["connected"] is False
            await station.set_connector_status(1, "Occupied")
            await station.report_meter(1, import_Wh=500, export_Wh=100)
            await station.start_transaction(1, "TOKEN-9")
            await station.report_meter(1, import_Wh=2500, export_Wh=100, soc=0.62)
            await station.notify_ev_charging_needs(1, v2_1.ChargingNeedsType(
                requested_energy_transfer=v2_1.EnergyTransferModeEnumType.AC_BPT,
                departure_time=datetime(2025, 6, 2, 7, tzinfo=UTC),
                v2x_charging_parameters=v2_1.V2XChargingParametersType(max_charge_power=11000,
                                                                       max_discharge_power=9000)))

            (ev,) = (await http.get("/v1/evs")).json()
            assert ev["station"] == "WB-7" and ev["connected"] is True and ev["soc"] == 0.62
            assert (ev["imported_Wh"], ev["exported_Wh"]) == (2000, 0)
            assert (ev["max_discharge_power_W"], ev["requested_energy_transfer"]) == (9000, "AC_BPT")
            assert ev["departure_time"].startswith("2025-06-02T07:00:00")

            answer = await http.post("/v1/evs/WB-7/1/setpoint", json={"setpoint_W": -5000, "max_discharge_W": 9000})
            assert answer.status_code == 200 and answer.json() == {"status": "Accepted"}
            assert (applied[-1].operation_mode, applied[-1].setpoint_W, applied[-1].max_discharge_W) == (
                "CentralSetpoint", -5000, 9000)

            schedule = {"periods": [{"start_s": 0, "operation_mode": "CentralSetpoint", "setpoint_W": 3000},
                                    {"start_s": 900, "operation_mode": "Idle"}], "start": T0.isoformat()}
            assert (await http.post("/v1/evs/WB-7/1/schedule", json=schedule)).json() == {"status": "Accepted"}
            assert applied[-1].setpoint_W == 3000

            assert (await http.post("/v1/evs/NOPE/1/setpoint", json={"setpoint_W": 1000})).status_code == 404
            bad = await http.post("/v1/evs/WB-7/1/setpoint", json={"setpoint_W": -1000, "max_discharge_W": -5})
            assert bad.status_code == 422

            await station.stop_transaction(1)
            late = await http.post("/v1/evs/WB-7/1/setpoint", json={"setpoint_W": -1000})
            assert late.status_code == 409  # a TxProfile needs a running transaction
            run.cancel()
        paths = (await http.get("/openapi.json")).json()["paths"]
        assert {"/v1/evs", "/v1/evs/{station}/{evse_id}/setpoint", "/v1/evs/{station}/{evse_id}/schedule"} <= set(paths)
    await server.close()
