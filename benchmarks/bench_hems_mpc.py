"""Benchmark of the HEMS LP (``bidicharge.control.hems_mpc.plan``).

Measures, on one synthetic household year at 15 min (10 kWp PV, 3.5 MWh/a load, 60 kWh
bidirectional EV commuting on weekdays, 10 kWh battery, a day-ahead-shaped tariff, §14a
dimming 17-19 h in winter):

* the 15-minute re-plan over a 36 h horizon: median and p99 of ``plan()`` wall time over
  many starts spread through the year (matrix building included; target: median < 50 ms);
* a 2-day solve with battery + EV + inflexible load at 15 min, the case for which
  FlexMeasures published 0.22 s with HiGHS (FlexMeasures PR #2282, see
  ``shared/reference/anchors.md``); if a Python with ``flexmeasures`` installed is named in
  ``BIDICHARGE_FLEXMEASURES_PYTHON`` (``python -m venv /tmp/fm && /tmp/fm/bin/pip install
  flexmeasures==1.0.1``), its ``device_scheduler`` is timed on the same 2 days in this run
  as well, with its direct-highspy and its Pyomo (appsi_highs) backends;
* the perfect-foresight solve of the whole year (target of the year study: < 5 min).

Prints ``BENCH <name>: <figure> <unit> (anchor <figure>, ratio <x>)`` lines.
Run: ``.venv/bin/python benchmarks/bench_hems_mpc.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bidicharge.control.hems_mpc import BatteryProblem, Departure, EvProblem, HemsProblem, plan

STEP_S = 900.0
PER_DAY = 96
FLEXMEASURES_2DAY_S = 0.22  # published, FlexMeasures PR #2282 (HEMS, battery + EV + load, 15 min, HiGHS)
REPLAN_TARGET_MS = 50.0  # issue 6
YEAR_TARGET_S = 300.0  # issue 6: a year of study < 5 min


def household_year(days: int = 365, seed: int = 42) -> dict[str, np.ndarray]:
    """Synthetic but shaped like a German household year, deterministic for a seed."""
    rng = np.random.default_rng(seed)
    n = days * PER_DAY
    hour = (np.arange(n) % PER_DAY) / 4.0
    day = np.arange(n) // PER_DAY
    season = np.cos((day - 172) / 365.0 * 2 * np.pi)  # +1 midsummer, −1 midwinter
    daylength = 12.0 + 4.0 * season
    sun = np.clip(np.sin(np.pi * (hour - (12 - daylength / 2)) / daylength), 0, None)
    clearness = np.repeat(rng.beta(2.0, 1.2, days), PER_DAY)
    pv = 10_000.0 * (0.55 + 0.35 * season) * sun * clearness
    load = (250 + 150 * np.exp(-((hour - 7.5) / 1.2) ** 2) * 2 + 700 * np.exp(-((hour - 19) / 2.0) ** 2)
            + 80 * rng.standard_normal(n).clip(-2, 2)) * (1.1 - 0.1 * season)
    price = (250 + 60 * np.exp(-((hour - 8) / 1.5) ** 2) + 110 * np.exp(-((hour - 19) / 2) ** 2)
             - 80 * (0.5 + 0.5 * season) * sun + np.repeat(rng.normal(0, 25, days), PER_DAY)
             + rng.normal(0, 10, n))
    weekday = (day % 7) < 5
    away = weekday & (hour >= 7.5) & (hour < 17.5)
    limit_14a = np.where((season < 0) & (hour >= 17) & (hour < 19), 4_200.0, np.inf)
    return {"pv_W": pv, "load_W": load.clip(100, None), "price": price, "plugged": ~away,
            "limit_14a_W": limit_14a}


def problem_for(data: dict[str, np.ndarray], start: int, n: int, *, ev_soc: float, battery_soc: float) -> HemsProblem:
    window = slice(start, start + n)
    plugged = data["plugged"][window]
    # departures: every plugged → unplugged edge inside the horizon, 80 % wanted
    edges = np.flatnonzero(plugged[:-1] & ~plugged[1:]) + 1
    ev = EvProblem(capacity_Wh=60_000, soc_initial=ev_soc, plugged=plugged,
                   trip_energy_Wh=np.where(plugged, 0.0, 12_000 / 40),  # 12 kWh per commuting day
                   max_charge_power_W=11_000, max_discharge_power_W=11_000, charge_efficiency=0.92,
                   discharge_efficiency=0.92, reserve_soc=0.3, soc_min=0.1,
                   departures=tuple(Departure(step=int(s), target_soc=0.8) for s in edges),
                   v2h_allowed=True, v2g_allowed=True, wear_cost_EUR_per_kWh=0.03)
    battery = BatteryProblem(capacity_Wh=10_000, soc_initial=battery_soc, max_charge_power_W=5_000,
                             max_discharge_power_W=5_000, soc_min=0.05, wear_cost_EUR_per_kWh=0.02)
    return HemsProblem(step_s=STEP_S, pv_W=data["pv_W"][window], load_W=data["load_W"][window],
                       import_price_EUR_per_MWh=data["price"][window] + 150.0,  # + grid fees and levies
                       export_price_EUR_per_MWh=np.full(len(plugged), 79.0), grid_import_limit_W=30_000,
                       import_limit_14a_W=data["limit_14a_W"][window], export_limit_W=7_000,
                       ev=ev, battery=battery)


def _timed(problem: HemsProblem) -> tuple[float, float]:
    """(wall, CPU) seconds of one ``plan()``; CPU time is the steadier figure on a shared machine."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = plan(problem)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert result.ok, result.message
    return wall, cpu


