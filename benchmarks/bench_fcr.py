"""Benchmarks 1-2 of issue 9, measured on the trace of the fcr_pool study (I-51, I-24).

* FCR full activation: time from a 200 mHz step (the prequalification double pulse, 15-minute
  pulses, study step 0.1 s) to the pool reporting ≥ 99 % of its contracted FCR on I-24, local
  path (OCPP 2.1 LocalFrequency: the EVSEs measure and apply the droop) and central path (the
  plants' frequency → TSO over I-51 → aggregator over I-24). Anchor: the rule's allowance, 30 s
  (SO GL Annex V); the issue's targets are < 1 s local and < 5 s central.
* FCR tracking RMSE over modelled frequency (3 h; a day with ``--full``), in % of the contracted
  FCR. Anchor, measured in the same run on the same reported frequency: a provider without any
  latency whose ramp is limited to the rule's 30-s full activation (``fcr_step``); on ordinary
  frequency noise that ramp limit hardly binds, so the anchor is close to ideal and the ratio
  shows what the path's latency (and the 1-s study step) costs.
* aFRR: median time from each TSO set-point (every 4-s LFC cycle that moved it) to the pool's
  reported delivery within 1 % of its capacity, anchor the rule's 5-minute full activation; and the
  tracking RMSE in % of capacity, anchor a latency-free provider ramp-limited to 5 minutes (``afrr_step``).

What the figures contain: the IEC 104 exchanges are real (paired cores), the study step (0.1 s
for the pulses, 1 s otherwise) quantises them, and the chain below the aggregator (technical
aggregator → CPO → OCPP 2.1 → EVSE → ISO 15118-20 → car) is the pool model's latency parameters
(central 2.0 s, local 0.3 s) and a 22 kW/s car ramp, until those components carry it.

Run: ``.venv/bin/python benchmarks/bench_fcr.py [--full] [--plot fcr_pool.png]`` (the plot: frequency,
requested and delivered pool power, for the double pulse and ten minutes of modelled frequency).
"""

from __future__ import annotations

import sys
from importlib import resources
from typing import Any

import numpy as np
import yaml

from bidicharge.components.comm_aggregator.fcr_metrics import (
    afrr_tracking,
    fcr_tracking_rmse_W,
    hold,
    series,
    step_responses,
)
from bidicharge.components.interfaces.i2x_markets import I24, I51
from bidicharge.control.frequency_reserve import (
    AfrrProviderParams,
    AfrrResponseState,
    FcrProviderParams,
    FcrResponseState,
    afrr_step,
    fcr_activation,
    fcr_step,
)
from bidicharge.runtime.scenario import parse_scenario
from bidicharge.runtime.study import StudyResult, run_study


def study(edit: Any) -> StudyResult:
    raw = yaml.safe_load((resources.files("bidicharge.scenarios") / "fcr_pool.yaml").read_text())
    edit(raw)
    return run_study(parse_scenario(raw, file="fcr_pool.yaml", base_dir="."))


RESULTS: dict[str, StudyResult] = {}  # kept for --plot


def double_pulse(path: str) -> float:
    def edit(raw: dict[str, Any]) -> None:
        raw["step"], raw["duration"] = "100ms", "160min"
        raw["trace"] = "full"
        raw["components"]["hv"]["config"]["frequency"] = {"mode": "double_pulse"}  # 15-min pulses and pauses
        raw["components"]["aggregator"]["config"]["fcr_path"] = path

    result = RESULTS[f"pulse_{path}"] = study(edit)
    steps = step_responses(result.trace.records())
    times = [s.time_to_full_s for s in steps]
    if len(times) != 4 or any(t is None for t in times):
        raise SystemExit(f"{path}: not every pulse reached full activation: {steps}")
    return max(t for t in times if t is not None)


def latency_free_fcr_rmse(records: list[Any], start: float, end: float) -> float:
    grid = np.arange(start, end, 1.0)
    f = hold(*series(records, "I-51", "M_ME_NC_1 spont", I51.FREQUENCY_HZ), grid, 50.0)
    contracted = hold(*series(records, "I-24", "M_ME_NC_1 spont", I24.FCR_CONTRACTED_W), grid)
    state, err = FcrResponseState(), []
    for fk, ck in zip(f, contracted, strict=True):
        if ck <= 0:
            err.append(0.0)
            continue
        state = fcr_step(state, float(fk), 1.0, FcrProviderParams(contracted_W=float(ck)))
        err.append(fcr_activation(float(fk)) * ck - state.upward_power_W)
    return float(np.sqrt(np.mean(np.square(err))))


