"""The home KPI study (issue 6): the same household under different HEMS strategies.

(a) `none` — no control, the car charges at full power on arrival;
(b) `evcc` — evcc's PV-surplus mode, the peer baseline (charge only);
(c) `mpc` — our optimiser with realistic forecasts (noisy PV and load, published prices only);
(d) `lp` — one perfect-foresight linear program over the whole span (the limit), and
(d') `perfect` — the optimiser with perfect foresight (exact PV, load, trips and all prices),
    re-planned every 15 minutes over 48 h and run through the physics;
plus `rules`, the first rule-based HEMS. Each runs in its own process (2 at a time here).

The household's HEMS is wired over EEBUS in `home_v2h` (I-03 to the wallbox, I-47 MGCP to the
meter); these year-long strategy comparisons rewire it to the in-memory contracts of the same
ports (`in_memory_wiring`): the strategies see the same data (the week costs the same either
way, `tests/scenarios/test_eebus_home.py`) and a year runs several times faster.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bidicharge.runtime.scenario import Scenario

IN_MEMORY_PORTS: dict[tuple[str, str], str] = {("evse", "eebus"): "energy_manager", ("mmu", "eebus"): "han"}


def in_memory_wiring(sc: Scenario) -> Scenario:
    """The scenario with its HEMS's EEBUS links (wallbox I-03, meter I-47) on the in-memory ports."""
    kinds = {name: spec.kind for name, spec in sc.components.items()}
    wires = tuple(
        replace(w, peer_port=IN_MEMORY_PORTS.get((kinds[w.peer], w.peer_port), w.peer_port))
        if kinds[w.component] == "hems" else w
        for w in sc.wires)
    return replace(sc, wires=wires)

STRATEGIES: dict[str, tuple[str, dict[str, Any]]] = {
    "none": ("(a) no control", {"strategy": "none"}),
    "evcc": ("(b) evcc-style PV surplus", {"strategy": "evcc"}),
    "rules": ("first rule-based HEMS", {"strategy": "rules"}),
    "mpc": ("(c) MPC, realistic forecasts", {"strategy": "mpc", "forecast": "noisy"}),
    "perfect": ("(d') MPC, perfect foresight, 48 h", {"strategy": "mpc", "forecast": "perfect", "horizon_h": 48}),
    "perfect_week": ("(d'') MPC, perfect foresight, 7 days", {"strategy": "mpc", "forecast": "perfect", "horizon_h": 168}),
}


@dataclass(frozen=True, slots=True)
class StudyRow:
    key: str
    label: str
    kpis: dict[str, Any]
    wall_s: float
    plan_median_s: float | None
    plan_p99_s: float | None
    series: dict[str, Any]


def _run_one(args: tuple[str, str, dict[str, Any], dict[str, Any]]) -> StudyRow:
    from bidicharge.runtime.kpis import home_kpis
    from bidicharge.runtime.scenario import load_scenario
    from bidicharge.runtime.study import run_study

    path, key, overrides, update = args
    sc = in_memory_wiring(load_scenario(path, overrides=overrides))
    hems_name = next(n for n, c in sc.components.items() if c.kind == "hems")
    sc = sc.with_config(hems_name, **update, control_period_s=sc.step_s)
    result = run_study(sc)
    kpis = home_kpis(result)
    rep = result.reports[hems_name]
    frame = result.frame()
    daily = frame.resample("1D").mean()
    keep = {c: daily[c].to_numpy().tolist() for c in daily.columns if c.endswith(("ev.soc", "gcp.grid_power_W"))}
    keep["days"] = [t.isoformat() for t in daily.index]
    return StudyRow(key=key, label=STRATEGIES[key][0], kpis=kpis, wall_s=result.wall_time_s,
                    plan_median_s=rep.get("plan_median_s"), plan_p99_s=rep.get("plan_p99_s"), series=keep)


