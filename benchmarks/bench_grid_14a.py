"""Benchmark (issue 7): one day of the Kerber Dorfnetz at 1-minute steps, with and without §14a.

The day runs from 12:00 to 12:00 (so the evening's charging and its overnight catch-up are one
day). 57 homes draw a BDEW H0 winter-weekday profile (demandlib, 4500 kWh/a, each home scaled
and noisy); 60 % of them (34) plug in an 11 kW car around 18:00 (normal, σ 25 min) needing
15–35 kWh, leaving at 07:00. Seeded: every run is the same day.

* without §14a: the cars charge at 11 kW; solved in one batch by the numpy fast path, and —
  as the anchor — by pandapower's ``run_timeseries`` (ConstControl + DFData + OutputWriter, the
  documented way to run a day); the peak loadings must agree. A plain ``runpp`` per minute is
  timed on ``anchor_steps`` minutes and extrapolated (printed for information);
* with §14a: every minute the DSO grid controller (``control.grid_controller.decide``) sees
  the TAF 10 powers, dims the fewest cars (never below 4.2 kW), releases with hysteresis; its
  commands take effect the next minute; the cars follow their limits.

Printed: wall time of the controlled day against pandapower's uncontrolled day, the transformer's peak
loading with §14a against without, the energy not served (demand above the limit while dimmed)
against the evening's EV energy, and minutes above 100 %.

Run: ``.venv/bin/python benchmarks/bench_grid_14a.py [runpp_steps] [--plot PATH.png]`` (default 60
``runpp`` minutes; ``--plot`` draws the transformer loading with and without §14a).
"""

from __future__ import annotations

import math
import sys
import time
import warnings

import numpy as np

from bidicharge.control.grid_controller import (
    ControllableUnit,
    ControllerConfig,
    ControllerState,
    Observation,
    UnitId,
    decide,
)
from bidicharge.control.section14a import ControllableDevice, DeviceId, DeviceKind
from bidicharge.control.section14a_compensation import DimmingStep, dimming_log
from bidicharge.physics.lv_grid import HouseholdId, LvGrid, build_lv_grid, solve, solve_fast_batch

STEPS = 1440
DT_S = 60.0
START_S = 12 * 3600.0  # 12:00
EV_W = 11_000.0


def household_base_W(n_homes: int, rng: np.random.Generator) -> np.ndarray:
    """(STEPS, homes) base load from 12:00 on a January weekday, BDEW H0, 4500 kWh/a."""
    import demandlib.bdew as bdew

    profile = bdew.ElecSlp(2025).get_scaled_power_profiles({"h0": 4500})["h0"]
    day = profile.loc["2025-01-15 12:00":"2025-01-16 11:45"].to_numpy(dtype=float) * 1000.0  # kW -> W
    minute = np.repeat(day, 15)[:STEPS]
    scale = rng.lognormal(0.0, 0.35, n_homes)
    noise = np.clip(rng.normal(1.0, 0.3, (STEPS, n_homes)), 0.2, None)
    return np.asarray(minute[:, None] * scale[None, :] * noise)