def tracking(path: str, hours: float) -> tuple[float, float]:
    def edit(raw: dict[str, Any]) -> None:
        raw["duration"] = f"{hours}h"
        raw["components"]["aggregator"]["config"]["fcr_path"] = path

    result = RESULTS[f"day_{path}"] = study(edit)
    records = result.trace.records()
    start, end = result.times_s[0] + 60.0, result.times_s[-1]
    rmse, contracted = fcr_tracking_rmse_W(records, start, end)
    return 100 * rmse / contracted, 100 * latency_free_fcr_rmse(records, start, end) / contracted


def afrr(hours: float, capacity_W: float = 1e6) -> tuple[float, float, float]:
    def edit(raw: dict[str, Any]) -> None:
        raw["duration"] = f"{hours}h"
        raw["components"]["market"]["config"]["fcr_demand_MW"] = 0
        raw["components"]["tso"]["config"]["afrr_pool_W"] = capacity_W
        raw["components"]["aggregator"]["config"].update(fcr_path="central", afrr_capacity_W=capacity_W)

    result = study(edit)
    records = result.trace.records()
    start, end = result.times_s[0] + 60.0, result.times_s[-1]
    delay, rmse = afrr_tracking(records, start, end, tolerance_W=0.01 * capacity_W)
    st, sv = series(records, "I-24", "C_SE_NC_1 act", I24.AFRR_SETPOINT_W)
    grid = np.arange(start, end, 1.0)
    setpoint = hold(st, sv, grid)
    state, err = AfrrResponseState(), []
    params = AfrrProviderParams(positive_W=capacity_W, negative_W=capacity_W)
    for s in setpoint:
        state = afrr_step(state, float(s), 1.0, params)
        err.append(s - state.upward_power_W)
    return delay, 100 * rmse / capacity_W, 100 * float(np.sqrt(np.mean(np.square(err)))) / capacity_W


def plot(path: str) -> None:
    """Frequency, requested and delivered pool power: the double pulse (local path) and ten
    minutes of modelled frequency (central path)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 6), sharex="col", gridspec_kw={"height_ratios": [1, 2]})
    for col, (key, title, span_s) in enumerate((("pulse_local", "prequalification double pulse, local path", None),
                                                 ("day_central", "modelled frequency (10 min), central path", 600.0))):
        r = RESULTS[key]
        t = (r.times_s - r.times_s[0]) / 60.0
        keep = slice(None) if span_s is None else (r.times_s - r.times_s[0] >= 3600.0) & (r.times_s - r.times_s[0] < 3600.0 + span_s)
        axes[0][col].plot(t[keep], r.series["hv.frequency_Hz"][keep], lw=0.8)
        axes[0][col].set_ylabel("frequency (Hz)")
        axes[0][col].set_title(title)
        axes[1][col].plot(t[keep], r.series["aggregator.requested_upward_W"][keep] / 1e6, lw=1.2, label="requested (FCR)")
        axes[1][col].plot(t[keep], r.series["aggregator.delivered_upward_W"][keep] / 1e6, lw=0.8, label="delivered by 500 cars")
        axes[1][col].set_ylabel("upward power (MW)")
        axes[1][col].set_xlabel("minutes")
        axes[1][col].legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=90)  # ~130 KB: small enough to keep in the repository (docs/fcr_pool.png)


def plot_path() -> str | None:
    if "--plot" not in sys.argv:
        return None
    at = sys.argv.index("--plot") + 1
    if at >= len(sys.argv) or not sys.argv[at].endswith(".png"):
        raise SystemExit("--plot needs the PNG file to write, e.g. --plot docs/fcr_pool.png")
    return sys.argv[at]


def main() -> None:
    png = plot_path()  # checked before the minute of studies, not after
    full = "--full" in sys.argv
    hours = 24.0 if full else 3.0
    for path in ("local", "central"):
        t = double_pulse(path)
        print(f"BENCH fcr_{path}_full_activation: {t:.2f} s (anchor 30, ratio {t / 30:.3f})", flush=True)
    for path in ("local", "central"):
        ours, slowest = tracking(path, hours)
        print(f"BENCH fcr_{path}_tracking_rmse_{hours:g}h: {ours:.2f} %_of_contracted (anchor {slowest:.2f}, ratio {ours / slowest:.2f})",
              flush=True)
    delay, ours, slowest = afrr(hours if full else 2.0)
    print(f"BENCH afrr_response: {delay:.2f} s (anchor 300, ratio {delay / 300:.4f})", flush=True)
    print(f"BENCH afrr_tracking_rmse: {ours:.2f} %_of_capacity (anchor {slowest:.2f}, ratio {ours / slowest:.2f})", flush=True)
    if png is not None:
        plot(png)
        print(f"wrote {png}", flush=True)


if __name__ == "__main__":
    main()
