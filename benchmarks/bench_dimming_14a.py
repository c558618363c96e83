"""Benchmark: one day of the `dimming_14a` scenario, with and without §14a.

The whole chain runs every minute for 24 h: 57 homes, 57 meters sending SML, 57 gateways
sealing TAF 10 (and TAF 7) as CMS for the DSO's pEMP, the DSO's grid controller on the
Kerber Dorfnetz, commands through CLS management, aEMP, the gateways' CLS proxies and 32
control units into the homes (and a ripple group). Traces are off (what a long study
would do); everything else is as in the scenario file.

Prints wall time per simulated day (stepping time scaled to 24 h; anchor: the issue's
target, 300 s), the transformer's peak loading and minutes above 100 % with §14a (anchor:
the same span without), and the cars' energy not served while dimmed (anchor: the cars'
energy in the span). By default the evening 16:00–24:00 (the whole story: arrivals,
overload, dimming, recovery); `--hours 24 --start-hour 12` for the whole day.

    python benchmarks/bench_dimming_14a.py [--hours 24 --start-hour 12] [--plot loading.png]
"""

from __future__ import annotations

import argparse
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bidicharge.components.lv_mv_grid.model import kerber_grid
from bidicharge.runtime.scenario import parse_scenario
from bidicharge.runtime.study import StudyResult, run_study

TARGET_S_PER_DAY = 300.0  # issue 7: one day of dimming_14a in under 5 minutes


def run(hours: float, enabled: bool, start_hour: int) -> StudyResult:
    path = Path(str(resources.files("bidicharge.scenarios") / "dimming_14a.yaml"))
    raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["start"] = f"2024-01-17T{start_hour:02d}:00:00+01:00"
    raw["duration"] = f"{round(hours * 60)}min"
    raw["trace"] = "off"
    raw["components"]["grid_controller"]["config"]["enabled"] = enabled
    return run_study(parse_scenario(raw, file=str(path), base_dir=str(path.parent)))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hours", type=float, default=8.0, help="simulated span (24 for the whole day)")
    parser.add_argument("--start-hour", type=int, default=16, help="local start hour (12 with --hours 24)")
    parser.add_argument("--plot", type=Path, default=None)
    args = parser.parse_args()
    kerber_grid()  # built once (pandapower), not part of either run
    results = {}
    walls = {}
    for enabled in (False, True):
        t0 = time.perf_counter()
        results[enabled] = run(args.hours, enabled, args.start_hour)
        walls[enabled] = time.perf_counter() - t0
        print(f"{'with' if enabled else 'without'} §14a: {walls[enabled]:.1f} s wall "
              f"({results[enabled].wall_time_s:.1f} s stepping)", flush=True)
    per_day = 24.0 / args.hours
    free, ctrl = results[False], results[True]
    load_free = free.column("grid.transformer_loading_pct")
    load_ctrl = ctrl.column("grid.transformer_loading_pct")
    homes = ctrl.of_kind("household_14a")
    ev_Wh = sum(free.reports[h]["car_delivered_Wh"] for h in homes)
    ev_ctrl_Wh = sum(ctrl.reports[h]["car_delivered_Wh"] for h in homes)
    ens_Wh = sum(r["energy_not_served_Wh"] for r in ctrl.reports["dso"]["dimming_log"])
    events = len(ctrl.reports["dso"]["dimming_log"])
    commands = ctrl.reports["grid_controller"]["commands_sent"]
    print(f"dimming: {events} event(s), {commands} commands/releases, cars delivered {ev_ctrl_Wh / 1e3:.0f} kWh "
          f"of {ev_Wh / 1e3:.0f} kWh; Vmin {free.column('grid.vmin_pu').min():.3f} -> "
          f"{ctrl.column('grid.vmin_pu').min():.3f} pu")
    for name, result in (("controlled", ctrl), ("uncontrolled", free)):
        day_s = result.wall_time_s * per_day
        print(f"BENCH dimming14a_day_{name}_wall: {day_s:.1f} s (anchor {TARGET_S_PER_DAY:.0f} s, "
              f"ratio {TARGET_S_PER_DAY / day_s:.2f})")
    print(f"BENCH dimming14a_peak_transformer_loading: {load_ctrl.max():.1f} % (anchor {load_free.max():.1f} %, "
          f"ratio {load_ctrl.max() / load_free.max():.2f})")
    over_ctrl, over_free = int((load_ctrl > 100).sum()), int((load_free > 100).sum())
    print(f"BENCH dimming14a_minutes_over_100pct: {over_ctrl} min (anchor {over_free} min, "
          f"ratio {over_ctrl / max(over_free, 1):.3f})")
    print(f"BENCH dimming14a_energy_not_served: {ens_Wh / 1e3:.1f} kWh (anchor {ev_Wh / 1e3:.0f} kWh, "
          f"ratio {ens_Wh / max(ev_Wh, 1.0):.3f})")
    if args.plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        hours_axis = (ctrl.times_s - ctrl.times_s[0]) / 3600.0 + args.start_hour
        fig, ax = plt.subplots(figsize=(9, 3.6))
        ax.plot(hours_axis, load_free, label="without §14a", color="tab:red")
        ax.plot(hours_axis, load_ctrl, label="with §14a (SMGW, CLS, control unit)", color="tab:blue")
        ax.axhline(100.0, color="grey", linestyle="--", linewidth=0.8)
        ax.set_xlabel("hour of day (next day > 24)")
        ax.set_ylabel("transformer loading (%)")
        ax.set_title("dimming_14a: Kerber Dorfnetz, 34 of 57 homes charging from 18:00")
        ax.legend(loc="upper left")
        fig.tight_layout()
        fig.savefig(args.plot, dpi=110)
        print(f"plot: {args.plot}")
    assert np.isfinite(load_ctrl).all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
