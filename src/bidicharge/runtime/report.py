"""Study outputs: Parquet time series, trace (JSON lines + Parquet), KPIs (JSON) and an HTML
report with plots (power flows, SoC, prices), written into one folder."""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC
from pathlib import Path
from typing import Any

import numpy as np

from bidicharge.runtime.kpis import KPI_LABELS, format_kpi
from bidicharge.runtime.study import StudyResult

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>bidicharge — {{ name }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; } td, th { padding: .25rem .8rem; border-bottom: 1px solid #ddd; text-align: left; }
td.v { text-align: right; font-variant-numeric: tabular-nums; } img { max-width: 100%; }
.muted { color: #777; }
</style></head><body>
<h1>{{ name }}</h1>
<p>{{ description }}</p>
<p class="muted">{{ span }} · step {{ step }} · seed {{ seed }} · {{ steps }} steps in {{ wall }} s wall time</p>
<h2>Key figures</h2>
<table>{% for label, value in kpis %}<tr><td>{{ label }}</td><td class="v">{{ value }}</td></tr>{% endfor %}</table>
{% if departures %}<h2>Departures</h2><table><tr><th>time (UTC)</th><th>EV</th><th>SoC</th><th>target</th><th>met</th></tr>
{% for d in departures %}<tr><td>{{ d.time }}</td><td>{{ d.ev }}</td><td class="v">{{ d.soc }}</td><td class="v">{{ d.target }}</td><td>{{ "yes" if d.met else "NO" }}</td></tr>{% endfor %}</table>{% endif %}
{% for title, png in plots %}<h2>{{ title }}</h2><img alt="{{ title }}" src="data:image/png;base64,{{ png }}">{% endfor %}
<h2>Messages by interface</h2>
<table><tr><th>interface</th><th>protocol</th><th>message</th><th>count</th></tr>
{% for row in messages %}<tr><td>{{ row[0] }}</td><td>{{ row[1] }}</td><td>{{ row[2] }}</td><td class="v">{{ row[3] }}</td></tr>{% endfor %}</table>
</body></html>
"""


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _plots(result: StudyResult) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = result.frame()
    t = frame.index.tz_convert(None)
    plots: list[tuple[str, str]] = []
    flows = [
        (result.of_kind("pv_system"), "power_W", "PV", -1.0),
        (result.of_kind("household_load"), "power_W", "household", 1.0),
        (result.of_kind("heat_pump"), "power_W", "heat pump", 1.0),
        (result.of_kind("evse"), "grid_power_W", "EV (wallbox)", 1.0),
        (result.of_kind("home_battery"), "power_W", "home battery", 1.0),
        (result.of_kind("gcp"), "grid_power_W", "grid", 1.0),
    ]
    fig, ax = plt.subplots(figsize=(12, 4))
    for names, col, label, sign in flows:
        for n in names:
            ax.plot(t, sign * frame[f"{n}.{col}"] / 1000.0, lw=0.8, label=f"{label} ({n})")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_ylabel("kW  (+ consumption / charging / import)")
    ax.legend(loc="upper right", fontsize=8, ncols=3)
    plots.append(("Power flows", _png(fig)))
    plt.close(fig)
    socs = [(n, "soc") for n in result.of_kind("bev") + result.of_kind("home_battery")]
    if socs:
        fig, ax = plt.subplots(figsize=(12, 3))
        for n, col in socs:
            ax.plot(t, 100 * frame[f"{n}.{col}"], lw=1, label=n)
        ax.set_ylabel("SoC %")
        ax.set_ylim(0, 100)
        ax.legend(loc="upper right", fontsize=8)
        plots.append(("State of charge", _png(fig)))
        plt.close(fig)
    tariffs = result.of_kind("energy_provider_backend")
    if tariffs:
        fig, ax = plt.subplots(figsize=(12, 2.5))
        ax.step(t, frame[f"{tariffs[0]}.import_EUR_per_kWh"], where="post", lw=1, label="import (dynamic)")
        ax.step(t, frame[f"{tariffs[0]}.feed_in_EUR_per_kWh"], where="post", lw=1, label="feed-in")
        ax.set_ylabel("EUR/kWh")
        ax.legend(loc="upper right", fontsize=8)
        plots.append(("Prices", _png(fig)))
        plt.close(fig)
    return plots


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


def write_outputs(result: StudyResult, out_dir: Path, *, plots: bool = True) -> dict[str, Path]:
    from datetime import datetime

    import jinja2

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "timeseries": out_dir / "timeseries.parquet",
        "trace_jsonl": out_dir / "trace.jsonl",
        "trace_parquet": out_dir / "trace.parquet",
        "kpis": out_dir / "kpis.json",
        "report": out_dir / "report.html",
    }
    result.frame().to_parquet(paths["timeseries"])
    result.trace.write_jsonl(paths["trace_jsonl"])
    result.trace.write_parquet(paths["trace_parquet"])
    paths["kpis"].write_text(json.dumps(_jsonable(result.kpis), indent=2, default=str), encoding="utf-8")
    sc = result.scenario

    def iso(t: float) -> str:
        return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M")

    kpi_rows = [(KPI_LABELS[k][0], format_kpi(k, v, result.kpis)) for k, v in result.kpis.items() if k in KPI_LABELS]
    departures = []
    for name in result.of_kind("bev"):
        for d in result.reports[name]["departures"]:
            departures.append(
                {"time": iso(d["depart_s"]), "ev": name, "soc": f"{100 * d['soc']:.1f} %", "target": f"{100 * d['target_soc']:.0f} %", "met": d["met"]}
            )
    counts: dict[tuple[str, str, str], int] = {}
    for r in result.trace:
        key = (r.interface, r.protocol, r.message)
        counts[key] = counts.get(key, 0) + 1
    html = jinja2.Environment(autoescape=True).from_string(_TEMPLATE).render(
        name=sc.name,
        description=sc.description,
        span=f"{iso(sc.start_s)} – {iso(sc.end_s)} UTC",
        step=f"{sc.step_s:g} s",
        seed=sc.seed,
        steps=sc.steps,
        wall=f"{result.wall_time_s:.2f}",
        kpis=kpi_rows,
        departures=departures,
        plots=_plots(result) if plots else [],
        messages=sorted((k[0], k[1], k[2], v) for k, v in counts.items()),
    )
    paths["report"].write_text(html, encoding="utf-8")
    return paths