def bench_replan(data: dict[str, np.ndarray], count: int) -> np.ndarray:
    """Wall and CPU milliseconds (shape count × 2) of 36 h re-plans spread over the year."""
    rng = np.random.default_rng(7)
    starts = np.linspace(0, len(data["pv_W"]) - 144, count).astype(int)
    plan(problem_for(data, 0, 144, ev_soc=0.5, battery_soc=0.5))  # warm-up (imports, first HiGHS)
    return np.array([_timed(problem_for(data, int(start), 144, ev_soc=float(rng.uniform(0.2, 0.9)),
                                        battery_soc=float(rng.uniform(0.05, 1.0))))
                     for start in starts]) * 1000.0


def bench_two_days(data: dict[str, np.ndarray], repeat: int) -> tuple[float, float]:
    times = np.array([_timed(problem_for(data, 30 * PER_DAY + r * PER_DAY, 2 * PER_DAY, ev_soc=0.5,
                                         battery_soc=0.5)) for r in range(repeat)])
    return float(np.median(times[:, 0])), float(np.median(times[:, 1]))


def bench_year(data: dict[str, np.ndarray]) -> tuple[float, float, float, int]:
    problem = problem_for(data, 0, len(data["pv_W"]), ev_soc=0.5, battery_soc=0.5)
    wall, cpu = time.perf_counter(), time.process_time()
    result = plan(problem)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert result.ok, result.message
    return wall, cpu, result.energy_cost_EUR, len(data["pv_W"])


# FlexMeasures' own scheduler on the same 2 days: battery and EV as storage devices, the house
# (load − PV) as an inflexible device, the tariff as an EMS commitment. It runs in a separate
# Python (FlexMeasures pins its own Flask/SQLAlchemy stack); solvers "highspy" (its direct
# HiGHS backend, default since PR #2364) and "appsi_highs" (Pyomo + HiGHS, as in PR #2282).
# The figures are for its model as built (a MILP here), timed like ours: median of 3 calls.
FLEXMEASURES_SCRIPT = r"""
import json, sys, time
import numpy as np, pandas as pd
from flask import Flask
from flexmeasures.data.models.planning.linear_optimization import device_scheduler
args = json.loads(sys.stdin.read())
n = len(args["load_W"])
index = pd.date_range("2025-02-01", periods=n, freq="15min", tz="UTC")
price = pd.Series(np.array(args["price"]) / 1000.0, index=index)  # EUR/kWh
plugged = np.array(args["plugged"])
def device(**columns):
    frame = pd.DataFrame(index=index, dtype=float)
    for key in ("max", "min", "equals", "derivative max", "derivative min", "derivative equals"):
        frame[key] = np.nan
    for key, value in columns.items():
        frame[key] = value
    return frame
devices = [
    device(**{"max": 10.0, "min": 0.5, "derivative max": 5.0, "derivative min": -5.0,
              "derivative up efficiency": 0.95, "derivative down efficiency": 0.95}),
    device(**{"max": 60.0, "min": 6.0, "derivative max": np.where(plugged, 11.0, 0.0),
              "derivative min": np.where(plugged, -11.0, 0.0),
              "derivative up efficiency": 0.92, "derivative down efficiency": 0.92}),
    device(**{"derivative equals": (np.array(args["load_W"]) - np.array(args["pv_W"])) / 1000.0}),
]
for frame in devices[:2]:
    frame.loc[index[-1], "min"] = 0.8 * frame["max"].iloc[0]
commitment = pd.DataFrame({"quantity": 0.0, "upwards deviation price": price,
                           "downwards deviation price": price * 0.3, "group": list(range(n))}, index=index)
ems = pd.DataFrame({"derivative max": 30.0, "derivative min": -7.0}, index=index)
app = Flask("anchor")
app.config["LOGGING_LEVEL"] = "WARNING"
app.config["FLEXMEASURES_LP_SOLVER"] = args["solver"]
times = []
with app.app_context():
    for _ in range(3):
        wall, cpu = time.perf_counter(), time.process_time()
        _, _, results, _ = device_scheduler(devices, ems, commitments=[commitment], initial_stock=[5.0, 30.0])
        times.append((time.perf_counter() - wall, time.process_time() - cpu))
        assert "optimal" in str(results.solver.termination_condition)
print(json.dumps({"wall": float(np.median([t[0] for t in times])), "cpu": float(np.median([t[1] for t in times]))}))
"""


