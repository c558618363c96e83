"""Live mode over loopback TLS: the control unit serves its Energy Guard over SHIP, the meter
(mMU) its MGCP Grid Connection Point, the wallbox its EV use cases; the HEMS dials all three.

    control unit (output: spine) ──SHIP/TLS, EEBUS LPC, I-09──┐
    meter (mMU)  ─────────────────SHIP/TLS, EEBUS MGCP, I-47──┼──► hems ──SHIP/TLS, EEBUS OPEV…, I-03──► wallbox ── ev

A dimming command reaches the control unit (as the SMGW's CLS channel would hand it over); the
control unit writes the LPC limit, the HEMS applies it and the wallbox follows. Then the control
unit's heartbeat stops and the HEMS falls to its failsafe limit.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bidicharge.components.interfaces.i10_cls import DimmingCommand
from bidicharge.runtime.clock import AcceleratedClock
from bidicharge.runtime.runner import LiveRun
from bidicharge.runtime.scenario import parse_scenario

STANDBY_W = 5.0
FAILSAFE_W = 3000.0  # below the command's 4.2 kW, so the fall to failsafe shows


def _scenario() -> dict[str, Any]:
    return {
        "name": "eebus_cu_live", "start": "2018-03-05T20:00:00+01:00", "duration": "4h", "step": "1min", "seed": 3,
        "trace": "full",
        "components": {
            "tariff": {"component": "energy_provider_backend", "config": {"prices": "bundled:de-day-ahead-2018"}},
            "house": {"component": "household_load", "config": {"annual_energy_kWh": 4000, "profile": "H0"}},
            "ev": {"component": "bev", "config": {
                "capacity_kWh": 100, "initial_soc": 0.2, "departure_soc": 0.9, "min_soc": 0.1,
                "trips": [{"days": ["mon"], "depart": "23:30", "arrive": "23:55", "distance_km": 10}]}},
            "wallbox": {"component": "evse", "config": {"max_power_W": 11000, "dc": True, "efficiency": 0.96,
                                                         "standby_W": STANDBY_W},
                        "connect": {"vehicle": "ev.charger"}},
            "meter": {"component": "mmu", "connect": {"plants": ["house.grid"]}},
            "gcp": {"component": "gcp", "config": {"fuse_A": 35},
                    "connect": {"chargers": ["wallbox.grid"], "meter": "meter.gcp"}},
            "cu": {"component": "control_unit", "config": {
                "unit_id": "cu-1", "output": "spine", "devices": [{"id": "wallbox", "rated_power_W": 11000}]}},
            "hems": {"component": "hems",
                     "config": {"strategy": "rules", "failsafe_limit_W": FAILSAFE_W, "ev": {"charge_efficiency": 0.9}},
                     "connect": {"chargers": ["wallbox.eebus"], "meter": "meter.eebus", "tariff": "tariff.tariff",
                                 "grid_guard": "cu.energy_manager"}},
        },
    }


async def _until(cond: Any, timeout_s: float = 90.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not cond():  # noqa: ASYNC110 - polling state that other tasks change
            await asyncio.sleep(0.05)


async def test_live_the_control_unit_limits_the_hems_over_ship_and_heartbeat_loss_falls_to_failsafe() -> None:
    sc = parse_scenario(_scenario(), file="live.yaml", base_dir=".")
    live = LiveRun(sc, AcceleratedClock(start_s=sc.start_s, factor=30.0))
    hems: Any = live.components["hems"]
    wallbox: Any = live.components["wallbox"]
    cu: Any = live.components["cu"]
    meter: Any = live.components["meter"]
    async with asyncio.TaskGroup() as tg:
        runner = tg.create_task(live.run())
        await _until(lambda: cu.eebus_address is not None and meter.eebus_address is not None)
        # the HEMS reads the grid power through MGCP (subscribed, notified) ...
        await _until(lambda: hems.eebus is not None and hems.eebus.meter_reading() is not None
                     and hems.eebus.meter_reading().import_Wh > 0)
        # ... and pairs with the control unit's Energy Guard: discovery, binding, heartbeat
        await _until(lambda: any(cu.guard.ready(p) for p in cu.guard.systems))
        assert hems.eebus_identity().ski in cu.eebus_node().peers()
        await _until(lambda: 10_000 < wallbox.grid_power_W - STANDBY_W)  # flat out: the departure needs it
        now = cu._sync()
        status = cu.handle("cls", DimmingCommand(command_id="dim-1", unit_id="cu-1", limit_W=4200.0, start_s=now,
                                                 duration_s=7200.0), None)
        assert status.accepted
        await _until(lambda: hems.limit_14a_W == 4200.0)
        await _until(lambda: 3_500 < wallbox.grid_power_W - STANDBY_W <= 4200.0)
        cu.guard.stop_heartbeat()
        await _until(lambda: hems.limit_14a_W == FAILSAFE_W, timeout_s=120.0)  # 120 s scenario time, no heartbeat
        await _until(lambda: 0 < wallbox.grid_power_W - STANDBY_W <= FAILSAFE_W)
        runner.cancel()
    records = [r for r in live.trace if r.protocol == "EEBUS SPINE"]
    assert {r.interface for r in records} == {"I-03", "I-09", "I-47"}
    assert any(r.interface == "I-09" and r.source == "cu" and r.message == "loadControlLimitListData"
               and r.summary.startswith("write") for r in records)
    assert any(r.interface == "I-47" and r.source == "meter" and r.message == "measurementListData"
               and r.summary.startswith("notify") for r in records)
    assert [entry for entry in cu.log if entry[1] == "dim-1"] == [(cu.log[0][0], "dim-1", "applied")]
