"""Live mode (`bidicharge up`): the wallbox's SECC and the car's EVCC talk V2GTP over a real TCP
socket on loopback, on an accelerated clock; pilot and power stay on the simulated cable."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from bidicharge.runtime.clock import AcceleratedClock
from bidicharge.runtime.runner import LiveRun
from bidicharge.runtime.scenario import parse_scenario

FACTOR = 60.0  # one simulated minute per wall second
SIM_s = 8 * 60.0

SCENARIO: dict[str, Any] = {
    "name": "live_iso15118",
    "start": "2024-03-04T00:00:00+01:00",
    "duration": "1h",
    "step": "1min",
    "seed": 1,
    "trace": "full",
    "components": {
        "ev": {"component": "bev", "config": {
            "capacity_kWh": 40, "initial_soc": 0.5, "departure_soc": 0.8, "min_soc": 0.3,
            "iso15118": {"control_mode": "dynamic", "loop_interval_s": 10}}},
        "wallbox": {"component": "evse", "config": {
            "max_power_W": 11000, "phases": 3, "bidirectional": True,
            "setpoint_schedule": [{"after": 0, "power_W": 11000}, {"after": "4min", "power_W": -7000}]},
            "connect": {"vehicle_iso15118": "ev.charger_iso15118"}},
    },
}


def test_a_live_session_runs_over_tcp_with_charge_loops_and_energy_both_ways() -> None:
    scenario = parse_scenario(SCENARIO, file="live.yaml", base_dir=".")
    run = LiveRun(scenario, AcceleratedClock(start_s=scenario.start_s, factor=FACTOR))
    powers: list[float] = []

    def on_step(_n: int, _t: float) -> None:
        powers.append(run.components["wallbox"].state.ev_power_W)

    async def main() -> None:
        async with asyncio.timeout(60):
            await run.run(duration_s=SIM_s, on_step=on_step)

    asyncio.run(main())
    wallbox, ev = run.components["wallbox"], run.components["ev"]
    assert wallbox.iso15118_address is not None and wallbox.iso15118_address[0] == "127.0.0.1"
    iso = [r for r in run.trace if r.interface == "I-01" and r.protocol == "ISO 15118-20"]
    names = [r.message for r in iso]
    assert names[:4] == ["SupportedAppProtocolReq", "SupportedAppProtocolRes", "SessionSetupReq", "SessionSetupRes"]
    assert "PowerDeliveryRes" in names and names.count("AC_ChargeLoopRes") >= 10
    targets = {json.loads(r.summary)["bpt_dynamic_ac_cl_res_control_mode"]["evse_target_active_power"]["value"] > 0
               for r in iso if r.message == "AC_ChargeLoopRes"}
    assert targets == {True, False}  # commanded to charge, then to discharge
    assert max(powers) == 11_000.0 and min(powers) == -7_000.0  # energy moved both ways
    assert ev.report()["charged_Wh"] > 500 and ev.report()["discharged_Wh"] > 200  # ~4 min at +11 kW, ~3 at -7 kW
    # no fault while running; stopping the run may cut the connection ("connection lost" at the end)
    end = scenario.start_s + SIM_s
    assert [f for f in wallbox.report()["iso15118_faults"] if f[0] < end] == []
