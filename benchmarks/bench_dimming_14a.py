"""Benchmark: one day of the `dimming_14a` scenario, with and without §14a, and the live
command latency through the CLS channel.

The whole chain runs every minute for 24 h from 17:40 (the cars drive home, plug in around
18:00 and leave the next morning): 57 homes, 57 meters sending SML, 57 gateways sealing TAF 10
every minute and TAF 7 every 15 minutes as CMS for the DSO's pEMP, the DSO's grid controller on
the Kerber Dorfnetz, commands through CLS management, aEMP, the gateways' CLS proxies and 32
control units, 30 of them into EEBUS homes (control unit -LPC-> HEMS -OPEV-> wallbox -> car)
and 2 by relay contacts, plus a ripple group. Traces are off (what a long study would do);
everything else is as in the scenario file.

Prints the wall time of the controlled day, set-up included (`dimming_14a_day`; anchor: the
issue's target, 300 s; ratio = target / measured, above 1 is within the target) and the CPU
time of the process for it (the machine is shared: wall time depends on the load, CPU time
much less); the transformer's peak loading and minutes above 100 % with §14a (anchor: the same
day without), the energy the DSO's dimming withheld from the cars (anchor: the cars' energy of
the day), and how many cars reached their owner's SoC by their morning departure. With
`--hours` below 24 the stepping time is scaled to a day.

Live: 100 dimming commands from the aEMP over TLS through the gateway's CLS proxy (its own
TLS to the control unit, decision on the GWA-signed profile) to the control unit, which
sets the limit in the home and answers with its status; p50/p99 from the DSO's order to
the status saying the limit is in force in the home (anchor: the issue's target p99 < 2 s;
a new TLS connection per command, as the proxy opens a channel per connection).

    python benchmarks/bench_dimming_14a.py [--hours 24] [--plot loading.png] [--live-commands 100]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bidicharge.components.interfaces.i10_cls import DimmingCommand
from bidicharge.components.interfaces.i20_dso import ControlOrder
from bidicharge.runtime.assembly import assemble, step_order
from bidicharge.runtime.clock import WallClock
from bidicharge.runtime.scenario import parse_scenario
from bidicharge.runtime.study import StudyResult, run_study
from bidicharge.runtime.trace import TraceLevel, TraceRecorder

TARGET_S_PER_DAY = 300.0  # issue 7: one day of dimming_14a in under 5 minutes
TARGET_P99_S = 2.0  # issue 7: DSO decision -> wallbox below the limit, p99 < 2 s (the rule allows minutes)

LIVE_WORLD: dict[str, Any] = {
    "name": "cls_latency", "start": "2024-01-17T18:00:00+01:00", "duration": "1h", "step": "1min",
    "components": {
        "home": {"component": "household_14a",
                 "config": {"household_id": "loadbus_1_1", "car_power_W": 11000,
                            "car_arrives_at": "2024-01-17T18:00:00+01:00"},
                 "connect": {"meter": "meter.han", "grid": "grid.connections"}},
        "meter": {"component": "sml_meter", "config": {"serial": 1}},
        "grid": {"component": "lv_mv_grid"},
        "cu": {"component": "control_unit",
               "config": {"unit_id": "unit-1", "devices": [{"id": "wb"}], "listen_port": 0},
               "connect": {"home": "home.grid_guard"}},
        "smgw": {"component": "smgw", "config": {"gateway_id": "EBZ00000000001", "cls_listen_port": 0},
                 "connect": {"meters": ["meter.lmn"], "cls_devices": ["cu.cls"]}},
        "gwa": {"component": "gwa", "connect": {"gateways": ["smgw.admin"]}},
        "aemp": {"component": "aemp", "connect": {"gateways": ["smgw.cls"]}},
    },
}


async def live_latencies(n: int) -> list[float]:
    scenario = parse_scenario(dict(LIVE_WORLD), file="<bench>", base_dir=".")
    clock = WallClock()
    comps = assemble(scenario, TraceRecorder(TraceLevel.OFF), clock)
    for comp in step_order(comps):
        comp.start(clock.now())  # the GWA provisions the gateway (signed profile, CLS permission)
    smgw, cu, aemp, home = comps["smgw"], comps["cu"], comps["aemp"], comps["home"]
    out: list[float] = []
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(smgw.serve(clock)), group.create_task(cu.serve(clock))]
        for _ in range(1000):  # until both listen
            if smgw.cls_port is not None and cu.bound_port is not None:  # type: ignore[attr-defined]
                break
            await asyncio.sleep(0.01)
        for i in range(n):
            limit = 4200.0 + 100.0 * (i % 60)
            t0 = time.perf_counter()
            order = ControlOrder(order_id=f"b{i}", unit_id="unit-1", gateway_id="EBZ00000000001",
                                 channel_id="cls.cu", payload=DimmingCommand(
                                     command_id=f"bench-{i}", unit_id="unit-1", limit_W=limit,
                                     start_s=clock.now(), duration_s=900.0))
            outcome = await aemp.send_live(order)  # type: ignore[attr-defined]
            elapsed = time.perf_counter() - t0
            assert outcome.status is not None and outcome.status.accepted, outcome
            assert home.effective_limit_W(clock.now()) == limit  # type: ignore[attr-defined]
            out.append(elapsed)
        for _ in range(500):  # let the last channel close before the servers stop
            if smgw.open_channels == 0 and cu.open_connections == 0:  # type: ignore[attr-defined]
                break
            await asyncio.sleep(0.01)
        for task in tasks:
            task.cancel()
    return out


@dataclass
class Day:
    result: StudyResult
    wall_s: float  # set-up and stepping, as a user waits for it
    cpu_s: float  # CPU time of this process over the same span
    setup_cpu_s: float  # of which before the first step ended (assembly, PKI, grid model)


def run(hours: float, enabled: bool) -> Day:
    """From the scenario's start (17:40, when the cars leave work) for `hours`."""
    path = Path(str(resources.files("bidicharge.scenarios") / "dimming_14a.yaml"))
    raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["duration"] = f"{round(hours * 60)}min"
    raw["trace"] = "off"
    raw["components"]["grid_controller"]["config"]["enabled"] = enabled
    t0, c0 = time.perf_counter(), time.process_time()
    first_step_cpu: list[float] = []

    def progress(i: int, n: int) -> None:
        if i == 0:
            first_step_cpu.append(time.process_time())

    result = run_study(parse_scenario(raw, file=str(path), base_dir=str(path.parent)), progress=progress)
    return Day(result=result, wall_s=time.perf_counter() - t0, cpu_s=time.process_time() - c0,
               setup_cpu_s=first_step_cpu[0] - c0)