def bench_flexmeasures(data: dict[str, np.ndarray], solver: str) -> tuple[float, float] | None:
    """(wall, CPU) seconds of FlexMeasures' ``device_scheduler`` on our 2-day case, if it is installed."""
    python = os.environ.get("BIDICHARGE_FLEXMEASURES_PYTHON")
    if not python or not Path(python).exists():
        return None
    window = slice(30 * PER_DAY, 32 * PER_DAY)
    payload = {key: np.asarray(data[key][window]).tolist() for key in ("load_W", "pv_W", "plugged")}
    payload["price"] = (data["price"][window] + 150.0).tolist()
    payload["solver"] = solver
    try:
        done = subprocess.run([python, "-c", FLEXMEASURES_SCRIPT], input=json.dumps(payload), capture_output=True,
                              text=True, timeout=600, check=True)
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        return float(figures["wall"]), float(figures["cpu"])
    except (subprocess.SubprocessError, ValueError, KeyError, IndexError) as error:
        print(f"# FlexMeasures ({solver}) could not run: {error}", file=sys.stderr)
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer re-plans and a 60-day 'year'")
    args = parser.parse_args()
    data = household_year()
    print(f"# load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs: wall times include waiting "
          "for a CPU; CPU times do not")
    replan_ms = bench_replan(data, 60 if args.quick else 400)
    for column, clock in ((0, "wall"), (1, "cpu")):
        for label, figure in (("median", np.median(replan_ms[:, column])),
                              ("p99", np.percentile(replan_ms[:, column], 99))):
            print(f"BENCH hems_replan_36h_15min_{label}_{clock}: {figure:.1f} ms "
                  f"(anchor {REPLAN_TARGET_MS:.0f} ms issue-6 target, ratio {figure / REPLAN_TARGET_MS:.3f})")
    wall_s, cpu_s = bench_two_days(data, 5 if args.quick else 20)
    for figure, clock in ((wall_s, "wall"), (cpu_s, "cpu")):
        print(f"BENCH hems_lp_2days_15min_{clock}: {figure * 1000:.1f} ms "
              f"(anchor {FLEXMEASURES_2DAY_S * 1000:.0f} ms FlexMeasures published, "
              f"ratio {figure / FLEXMEASURES_2DAY_S:.3f})")
    ours = {"wall": wall_s, "cpu": cpu_s}
    for solver in ("highspy", "appsi_highs"):
        measured = bench_flexmeasures(data, solver)
        if measured is None:
            print(f"# FlexMeasures ({solver}) not measured: set BIDICHARGE_FLEXMEASURES_PYTHON to a Python "
                  "that has flexmeasures installed")
            continue
        for figure, clock in zip(measured, ("wall", "cpu"), strict=True):
            print(f"BENCH hems_lp_2days_15min_{clock}_vs_flexmeasures_{solver}: {ours[clock] * 1000:.1f} ms "
                  f"(anchor {figure * 1000:.0f} ms FlexMeasures device_scheduler measured in this run, "
                  f"ratio {ours[clock] / figure:.3f})")
    year = household_year(days=60) if args.quick else data
    wall_s, cpu_s, cost_EUR, steps = bench_year(year)
    for figure, clock in ((wall_s, "wall"), (cpu_s, "cpu")):
        print(f"BENCH hems_lp_perfect_foresight_{steps // PER_DAY}days_15min_{clock}: {figure:.2f} s "
              f"(anchor {YEAR_TARGET_S:.0f} s issue-6 year-study target, ratio {figure / YEAR_TARGET_S:.4f})")
    print(f"# year LP: {steps} steps, energy cost {cost_EUR:.0f} EUR")

if __name__ == "__main__":
    main()
