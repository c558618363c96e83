"""Plant operator and power plants: what the operator offers and accepts on I-48, how it runs
its plants, and the pieces the FCR figures are read with.

    trading ──I-48──► plant_op ──runs──► gas ──I-50──► hv
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from bidicharge.components.comm_aggregator.fcr_metrics import hold
from bidicharge.components.interfaces.i2x_markets import AvailabilityRequest, PlantSchedules
from bidicharge.components.tso_control_center.telecontrol import summary_values
from bidicharge.runtime.assembly import assemble
from bidicharge.runtime.scenario import parse_scenario
from bidicharge.runtime.trace import TraceRecorder

START = "2026-01-14T00:00:00+01:00"


def _components(plants: list[str]) -> dict[str, Any]:
    raw = {"start": START, "duration": "1h", "step": "1s", "components": {
        "hv": {"component": "hv_grid", "config": {"system_base_MW": 1000, "load_scale": 0.07, "noise_std_MW": 0}},
        "gas": {"component": "power_plant", "connect": {"grid": "hv.plants"},
                "config": {"capacity_MW": 800, "marginal_cost_EUR_per_MWh": 60, "ramp_MW_per_min": 60,
                           "min_stable_MW": 200, "primary_reserve_MW": 50, "initial_MW": 500}},
        "plant_op": {"component": "plant_operator", "config": {"plants": plants}},
    }}
    return assemble(parse_scenario(raw, file="plants.yaml", base_dir="."), TraceRecorder())


def test_the_operator_offers_what_its_plants_can_sell_and_checks_schedules() -> None:
    comps = _components(["gas"])
    op = comps["plant_op"]
    day = comps["hv"].context.start_s
    offer = op.handle("trading", AvailabilityRequest(delivery_day_start_s=day), None).plants[0]
    assert (offer.plant_id, offer.available_MW, offer.must_run_MW, offer.marginal_cost_EUR_per_MWh) == ("gas", 750, 250, 60)
    unknown = op.handle("trading", PlantSchedules(delivery_day_start_s=day, step_s=900, generation_MW={"coal": (1.0,) * 96}), None)
    assert not unknown.accepted and "coal" in unknown.detail
    short = op.handle("trading", PlantSchedules(delivery_day_start_s=day, step_s=900, generation_MW={"gas": (1.0,) * 95}), None)
    assert not short.accepted and "96" in short.detail
    ok = op.handle("trading", PlantSchedules(delivery_day_start_s=day, step_s=900,
                                             generation_MW={"gas": tuple([600.0] * 4 + [300.0] * 92)}), None)
    assert ok.accepted


def test_the_plant_ramps_to_its_schedule_within_its_ramp_limit() -> None:
    comps = _components(["gas"])
    op, gas, hv = comps["plant_op"], comps["gas"], comps["hv"]
    t0 = hv.context.start_s
    op.handle("trading", PlantSchedules(delivery_day_start_s=t0, step_s=900, generation_MW={"gas": (620.0,) * 96}), None)
    for c in (op, gas, hv):
        c.start(t0)
    setpoints = []
    for k in range(180):
        for c in (op, gas, hv):
            c.step(t0 + k, 1.0)
        setpoints.append(gas.state.setpoint_MW)
    assert np.max(np.diff(setpoints)) <= 60 / 60 + 1e-9  # 60 MW/min
    assert setpoints[-1] == pytest.approx(620.0)


def test_an_operator_naming_a_plant_that_does_not_exist_is_refused() -> None:
    comps = _components(["gas", "steam"])
    with pytest.raises(ValueError, match="plant_operator 'plant_op': no power_plant named 'steam'"):
        comps["plant_op"].start(comps["hv"].context.start_s)


def test_trace_summaries_and_reported_values_are_read_back() -> None:
    assert summary_values("CA=47 1001=2950.5 1002=-1e+06 3=True") == {1001: 2950.5, 1002: -1e6, 3: 1.0}
    grid = np.array([0.0, 1.0, 2.5, 4.0])
    assert hold([1.0, 3.0], [10.0, 20.0], grid, initial=-1.0).tolist() == [-1.0, 10.0, 10.0, 20.0]