def whole_span_lp(path: str, *, overrides: dict[str, Any]) -> StudyRow:
    """(d) the perfect-foresight LP over the whole span: one linear program with the realised
    PV, load, prices and trips (taken from an uncontrolled run of the same household), solved
    once — the limit no forecast can beat. Its cost is the LP's own energy cost; it is not
    replayed through the physics (taper, standby and the 6 A minimum are not in the LP)."""
    import time as _time

    import numpy as np

    from bidicharge.control import hems_mpc
    from bidicharge.runtime.scenario import load_scenario
    from bidicharge.runtime.study import run_study

    sc = in_memory_wiring(load_scenario(path, overrides=overrides))
    hems_name = next(n for n, c in sc.components.items() if c.kind == "hems")
    hems_cfg: Any = sc.components[hems_name].config
    sc = sc.with_config(hems_name, strategy="none")
    result = run_study(sc)  # the realised exogenous series: PV, load, prices, trips
    step = 900.0
    k = max(1, round(step / sc.step_s))
    n = len(result.times_s) // k

    def per_step(values: Any) -> Any:
        return np.asarray(values[: n * k], dtype=np.float64).reshape(n, k).mean(axis=1)

    s = result.series
    kinds = result.kinds
    pv = sum((per_step(s[f"{c}.available_W"]) for c, t in kinds.items() if t == "pv_system"), np.zeros(n))
    load = sum((per_step(s[f"{c}.power_W"]) for c, t in kinds.items() if t in ("household_load", "heat_pump")), np.zeros(n))
    tariff = next(c for c, t in kinds.items() if t == "energy_provider_backend")
    price = per_step(s[f"{tariff}.import_EUR_per_kWh"]) * 1000.0
    feed_in = per_step(s[f"{tariff}.feed_in_EUR_per_kWh"]) * 1000.0
    ev_name = next(c for c, t in kinds.items() if t == "bev")
    evse: Any = next(sc.components[c].config for c, t in kinds.items() if t == "evse")
    ev_cfg: Any = sc.components[ev_name].config
    times = sc.start_s + step * np.arange(n)
    plugged = np.ones(n, dtype=bool)
    trip = np.zeros(n)
    departures = []
    for dep, arr, energy in result.reports[ev_name]["trips"]:
        plugged &= ~((times + step > dep) & (times < arr))
        i = int((dep - sc.start_s) // step)
        if 0 <= i < n:
            trip[i] += energy
            departures.append(hems_mpc.Departure(step=i, target_soc=ev_cfg.departure_soc))
    eta = evse.efficiency
    bat_name = next((c for c, t in kinds.items() if t == "home_battery"), None)
    battery = None
    if bat_name is not None:
        b: Any = sc.components[bat_name].config
        battery = hems_mpc.BatteryProblem(
            capacity_Wh=b.capacity_kWh * 1000, soc_initial=b.initial_soc, max_charge_power_W=b.max_charge_W,
            max_discharge_power_W=b.max_discharge_W, charge_efficiency=b.efficiency, discharge_efficiency=b.efficiency,
            soc_min=b.min_soc, wear_cost_EUR_per_kWh=hems_cfg.wear_EUR_per_kWh / 2,
        )
    problem = hems_mpc.HemsProblem(
        step_s=step, pv_W=pv, load_W=load, import_price_EUR_per_MWh=price, export_price_EUR_per_MWh=feed_in,
        ev=hems_mpc.EvProblem(
            capacity_Wh=ev_cfg.capacity_kWh * 1000, soc_initial=ev_cfg.initial_soc, plugged=plugged,
            max_charge_power_W=min(evse.max_power_W, ev_cfg.max_charge_W) / eta,
            max_discharge_power_W=min(evse.max_power_W, ev_cfg.max_discharge_W) * eta,
            charge_efficiency=ev_cfg.charge_efficiency * eta, discharge_efficiency=ev_cfg.discharge_efficiency * eta,
            reserve_soc=max(hems_cfg.reserve_soc, ev_cfg.min_soc), trip_energy_Wh=trip, departures=tuple(departures),
            v2h_allowed=hems_cfg.v2h, v2g_allowed=hems_cfg.v2g and hems_cfg.v2h,
            wear_cost_EUR_per_kWh=hems_cfg.wear_EUR_per_kWh,
        ),
        battery=battery,
    )
    t0 = _time.perf_counter()
    plan = hems_mpc.plan(problem)
    wall = _time.perf_counter() - t0
    kpis = {
        "energy_cost_EUR": plan.energy_cost_EUR,
        "ev_discharged_kWh": float(plan.ev_discharge_W.sum() * step / 3.6e6),
        "departure_misses": [] if plan.departure_shortfall_Wh <= 1.0 else [plan.departure_shortfall_Wh],
        "lp_status": plan.status.value,
    }
    imp = float(plan.grid_import_W.sum() * step / 3.6e6)
    cons = float((load + plan.ev_charge_W).sum() * step / 3.6e6)
    kpis["self_sufficiency"] = 1 - imp / cons if cons > 0 else None
    pv_kWh = float(pv.sum() * step / 3.6e6)
    kpis["self_consumption"] = (pv_kWh - float(plan.grid_export_W.sum() * step / 3.6e6)) / pv_kWh if pv_kWh else None
    return StudyRow(key="lp", label="(d) perfect-foresight LP, whole span (limit)", kpis=kpis, wall_s=wall,
                    plan_median_s=None, plan_p99_s=None, series={})


def compare(path: str, *, overrides: dict[str, Any], keys: list[str], workers: int = 2) -> list[StudyRow]:
    jobs = [(path, k, overrides, STRATEGIES[k][1]) for k in keys]
    if workers <= 1:
        return [_run_one(j) for j in jobs]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_run_one, jobs))