def main() -> int:
    warnings.filterwarnings("ignore")  # pandapower: "numba cannot be imported"
    args = sys.argv[1:]
    plot_path = None
    if "--plot" in args:
        at = args.index("--plot")
        plot_path = args[at + 1]
        del args[at : at + 2]
    anchor_steps = int(args[0]) if args else 60
    rng = np.random.default_rng(14)
    t0 = time.perf_counter()
    grid = build_lv_grid()
    build_s = time.perf_counter() - t0
    homes = list(grid.household_ids)
    n = len(homes)
    base = household_base_W(n, rng)
    ev_idx = sorted(rng.choice(n, int(round(0.6 * n)), replace=False).tolist())
    arrive = np.clip(rng.normal(6 * 60, 25, len(ev_idx)), 4 * 60, 9 * 60).astype(int)  # minutes after 12:00
    depart = 19 * 60  # 07:00
    need_Wh = rng.uniform(15_000, 35_000, len(ev_idx))
    units = [
        ControllableUnit(
            unit_id=UnitId(f"ev-{homes[i]}"),
            household_id=HouseholdId(homes[i]),
            devices=(
                ControllableDevice(
                    device_id=DeviceId(f"wb-{homes[i]}"), kind=DeviceKind.CHARGE_POINT, rated_power_W=EV_W
                ),
            ),
        )
        for i in ev_idx
    ]

    def ev_demand(k: int, remaining: np.ndarray) -> np.ndarray:
        plugged = (k >= arrive) & (k < depart)
        return np.where(plugged, np.minimum(EV_W, remaining * 3600.0 / DT_S), 0.0)

    # --- without §14a: every car at full power
    remaining = need_Wh.copy()
    p_free = base.copy()
    for k in range(STEPS):
        d = ev_demand(k, remaining)
        remaining -= d * DT_S / 3600.0
        p_free[k, ev_idx] += d
    ev_energy_kWh = float((need_Wh - remaining).sum()) / 1000.0
    t0 = time.perf_counter()
    free = solve_fast_batch(grid, p_free)
    fast_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ts_peak = pandapower_day(grid, p_free)
    timeseries_s = time.perf_counter() - t0
    assert abs(ts_peak - free.transformer_loading_pct.max()) < 1e-3, "fast path disagrees with run_timeseries"
    t0 = time.perf_counter()
    for k in range(anchor_steps):
        solve(grid, dict(zip(grid.household_ids, p_free[k], strict=True)))
    runpp_s = (time.perf_counter() - t0) * STEPS / max(anchor_steps, 1)

    # --- with §14a: the controller every minute, its limits in force from the next minute
    config = ControllerConfig()
    state = ControllerState()
    limits: dict[UnitId, float] = {}
    remaining = need_Wh.copy()
    loading = np.empty(STEPS)
    vmin = np.empty(STEPS)
    log_steps: list[DimmingStep] = []
    household_of = {u.unit_id: u.household_id for u in units}
    n_commands = 0
    lowest_limit = math.inf
    unresolved_minutes = 0
    t0 = time.perf_counter()
    for k in range(STEPS):
        demand = ev_demand(k, remaining)
        actual = np.array([min(demand[j], limits.get(u.unit_id, math.inf)) for j, u in enumerate(units)])
        remaining -= actual * DT_S / 3600.0
        p = base[k].copy()
        p[ev_idx] += actual
        now_s = START_S + k * DT_S
        log_steps.append(
            DimmingStep(
                now_s=now_s,
                dt_s=DT_S,
                limit_W=dict(limits),
                demand_W={u.unit_id: float(demand[j]) for j, u in enumerate(units)},
                household_of=household_of,
            )
        )
        obs = Observation(
            household_power_W=dict(zip(grid.household_ids, p.tolist(), strict=True)),
            unit_power_W={u.unit_id: float(actual[j]) for j, u in enumerate(units)},
        )
        decision = decide(grid, units, config, state, obs, now_s)
        loading[k] = decision.measured.transformer_loading_pct
        vmin[k] = decision.measured.vmin_pu
        n_commands += len(decision.commands)
        lowest_limit = min([lowest_limit, *(c.limit_W for c in decision.commands)])
        unresolved_minutes += bool(decision.unresolved)
        state = decision.state
        limits = {uid: a.limit_W for uid, a in state.active.items()}
    controlled_s = time.perf_counter() - t0
    records = dimming_log(log_steps)
    ens_kWh = sum(r.energy_not_served_Wh for r in records) / 1000.0
    unmet_free_kWh = 0.0
    unmet_ctrl_kWh = float(remaining.sum()) / 1000.0

    peak_free = float(free.transformer_loading_pct.max())
    peak_ctrl = float(loading.max())
    over_free = int((free.transformer_loading_pct > 100).sum())
    over_ctrl = int((loading > 100).sum())
    print(f"grid: Kerber Dorfnetz, {n} homes, {len(units)} cars (60 %), build {build_s:.1f} s")
    print(
        f"without §14a: peak {peak_free:.1f} %, Vmin {free.bus_voltage_pu.min():.3f} pu, {over_free} min > 100 %"
    )
    print(
        f"with §14a:    peak {peak_ctrl:.1f} %, Vmin {vmin.min():.3f} pu, {over_ctrl} min > 100 %, "
        f"{n_commands} commands (lowest limit {lowest_limit:.0f} W), {len(records)} dimming events, "
        f"{unresolved_minutes} min unresolved"
    )
    print(
        f"EV energy {ev_energy_kWh:.0f} kWh; not served while dimmed {ens_kWh:.1f} kWh (caught up later); "
        f"unmet at 07:00: without {unmet_free_kWh:.1f} kWh, with {unmet_ctrl_kWh:.1f} kWh"
    )
    print(
        f"uncontrolled day: fast path {fast_s:.2f} s, pandapower run_timeseries {timeseries_s:.1f} s, "
        f"runpp per minute {runpp_s:.0f} s (extrapolated from {anchor_steps} min)"
    )
    print(
        f"BENCH grid14a_day_controlled_wall: {controlled_s:.1f} s (anchor {timeseries_s:.1f} s, ratio {timeseries_s / controlled_s:.1f})"
    )
    print(
        f"BENCH grid14a_day_uncontrolled_fast_wall: {fast_s:.3f} s (anchor {timeseries_s:.1f} s, ratio {timeseries_s / fast_s:.0f})"
    )
    print(
        f"BENCH grid14a_peak_transformer_loading: {peak_ctrl:.1f} % (anchor {peak_free:.1f} %, ratio {peak_ctrl / peak_free:.2f})"
    )
    print(
        f"BENCH grid14a_minutes_over_100pct: {over_ctrl} min (anchor {over_free} min, ratio {over_ctrl / max(over_free, 1):.2f})"
    )
    print(
        f"BENCH grid14a_energy_not_served: {ens_kWh:.1f} kWh (anchor {ev_energy_kWh:.0f} kWh, ratio {ens_kWh / ev_energy_kWh:.3f})"
    )
    if plot_path is not None:
        plot(plot_path, free.transformer_loading_pct, loading)
    return 0


