"""The wallbox's timetable as an ISO 15118-20 Scheduled-mode schedule, and a wallbox that only
charges (plain AC), in the v2h_iso15118 world (study mode).

Scheduled: the car selects Scheduled control; the wallbox lays its timetable (+11 kW for an hour,
then −7 kW) out as one ScheduleExchange with a ChargingSchedule and a DischargingSchedule; the
car follows it on its own (no renegotiation): it charges in the first period and discharges in
the second down to its minimum SoC.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import numpy as np
import pytest
import yaml

from bidicharge.protocols.iso15118_20 import ServiceId
from bidicharge.runtime.scenario import parse_scenario
from bidicharge.runtime.study import StudyResult, run_study

SCENARIO = str(resources.files("bidicharge.scenarios") / "v2h_iso15118.yaml")
HOUR = 3600.0


def _doc() -> dict[str, Any]:
    with open(SCENARIO, encoding="utf-8") as fh:
        doc: dict[str, Any] = yaml.safe_load(fh)
    doc["duration"] = "7h"  # until before the car leaves
    return doc


def _iso(result: StudyResult, message: str) -> list[dict[str, Any]]:
    return [json.loads(r.summary) for r in result.trace
            if r.interface == "I-01" and r.protocol == "ISO 15118-20" and r.message == message]


def _watts(value: dict[str, int]) -> float:
    return float(value["value"] * 10 ** value["exponent"])


@pytest.fixture(scope="module")
def scheduled() -> StudyResult:
    doc = _doc()
    doc["components"]["ev"]["config"]["iso15118"] = {"control_mode": "scheduled"}
    return run_study(parse_scenario(doc, file="scheduled.yaml", base_dir="."))


def test_the_timetable_is_offered_as_one_schedule_with_charge_and_discharge_periods(scheduled) -> None:
    (selection,) = _iso(scheduled, "ServiceSelectionReq")
    assert selection["selected_energy_transfer_service"]["service_id"] == ServiceId.AC_BPT
    (exchange,) = _iso(scheduled, "ScheduleExchangeRes")  # once: the car follows it, no renegotiation
    (tuple_,) = exchange["scheduled_se_res_control_mode"]["schedule_tuple"]

    def entries(schedule: str) -> list[tuple[int, float]]:
        power = tuple_[schedule]["power_schedule"]["power_schedule_entries"]["power_schedule_entry"]
        return [(e["duration"], _watts(e["power"])) for e in power]

    # +11 kW for the first hour, then −7 kW until 17:00 (the timetable's next entry), then +11 kW
    assert entries("charging_schedule") == [(3600, 11_000.0), (16 * 3600, 0.0), (7 * 3600, 11_000.0)]
    assert entries("discharging_schedule") == [(3600, 0.0), (16 * 3600, 7_000.0), (7 * 3600, 0.0)]
    assert not _iso(scheduled, "AC_ChargeLoopRes")[0].get("evse_status")  # no renegotiation asked
    loop = _iso(scheduled, "AC_ChargeLoopReq")[0]
    assert "bpt_scheduled_ac_cl_req_control_mode" in loop


def test_the_car_charges_then_discharges_per_the_schedule(scheduled) -> None:
    power, soc = scheduled.series["wallbox.ev_power_W"], scheduled.series["ev.soc"]
    minutes = np.arange(scheduled.scenario.steps)
    step_h = scheduled.scenario.step_s / HOUR
    first = minutes < 60
    second = (minutes >= 60) & (minutes < 120)
    # energy per period (vehicle side) within 2 % of the schedule
    assert float(np.sum(power[first]) * step_h) == pytest.approx(11_000.0, rel=0.02)
    assert float(np.sum(power[second]) * step_h) == pytest.approx(-7_000.0, rel=0.02)
    assert power[first].min() >= 0.0 and power[minutes >= 60].max() <= 0.0
    assert soc.min() == pytest.approx(0.3, abs=1e-6)  # down to the minimum SoC, never below
    assert scheduled.reports["wallbox"]["iso15118_faults"] == []


@pytest.fixture(scope="module")
def charge_only() -> StudyResult:
    doc = _doc()
    doc["duration"] = "3h"
    doc["components"]["wallbox"]["config"]["bidirectional"] = False
    return run_study(parse_scenario(doc, file="ac.yaml", base_dir="."))


def test_a_charge_only_wallbox_offers_plain_ac(charge_only) -> None:
    (discovery,) = _iso(charge_only, "ServiceDiscoveryRes")
    offered = [s["service_id"] for s in discovery["energy_transfer_service_list"]["service"]]
    assert offered == [ServiceId.AC]
    (selection,) = _iso(charge_only, "ServiceSelectionReq")
    assert selection["selected_energy_transfer_service"]["service_id"] == ServiceId.AC
    (cpd,) = _iso(charge_only, "AC_ChargeParameterDiscoveryRes")
    assert "ac_cpd_res_energy_transfer_mode" in cpd and "bpt_ac_cpd_res_energy_transfer_mode" not in cpd


def test_a_charge_only_wallbox_never_discharges_the_car(charge_only) -> None:
    power = charge_only.series["wallbox.ev_power_W"]
    assert np.allclose(power[:60], 11_000.0)  # it charges
    assert power.min() == 0.0  # the −7 kW of the timetable never reaches the car
    targets = [_watts(r["dynamic_ac_cl_res_control_mode"]["evse_target_active_power"])
               for r in _iso(charge_only, "AC_ChargeLoopRes")]
    assert targets and min(targets) == 0.0
    assert charge_only.reports["ev"]["discharged_Wh"] == 0.0
