"""V2H over ISO 15118-20 in study mode: the car and the wallbox speak the real protocol on I-01.

    ev (BEV: 40 kWh battery, trips, EVCC) ◄──I-01 ISO 15118-20 (V2GTP/EXI) + IEC 61851-1 pilot──► wallbox (SECC)
                                                                                  local timetable: +11 kW, then −7 kW

The car plugs in at 50 %, negotiates AC_BPT in Dynamic mode, charges at 11 kW for an hour, is
commanded to −7 kW, discharges until it reaches its owner's minimum SoC of 30 % (and then tells
the wallbox it cannot give more), leaves at 07:30 with SessionStop and unplugs, and starts a new
session when it returns at 17:30. Asserted on the trace of I-01 and on the energy balance.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import numpy as np
import pytest

from bidicharge.protocols.iso15118_20 import ServiceId
from bidicharge.runtime.assembly import assemble, step_order
from bidicharge.runtime.scenario import ScenarioError, load_scenario, parse_scenario
from bidicharge.runtime.study import StudyResult, run_study
from bidicharge.runtime.trace import TraceRecord, TraceRecorder

SCENARIO = str(resources.files("bidicharge.scenarios") / "v2h_iso15118.yaml")
HOUR = 3600.0
DEPART_S = 7.5 * HOUR  # 07:30
RETURN_S = 17.5 * HOUR


@pytest.fixture(scope="module")
def day() -> StudyResult:
    return run_study(load_scenario(SCENARIO))


def iso_messages(result: StudyResult, since_s: float = 0.0, until_s: float = float("inf")) -> list[TraceRecord]:
    t0 = result.scenario.start_s
    return [r for r in result.trace if r.interface == "I-01" and r.protocol == "ISO 15118-20"
            and since_s <= r.time_s - t0 < until_s]


def collapsed(names: list[str]) -> list[str]:
    """The sequence with repeated request/response pairs folded into one (the charge loop)."""
    pairs = list(zip(names[::2], names[1::2], strict=False))
    folded = [p for i, p in enumerate(pairs) if i == 0 or p != pairs[i - 1]]
    return [n for p in folded for n in p] + (names[-1:] if len(names) % 2 else [])


def test_first_session_runs_the_ac_bpt_sequence_from_setup_to_session_stop(day: StudyResult) -> None:
    first = [r.message for r in iso_messages(day, until_s=DEPART_S + 1)]
    assert collapsed(first) == [
        "SupportedAppProtocolReq", "SupportedAppProtocolRes", "SessionSetupReq", "SessionSetupRes",
        "AuthorizationSetupReq", "AuthorizationSetupRes", "AuthorizationReq", "AuthorizationRes",
        "ServiceDiscoveryReq", "ServiceDiscoveryRes", "ServiceDetailReq", "ServiceDetailRes",
        "ServiceSelectionReq", "ServiceSelectionRes",
        "AC_ChargeParameterDiscoveryReq", "AC_ChargeParameterDiscoveryRes",
        "ScheduleExchangeReq", "ScheduleExchangeRes", "PowerDeliveryReq", "PowerDeliveryRes",
        "AC_ChargeLoopReq", "AC_ChargeLoopRes", "PowerDeliveryReq", "PowerDeliveryRes",
        "SessionStopReq", "SessionStopRes",
    ]
    (selection,) = [r for r in iso_messages(day) if r.message == "ServiceSelectionReq"][:1]
    assert json.loads(selection.summary)["selected_energy_transfer_service"]["service_id"] == ServiceId.AC_BPT
    loop = next(r for r in iso_messages(day) if r.message == "AC_ChargeLoopReq")
    assert "bpt_dynamic_ac_cl_req_control_mode" in json.loads(loop.summary)  # AC_BPT, Dynamic mode
    (stop,) = [r for r in iso_messages(day) if r.message == "SessionStopReq"]
    assert json.loads(stop.summary)["charging_session"] == "Terminate"
    assert stop.time_s - day.scenario.start_s == DEPART_S  # the car ends the session when it leaves


def pilot(result: StudyResult) -> list[tuple[float, str, str]]:
    t0 = result.scenario.start_s
    return [(r.time_s - t0, json.loads(r.summary)["state"], json.loads(r.summary)["phase"])
            for r in result.trace if r.protocol == "IEC 61851-1" and r.message == "ControlPilot"]


def test_pilot_goes_b_c_around_power_delivery_and_a_on_unplug(day: StudyResult) -> None:
    states = pilot(day)
    assert [(s, p) for _t, s, p in states if _t <= DEPART_S] == [
        ("B", "HighLevelCommunication"), ("B", "StartRequested"), ("C", "EnergyTransfer"),
        ("C", "Stopping"), ("B", "HighLevelCommunication"), ("A", "Unplugged"),
    ]
    t_unplug = next(t for t, s, _p in states if s == "A")
    assert t_unplug == DEPART_S
    # the plug comes out after SessionStop, and nothing is on the wire until the car returns
    assert [r for r in iso_messages(day, DEPART_S + 1, RETURN_S)] == []
    assert [(s, p) for t, s, p in states if t >= RETURN_S][:3] == [
        ("B", "HighLevelCommunication"), ("B", "StartRequested"), ("C", "EnergyTransfer")]


def test_a_new_session_starts_when_the_car_returns(day: StudyResult) -> None:
    setups = [r.time_s - day.scenario.start_s for r in iso_messages(day) if r.message == "SessionSetupRes"]
    assert setups == [0.0, RETURN_S]
    ids = [json.loads(r.summary)["header"]["session_id"] for r in iso_messages(day) if r.message == "SessionSetupRes"]
    assert len(set(ids)) == 2


def _target_W(record: TraceRecord) -> float:
    value = json.loads(record.summary)["bpt_dynamic_ac_cl_res_control_mode"]["evse_target_active_power"]
    return float(value["value"] * 10 ** value["exponent"])


def test_charges_then_discharges_at_minus_7_kW_until_the_minimum_soc(day: StudyResult) -> None:
    s, minutes = day.series, np.arange(day.scenario.steps)
    power, soc = s["wallbox.ev_power_W"], s["ev.soc"]
    first_hour = minutes < 60
    assert np.allclose(power[first_hour], 11_000.0)
    targets = [(r.time_s - day.scenario.start_s, _target_W(r)) for r in iso_messages(day, 0, DEPART_S)
               if r.message == "AC_ChargeLoopRes"]
    assert {w for t, w in targets if t < HOUR} == {11_000.0}
    assert {w for t, w in targets if HOUR <= t < 3 * HOUR} == {-7_000.0}  # EVSETargetActivePower < 0
    home = minutes < DEPART_S / 60
    discharging = (minutes >= 60) & home & (soc > 0.3 + 1e-6)
    assert discharging[60:200].all()
    assert np.allclose(power[discharging][:-1], -7_000.0)  # the last minute may be cut at the minimum
    at_min = (minutes >= 60) & home & ~discharging
    assert at_min.any() and np.allclose(power[at_min][1:], 0.0)  # the first minute there is partial
    assert soc[minutes < DEPART_S / 60].min() == pytest.approx(0.3, abs=1e-6)  # never below the minimum
    # the car told the wallbox it can give nothing more: its loop requests say 0 W discharge
    reached = next(t for t, w in targets if t >= HOUR and w == 0.0)
    req = next(r for r in iso_messages(day, reached, reached + 1) if r.message == "AC_ChargeLoopReq")
    mode = json.loads(req.summary)["bpt_dynamic_ac_cl_req_control_mode"]
    assert mode["ev_maximum_discharge_power"]["value"] == 0
    assert json.loads(req.summary)["display_parameters"]["present_soc"] == 30


def test_energy_balance_to_the_watt_hour(day: StudyResult) -> None:
    ev, box = day.reports["ev"], day.reports["wallbox"]
    cfg = day.scenario.components["ev"].config
    dt_h = day.scenario.step_s / HOUR
    stored_start = 0.5 * ev["capacity_Wh"]
    stored_end = day.series["ev.energy_Wh"][-1]
    # battery: what came in times η, minus what left divided by η, minus the trip
    expected = (stored_start + ev["charged_Wh"] * cfg.charge_efficiency
                - ev["discharged_Wh"] / cfg.discharge_efficiency - ev["driven_Wh"])
    assert stored_end == pytest.approx(expected, abs=1.0)
    assert ev["discharged_Wh"] > 10_000 and ev["charged_Wh"] > 10_000
    # the wallbox: grid side = vehicle side + its losses; vehicle side = what the battery took
    ev_side_Wh = float(np.sum(day.series["wallbox.ev_power_W"]) * dt_h)
    grid_Wh = float(np.sum(day.series["wallbox.grid_power_W"]) * dt_h)
    assert grid_Wh == pytest.approx(ev_side_Wh + box["losses_Wh"], abs=1.0)
    assert ev_side_Wh == pytest.approx(ev["charged_Wh"] - ev["discharged_Wh"], abs=1.0)
    assert box["iso15118_faults"] == []


# ---- the wallbox's view, faults, wiring --------------------------------------------------------------

def _world(overrides: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[Any], TraceRecorder, Any]:
    scenario = load_scenario(SCENARIO, overrides=overrides)
    trace = TraceRecorder(scenario.trace)
    components = assemble(scenario, trace)
    order = step_order(components)
    for c in order:
        c.start(scenario.start_s)
    return components, order, trace, scenario


def _run(order: list[Any], scenario: Any, from_min: int, to_min: int) -> None:
    for i in range(from_min, to_min):
        now = scenario.start_s + i * scenario.step_s
        for c in order:
            c.step(now, scenario.step_s)


def test_the_wallbox_reports_the_car_as_the_protocol_told_it() -> None:
    components, order, _trace, scenario = _world()
    _run(order, scenario, 0, 30)
    ev, box = components["ev"], components["wallbox"]
    status = box.status()
    assert status.vehicle_connected
    assert status.soc == pytest.approx(ev.soc, abs=0.005)  # from EVMaximumEnergyRequest and the capacity
    assert status.capacity_Wh == 40_000.0
    assert status.min_soc == pytest.approx(0.3) and status.target_soc == pytest.approx(0.8)
    assert status.departure_s == scenario.start_s + DEPART_S
    assert status.max_charge_W == 11_000.0 and status.max_discharge_W == 11_000.0


def test_a_malformed_message_fails_the_session_de_energises_and_the_car_starts_again() -> None:
    components, order, trace, scenario = _world()
    _run(order, scenario, 0, 30)
    ev, box = components["ev"], components["wallbox"]
    assert box.state.ev_power_W == 11_000.0
    ev.inlet.transmit(bytes.fromhex("01fe8003 00000003 ffffff"))  # V2GTP AC payload, not EXI
    _run(order, scenario, 30, 31)
    faults = [r for r in trace if r.message == "SessionFault"]
    assert len(faults) == 1 and "EXI" in json.loads(faults[0].summary)["error"]
    assert box.state.ev_power_W == 0.0 and box.grid_power_W == 0.0  # de-energised
    assert box.iso.pilot.contactor_closed is False
    _run(order, scenario, 31, 40)  # the car retries after a minute; the study goes on
    setups = [r for r in trace if r.message == "SessionSetupRes"]
    assert len(setups) == 2
    assert box.state.ev_power_W == 11_000.0
    assert ev.inlet.sessions_failed and box.report()["iso15118_faults"]


def test_a_car_that_stops_answering_times_the_session_out() -> None:
    components, order, trace, scenario = _world()
    _run(order, scenario, 0, 5)
    ev, box = components["ev"], components["wallbox"]
    silent = ev.inlet.evcc
    silent.handle_timeout = lambda now: None  # the EVCC hangs: no more charge-loop requests
    _run(order, scenario, 5, 8)
    faults = [json.loads(r.summary)["error"] for r in trace if r.message == "SessionFault"]
    assert faults and "Sequence_Timeout" in faults[0]
    assert box.state.ev_power_W == 0.0


def test_dc_bpt_runs_cable_check_pre_charge_and_welding_detection() -> None:
    doc = _raw()
    doc["components"]["wallbox"]["config"]["dc"] = True
    doc["duration"] = "8h"
    result = run_study(parse_scenario(doc, file="dc.yaml", base_dir="."))
    names = collapsed([r.message for r in iso_messages(result)])
    for expected in ("DC_ChargeParameterDiscoveryReq", "DC_CableCheckReq", "DC_PreChargeReq", "DC_ChargeLoopReq",
                     "DC_WeldingDetectionReq", "SessionStopReq"):
        assert expected in names
    power = result.series["wallbox.ev_power_W"]
    assert power[:60].max() == pytest.approx(11_000.0) and power[60:120].min() == pytest.approx(-7_000.0)
    assert result.series["ev.soc"][: int(DEPART_S / 60)].min() == pytest.approx(0.3, abs=1e-6)


def _raw() -> dict[str, Any]:
    import yaml

    with open(SCENARIO, encoding="utf-8") as fh:
        doc: dict[str, Any] = yaml.safe_load(fh)
    return doc


@pytest.mark.parametrize(("connect", "expected"), [
    ({}, "is not connected: connect exactly one of ['vehicle', 'vehicle_iso15118']"),
    ({"vehicle": "ev.charger", "vehicle_iso15118": "ev.charger_iso15118"},
     "connect only one of ['vehicle', 'vehicle_iso15118']"),
])
def test_the_wallbox_needs_exactly_one_vehicle_port(connect: dict[str, str], expected: str) -> None:
    doc = _raw()
    doc["components"]["wallbox"]["connect"] = connect
    with pytest.raises(ScenarioError) as err:
        parse_scenario(doc, file="s.yaml", base_dir=".")
    assert "component 'wallbox'" in str(err.value) and expected in str(err.value)