def pandapower_day(grid: LvGrid, powers_W: np.ndarray) -> float:
    """The uncontrolled day with pandapower's time-series loop; returns the transformer's peak loading."""
    import copy

    import pandas as pd
    from pandapower.control import ConstControl
    from pandapower.timeseries import DFData, OutputWriter, run_timeseries

    net = copy.deepcopy(grid.net)
    loads = net.load.index
    data = DFData(pd.DataFrame(powers_W / 1e6, columns=loads))
    ConstControl(
        net, element="load", variable="p_mw", element_index=loads, data_source=data, profile_name=loads
    )
    writer = OutputWriter(
        net, time_steps=range(STEPS), output_path=None, log_variables=[("res_trafo", "loading_percent")]
    )
    run_timeseries(net, time_steps=range(STEPS), numba=False, verbose=False)
    return float(writer.output["res_trafo.loading_percent"].to_numpy().max())


def plot(path: str, without: np.ndarray, with_14a: np.ndarray) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hours = 12 + np.arange(STEPS) * DT_S / 3600.0
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.plot(hours, without, label="without §14a", color="tab:red", lw=1)
    ax.plot(hours, with_14a, label="with §14a dimming", color="tab:blue", lw=1)
    ax.axhline(100, color="k", ls="--", lw=0.8)
    ax.set_xticks(range(12, 37, 3), [f"{h % 24:02d}:00" for h in range(12, 37, 3)])
    ax.set_ylabel("transformer loading (%)")
    ax.set_title("Kerber Dorfnetz, 60 % of homes charge 11 kW cars in the evening")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    raise SystemExit(main())
