"""The home KPI study (issue 6): the same household under different HEMS strategies.

(a) `none` — no control, the car charges at full power on arrival;
(b) `evcc` — evcc's PV-surplus mode, the peer baseline (charge only);
(c) `mpc` — our optimiser with realistic forecasts (noisy PV and load, published prices only);
(d) `perfect` — the optimiser with perfect foresight (exact PV, load, trips and all prices),
    re-planned every 15 minutes over 48 h: the limit of what forecasting can give;
plus `rules`, the first rule-based HEMS. Each runs in its own process (2 at a time here).
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STRATEGIES: dict[str, tuple[str, dict[str, Any]]] = {
    "none": ("(a) no control", {"strategy": "none"}),
    "evcc": ("(b) evcc-style PV surplus", {"strategy": "evcc"}),
    "rules": ("first rule-based HEMS", {"strategy": "rules"}),
    "mpc": ("(c) MPC, realistic forecasts", {"strategy": "mpc", "forecast": "noisy"}),
    "perfect": ("(d) MPC, perfect foresight", {"strategy": "mpc", "forecast": "perfect", "horizon_h": 48}),
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
    sc = load_scenario(path, overrides=overrides)
    hems_name = next(n for n, c in sc.components.items() if c.kind == "hems")
    spec = sc.components[hems_name]
    cfg = spec.config.model_copy(update={**update, "control_period_s": sc.step_s})
    sc.components[hems_name] = type(spec)(name=spec.name, kind=spec.kind, config=cfg)
    result = run_study(sc)
    kpis = home_kpis(result)
    rep = result.reports[hems_name]
    frame = result.frame()
    daily = frame.resample("1D").mean()
    keep = {c: daily[c].to_numpy().tolist() for c in daily.columns if c.endswith(("ev.soc", "gcp.grid_power_W"))}
    keep["days"] = [t.isoformat() for t in daily.index]
    return StudyRow(key=key, label=STRATEGIES[key][0], kpis=kpis, wall_s=result.wall_time_s,
                    plan_median_s=rep.get("plan_median_s"), plan_p99_s=rep.get("plan_p99_s"), series=keep)


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
