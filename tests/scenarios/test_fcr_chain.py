"""FCR through the real chain (scenario ``fcr_chain``), on the prequalification double pulse.

    hv (imposed f) ─► plant_op ──I-51──► tso ──I-24 IEC 104──► aggregator ──I-23──► tech_agg
                                                                                      │ I-14
    ev_k ◄──I-01 ISO 15118-20 (AC_BPT, Dynamic)── wb_k ◄──I-04 OCPP 2.1── cpo ◄────────┘
    (8 cars; ev_8 leaves at 07:05 and must reach 70 %)

A −200 mHz step 20 s into the run: the pool (60 kW FCR held) must discharge its contracted
power within the rule's 30 s, measured at the cars (EVPresentActivePower on I-01); on the
central path the chain's messages follow each other in order; on the local path the wallboxes
follow their LocalFrequency curves without any activation message. No car goes below its
minimum SoC, and the car that leaves in the span leaves with its target.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest
import yaml

from bidicharge.components.comm_aggregator.fcr_metrics import chain_step_response
from bidicharge.runtime.scenario import parse_scenario
from bidicharge.runtime.study import StudyResult, run_study
from bidicharge.runtime.trace import TraceRecord

SCENARIO = resources.files("bidicharge.scenarios") / "fcr_chain.yaml"
FCR_RULE_S = 30.0  # full activation within 30 s (SO GL Art. 154, PQ conditions)


def run(path: str) -> StudyResult:
    raw: dict[str, Any] = yaml.safe_load(SCENARIO.read_text(encoding="utf-8"))
    raw["components"]["aggregator"]["config"]["fcr_path"] = path
    return run_study(parse_scenario(raw, file=f"fcr_chain.yaml ({path})", base_dir="."))


@pytest.fixture(scope="module")
def central() -> StudyResult:
    return run("central")


@pytest.fixture(scope="module")
def local() -> StudyResult:
    return run("local")


def first_after(records: list[TraceRecord], start: int, match: Any) -> int:
    return next(i for i in range(start, len(records)) if match(records[i]))


def summary(r: TraceRecord) -> dict[str, Any]:
    return json.loads(r.summary)


def test_central_path_full_activation_within_the_rule(central: StudyResult) -> None:
    response = chain_step_response(central.trace)
    assert response is not None and response.full_at_s is not None
    assert 0 < response.time_to_full_s <= FCR_RULE_S  # type: ignore[operator]
    assert central.reports["aggregator"]["fcr_held_W"] == 60_000


def test_central_path_messages_follow_the_chain_in_order(central: StudyResult) -> None:
    trace = list(central.trace)
    response = chain_step_response(trace)
    assert response is not None
    i = first_after(trace, 0, lambda r: r.time_s >= response.step_at_s and r.interface == "I-24"
                    and r.message == "C_SE_NC_1 act" and "2002=49.8" in r.summary)
    i = first_after(trace, i, lambda r: r.interface == "I-23" and r.message == "ReserveActivation")
    assert summary(trace[i])["upward_W"] == pytest.approx(60_000)
    i = first_after(trace, i, lambda r: r.interface == "I-14" and r.message == "ActivateSetpoints")
    setpoints = [a["setpoint_W"] for a in summary(trace[i])["activations"]]
    assert sum(setpoints) == pytest.approx(11_000 - 60_000, abs=1)  # ev_8 keeps charging at 11 kW
    i = first_after(trace, i, lambda r: r.interface == "I-04" and r.message == "SetChargingProfile"
                    and "CentralSetpoint" in r.summary and r.time_s >= response.step_at_s)
    station = trace[i].target
    i = first_after(trace, i, lambda r: r.message == "AC_ChargeLoopRes" and r.source == station and summary(r)
                    ["bpt_dynamic_ac_cl_res_control_mode"]["evse_target_active_power"]["value"] < 0)
    car = trace[i].target
    i = first_after(trace, i, lambda r: r.message == "AC_ChargeLoopReq" and r.source == car and summary(r)
                    ["bpt_dynamic_ac_cl_req_control_mode"]["ev_present_active_power"]["value"] < 0)
    assert trace[i].time_s - response.step_at_s <= FCR_RULE_S


def test_local_path_full_activation_without_activation_messages(local: StudyResult) -> None:
    response = chain_step_response(local.trace)
    assert response is not None and response.full_at_s is not None
    assert 0 < response.time_to_full_s <= FCR_RULE_S  # type: ignore[operator]
    messages = [r.message for r in local.trace]
    assert "ReserveActivation" not in messages  # the aggregator only set the parameters
    curves = [r for r in local.trace if r.interface == "I-04" and r.message == "SetChargingProfile"
              and "LocalFrequency" in r.summary]
    assert curves and all("v2xFreqWattCurve" in r.summary for r in curves)


@pytest.mark.parametrize("path", ["central", "local"])
def test_no_car_below_its_minimum_and_the_leaving_car_meets_its_target(path: str, request: Any) -> None:
    result: StudyResult = request.getfixturevalue(path)
    loops = [summary(r)["display_parameters"] for r in result.trace if r.message == "AC_ChargeLoopReq"]
    assert loops and all(p["present_soc"] >= p["minimum_soc"] for p in loops)
    (departure,) = result.reports["ev_8"]["departures"]
    assert departure["met"], departure
    assert all(not result.reports[f"ev_{k}"]["departures"] for k in range(1, 8))  # nobody else leaves