def car_energy_Wh(result: StudyResult) -> float:
    """Energy into the cars at the wallboxes' grid side: the EEBUS homes' and the stand-ins'."""
    real = sum(float(result.column(f"{w}.grid_power_W").clip(min=0).sum()) * result.scenario.step_s / 3600.0
               for w in result.of_kind("evse"))
    return real + sum(result.reports[h]["car_delivered_Wh"] for h in result.of_kind("household_14a"))


def departures(result: StudyResult) -> tuple[int, list[str]]:
    """(cars of the EEBUS homes that left with a target, those below it) over the span."""
    due = [(car, d) for car in result.of_kind("bev") for d in result.reports[car]["departures"]
           if d["target_soc"] > 0.05]
    return len(due), [f"{car} {d['soc']:.2f} < {d['target_soc']:.2f}" for car, d in due if not d["met"]]


def per_day_s(day: Day, hours: float) -> tuple[float, float]:
    """(wall, CPU) for 24 h: the set-up once, the stepping scaled."""
    scale = 24.0 / hours
    setup_s = day.wall_s - day.result.wall_time_s
    return (setup_s + day.result.wall_time_s * scale,
            day.setup_cpu_s + (day.cpu_s - day.setup_cpu_s) * scale)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hours", type=float, default=24.0, help="simulated span from 17:40 (14: until the departures)")
    parser.add_argument("--plot", type=Path, default=None)
    parser.add_argument("--live-commands", type=int, default=100)
    args = parser.parse_args()
    if not 0 < args.hours <= 168:
        parser.error(f"--hours must be in (0, 168], got {args.hours}")
    if args.live_commands < 0:
        parser.error(f"--live-commands must be >= 0, got {args.live_commands}")
    if args.plot is not None and (args.plot.suffix != ".png" or not args.plot.parent.is_dir()):
        parser.error(f"--plot must be a .png file in an existing directory, got {args.plot}")
    days = {}
    for enabled in (True, False):
        days[enabled] = run(args.hours, enabled)
        d = days[enabled]
        print(f"{'with' if enabled else 'without'} §14a: {d.wall_s:.1f} s wall ({d.result.wall_time_s:.1f} s stepping, "
              f"{d.cpu_s:.1f} s CPU) for {args.hours:g} h", flush=True)
    free, ctrl = days[False].result, days[True].result
    load_free = free.column("grid.transformer_loading_pct")
    load_ctrl = ctrl.column("grid.transformer_loading_pct")
    ev_Wh, ev_ctrl_Wh = car_energy_Wh(free), car_energy_Wh(ctrl)
    log = ctrl.reports["dso"]["dimming_log"]
    ens_Wh = sum(r["energy_not_served_Wh"] for r in log)
    dimmed = {e["unit_id"] for e in ctrl.reports["dso"]["events"] if e["outcome"] in ("applied", "ripple")}
    commands = ctrl.reports["grid_controller"]["commands_sent"]
    print(f"dimming: {len(log)} event(s), {len(dimmed)} of 34 cars dimmed, {commands} commands/releases; cars took "
          f"{ev_ctrl_Wh / 1e3:.1f} kWh with §14a, {ev_Wh / 1e3:.1f} kWh without; Vmin "
          f"{free.column('grid.vmin_pu').min():.3f} -> {ctrl.column('grid.vmin_pu').min():.3f} pu")
    for name, day in (("controlled", days[True]), ("uncontrolled", days[False])):
        wall_s, cpu_s = per_day_s(day, args.hours)
        suffix = "" if name == "controlled" else "_uncontrolled"
        print(f"BENCH dimming_14a_day{suffix}: {wall_s:.1f} s (anchor {TARGET_S_PER_DAY:.0f} s target, "
              f"ratio {TARGET_S_PER_DAY / wall_s:.2f})")
        print(f"BENCH dimming_14a_day{suffix}_cpu: {cpu_s:.1f} s (anchor {TARGET_S_PER_DAY:.0f} s target, "
              f"ratio {TARGET_S_PER_DAY / cpu_s:.2f})")
    print(f"BENCH dimming14a_peak_transformer_loading: {load_ctrl.max():.1f} % (anchor {load_free.max():.1f} %, "
          f"ratio {load_ctrl.max() / load_free.max():.2f})")
    over_ctrl, over_free = int((load_ctrl > 100).sum()), int((load_free > 100).sum())
    print(f"BENCH dimming14a_minutes_over_100pct: {over_ctrl} min (anchor {over_free} min, "
          f"ratio {over_ctrl / max(over_free, 1):.3f})")
    print(f"BENCH dimming14a_energy_not_served: {ens_Wh / 1e3:.1f} kWh (anchor {ev_Wh / 1e3:.0f} kWh, "
          f"ratio {ens_Wh / max(ev_Wh, 1.0):.3f})")
    for name, result in (("with", ctrl), ("without", free)):
        due, missed = departures(result)
        print(f"departures {name} §14a: {due - len(missed)} of {due} EEBUS-home cars reached their target"
              + "".join(f"; missed {m}" for m in missed))
        if name == "with":
            print(f"BENCH dimming14a_departures_met: {due - len(missed)} cars (anchor {due} cars, "
                  f"ratio {(due - len(missed)) / max(due, 1):.2f})")
    if args.live_commands > 0:
        lat = np.array(asyncio.run(live_latencies(args.live_commands)))
        p50, p99 = np.percentile(lat, 50), np.percentile(lat, 99)
        print(f"live: {len(lat)} commands aEMP -> SMGW CLS proxy -> control unit -> home over TLS, "
              f"max {lat.max() * 1e3:.0f} ms")
        print(f"BENCH dimming14a_live_command_p50: {p50 * 1e3:.1f} ms (anchor {TARGET_P99_S * 1e3:.0f} ms, "
              f"ratio {TARGET_P99_S / p50:.0f})")
        print(f"BENCH dimming14a_live_command_p99: {p99 * 1e3:.1f} ms (anchor {TARGET_P99_S * 1e3:.0f} ms, "
              f"ratio {TARGET_P99_S / p99:.0f})")
    if args.plot is not None:
        plot(args.plot, ctrl, load_ctrl, load_free)
    assert np.isfinite(load_ctrl).all()
    return 0


def plot(path: Path, ctrl: StudyResult, load_ctrl: np.ndarray, load_free: np.ndarray) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hours_axis = (ctrl.times_s - ctrl.times_s[0]) / 3600.0 + 17.0 + 40.0 / 60.0
    fig, ax = plt.subplots(figsize=(9, 3.6))
    ax.plot(hours_axis, load_free, label="without §14a", color="tab:red", linewidth=1.0)
    ax.plot(hours_axis, load_ctrl, label="with §14a (SMGW, CLS, control unit, HEMS)", color="tab:blue", linewidth=1.0)
    ax.axhline(100.0, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlabel("hour of day (next day > 24)")
    ax.set_ylabel("transformer loading (%)")
    ax.set_title("dimming_14a: Kerber Dorfnetz, 34 of 57 homes charging from 18:00 (30 EEBUS homes)")
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    print(f"plot: {path} ({path.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    sys.exit(main())
