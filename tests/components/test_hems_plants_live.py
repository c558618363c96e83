"""HEMS ⇄ customer plants live (I-08): the PV inverter and the home battery serve SunSpec over
Modbus/TCP on loopback, the HEMS reads and commands them with the SunSpec client; a battery
that reports nonsense is a fault the HEMS reports and survives, and it recovers by itself.

    hems ──SunSpec/Modbus TCP──► pv (model 701/704 …), battery (802/704 …)
"""

from __future__ import annotations

import asyncio
from importlib import resources
from pathlib import Path

import yaml

from bidicharge.runtime.clock import AcceleratedClock
from bidicharge.runtime.runner import LiveRun
from bidicharge.runtime.scenario import parse_scenario


def _live(tmp_path: Path) -> LiveRun:
    raw = yaml.safe_load((resources.files("bidicharge.scenarios") / "home_v2h.yaml").read_text())
    raw["components"]["hems"]["config"]["strategy"] = "rules"
    raw["components"]["backend"] = {"component": "hems_backend", "config": {"db_url": f"sqlite:///{tmp_path / 'hb.db'}"}}
    raw["components"]["hems"]["connect"]["backend"] = "backend.hems"
    raw["components"]["hems"]["config"]["publish_period_s"] = 60
    sc = parse_scenario(raw, file="live.yaml", base_dir=str(tmp_path))
    # 13:00 on a sunny-ish March day: PV produces, the battery charges
    return LiveRun(sc, AcceleratedClock(start_s=sc.start_s + 13 * 3600, factor=120.0))


async def _until(cond, timeout_s: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout_s):
        while not cond():  # noqa: ASYNC110 - polling state that other tasks change
            await asyncio.sleep(0.05)


async def test_hems_reads_and_commands_the_plants_over_sunspec_and_survives_a_faulty_battery(tmp_path: Path) -> None:
    live = _live(tmp_path)
    hems, bat, pv = live.components["hems"], live.components["battery"], live.components["pv"]
    async with asyncio.TaskGroup() as tg:
        runner = tg.create_task(live.run())
        await _until(lambda: "battery" in hems.plant_readings and hems.plant_readings["battery"].status is not None)  # type: ignore[attr-defined]
        await _until(lambda: hems.plant_readings.get("pv") is not None and hems.plant_readings["pv"].status is not None)  # type: ignore[attr-defined]
        # what the HEMS read over Modbus is the physics
        status = hems.plant_readings["battery"].status  # type: ignore[attr-defined]
        assert abs(status.soc - bat.state.energy_Wh / bat.params.capacity_Wh) < 0.02  # type: ignore[attr-defined]
        # the HEMS's setpoint reaches the battery's physics through model 704 WSet
        await _until(lambda: hems.plant_readings["battery"].written_W is not None)  # type: ignore[attr-defined]
        await _until(lambda: abs(bat.setpoint_W - hems.plant_readings["battery"].written_W) <= 1.0)  # type: ignore[attr-defined]
        # the battery's BMS starts to claim 250 %: a fault, reported; the battery is told to hold still
        bat.reported_soc_override = 2.5  # type: ignore[attr-defined]
        await _until(lambda: hems.plant_readings["battery"].fault is not None)  # type: ignore[attr-defined]
        assert "implausible" in hems.plant_readings["battery"].fault  # type: ignore[attr-defined]
        await _until(lambda: bat.setpoint_W == 0.0)  # type: ignore[attr-defined]
        await _until(lambda: any("battery" in e.message for e in live.components["backend"].store.events(hems.cfg.site)))  # type: ignore[attr-defined]
        # the fault clears: the HEMS recovers by itself
        bat.reported_soc_override = None  # type: ignore[attr-defined]
        await _until(lambda: hems.plant_readings["battery"].fault is None)  # type: ignore[attr-defined]
        assert hems.plant_faults[-1][2] == "recovered"  # type: ignore[attr-defined]
        assert pv.modbus_port is not None  # type: ignore[attr-defined]
        runner.cancel()