COLUMNS = (
    ("energy_cost_EUR", "cost EUR", "{:.2f}"),
    ("self_sufficiency", "self-sufficiency", "{:.1%}"),
    ("self_consumption", "self-consumption", "{:.1%}"),
    ("ev_discharged_kWh", "EV discharged kWh", "{:.1f}"),
    ("departure_misses", "departure misses", "{}"),
    ("ev_equivalent_full_cycles", "EV EFC", "{:.2f}"),
    ("battery_equivalent_full_cycles", "battery EFC", "{:.1f}"),
)


def cell(row: StudyRow, key: str, fmt: str) -> str:
    value = row.kpis.get(key)
    if key == "departure_misses":
        return str(len(value or []))
    return "–" if value is None else fmt.format(value)


def write_report(rows: list[StudyRow], out: Path, title: str) -> Path:
    import base64
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    labels = [r.label for r in rows]
    axes[0].barh(labels, [r.kpis.get("energy_cost_EUR", 0) for r in rows], color="#3b7dd8")
    axes[0].set_xlabel("energy cost EUR")
    axes[1].barh(labels, [100 * (r.kpis.get("self_sufficiency") or 0) for r in rows], color="#2da44e")
    axes[1].set_xlabel("self-sufficiency %")
    axes[1].set_yticklabels([])
    axes[2].barh(labels, [r.kpis.get("ev_discharged_kWh", 0) for r in rows], color="#bf8700")
    axes[2].set_xlabel("EV discharged kWh")
    axes[2].set_yticklabels([])
    fig.suptitle(title)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    fig.savefig(out / "comparison.png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    png = base64.b64encode(buf.getvalue()).decode()
    head = "".join(f"<th>{h}</th>" for _, h, _ in COLUMNS)
    body = "".join(
        f"<tr><td>{r.label}</td>" + "".join(f"<td>{cell(r, k, f)}</td>" for k, _, f in COLUMNS) + "</tr>" for r in rows
    )
    html = (f"<!doctype html><meta charset='utf-8'><title>{title}</title><h1>{title}</h1>"
            f"<table border=1 cellpadding=4><tr><th>strategy</th>{head}</tr>{body}</table>"
            f"<img src='data:image/png;base64,{png}'>")
    path = out / "home_study.html"
    path.write_text(html, encoding="utf-8")
    return path
