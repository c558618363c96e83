"""Each scenario gets the key figures of its parts: no home figures for a grid-frequency study,
fleet figures for a fleet, market figures where the frequency and a pool are."""

from __future__ import annotations

import numpy as np

from bidicharge.cli import resolve_scenario
from bidicharge.runtime.kpis import format_kpi, study_kpis
from bidicharge.runtime.scenario import load_scenario
from bidicharge.runtime.study import run_study


def test_fcr_pool_has_market_figures_and_no_home_figures() -> None:
    sc = load_scenario(resolve_scenario("fcr_pool"), overrides={"duration": "10min"})
    result = run_study(sc)
    k = study_kpis(result)
    assert "self_sufficiency" not in k and "grid_import_kWh" not in k
    f = result.series[f"{result.of_kind('hv_grid')[0]}.frequency_Hz"]
    assert k["frequency_min_Hz"] == float(np.min(f)) and k["frequency_max_Hz"] == float(np.max(f))
    assert 49.0 < k["frequency_min_Hz"] <= 50.0 <= k["frequency_max_Hz"] < 51.0
    assert k["pool_cars"] == 500
    assert 0 <= k["pool_cars_at_target"] <= 500
    assert format_kpi("pool_cars_at_target", k["pool_cars_at_target"], k).endswith("/ 500")
    assert list(k)[-1] == "trace_records"


def test_fleet_figures_follow_the_aggregator_series() -> None:
    sc = load_scenario(resolve_scenario("fleet_v2g"), overrides={"duration": "1h"})
    result = run_study(sc)
    k = study_kpis(result)
    agg = result.of_kind("tech_aggregator")[0]
    sold = result.series[f"{agg}.sold_W"]
    assert k["fleet_cars"] == result.reports[agg]["cars"] > 0
    assert abs(k["fleet_sold_kWh"] - float(np.sum(sold)) * sc.step_s / 3.6e6) < 1e-9
    assert k["fleet_tracking_rmse_kW"] >= 0
    assert "self_sufficiency" not in k
