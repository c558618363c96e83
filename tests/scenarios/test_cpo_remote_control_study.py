"""The CSMS starts, stops and triggers a wallbox in a study (OCPP 2.1 F01, F03, F06; scenario ``cpo_park``).

    ev_1 ──I-01──► wb_1 ─┐
    ev_2 ──I-01──► wb_2 ─┼─I-04 OCPP 2.1 (frames in memory)──► cpo (cpo_backend) ◄── operator
    ev_3 ──I-01──► wb_3 ─┘                                      (test-only: calls the stations
                                                                 through the CSMS, as its UI would)

All cars are plugged in from midnight, each with a transaction. At 01:00 the operator ends
wb_1's transaction (RequestStopTransaction), at 01:30 asks it for its StatusNotification,
MeterValues and BootNotification (TriggerMessage), at 02:00 starts a new transaction for the
car still plugged in (RequestStartTransaction). Asserted on the answers, the frames in the
trace, the CSMS's view of the transactions and the wallbox's power.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from bidicharge.protocols.ocppj import v2_1
from bidicharge.runtime.component import COMPONENT_TYPES, Component, ComponentConfig, Phase, component_type
from bidicharge.runtime.ports import requires
from bidicharge.runtime.scenario import parse_scenario
from bidicharge.runtime.study import StudyResult, run_study

SCENARIO = Path(__file__).parents[2] / "src" / "bidicharge" / "scenarios" / "cpo_park.yaml"
OPERATOR_KIND = "test_cpo_remote_operator"
STOP_AT_S, TRIGGER_AT_S, START_AT_S = 3600.0, 5400.0, 7200.0  # after the start (00:00 local)
STANDBY_AT_MOST_W = 50.0  # the wallbox's own draw without energy transfer (a few W)
SEEN: dict[str, Any] = {}  # what the operator got back, by step name (one study per module)


class OperatorConfig(ComponentConfig):
    pass


class Operator(Component):
    """Calls stations through the CSMS (``cpo_backend.call_station``) at fixed times."""

    kind = OPERATOR_KIND
    catalogue_id = "C-TECH-AGG"
    Config = OperatorConfig
    PORTS = (requires("cpo", "I-14", "in-memory"),)
    phase = Phase.CONTROL
    OBSERVABLES: ClassVar[tuple[str, ...]] = ()

    def step(self, now: float, dt_s: float) -> None:
        link = self.link("cpo")
        assert link is not None
        cpo: Any = link.peer
        since = now - self.context.start_s
        token = v2_1.IdTokenType(id_token="OPERATOR-1", type="Central")
        if since == STOP_AT_S:
            tx = cpo.engine.active_transaction("wb_1", 1)
            SEEN["stopped_tx"] = tx
            SEEN["stop"] = cpo.call_station("wb_1", v2_1.RequestStopTransactionRequest(transaction_id=tx))
            SEEN["stop_unknown"] = cpo.call_station("wb_2", v2_1.RequestStopTransactionRequest(transaction_id="nope"))
            SEEN["start_busy"] = cpo.call_station("wb_2", v2_1.RequestStartTransactionRequest(
                id_token=token, remote_start_id=41))
        if since == STOP_AT_S + 60:
            SEEN["tx_after_stop"] = cpo.engine.active_transaction("wb_1", 1)
        if since == TRIGGER_AT_S:
            SEEN["triggers"] = {what: cpo.call_station("wb_1", v2_1.TriggerMessageRequest(
                requested_message=v2_1.MessageTriggerEnumType(what)))
                for what in ("StatusNotification", "MeterValues", "BootNotification", "LogStatusNotification")}
            SEEN["trigger_other_evse"] = cpo.call_station("wb_1", v2_1.TriggerMessageRequest(
                requested_message=v2_1.MessageTriggerEnumType.STATUS_NOTIFICATION, evse=v2_1.EVSEType(id=7)))
        if since == START_AT_S:
            SEEN["start"] = cpo.call_station("wb_1", v2_1.RequestStartTransactionRequest(
                id_token=token, remote_start_id=42, evse_id=1))
        if since == START_AT_S + 60:
            SEEN["tx_after_start"] = cpo.engine.active_transaction("wb_1", 1)


if OPERATOR_KIND not in COMPONENT_TYPES:
    component_type(Operator)


@pytest.fixture(scope="module")
def run() -> StudyResult:
    raw = yaml.safe_load(SCENARIO.read_text())
    raw["duration"] = "3h"
    raw["components"]["operator"] = {"component": OPERATOR_KIND, "connect": {"cpo": "cpo.aggregator"}}
    SEEN.clear()
    return run_study(parse_scenario(raw, file=str(SCENARIO), base_dir=str(SCENARIO.parent)))


def frames(result: StudyResult, message: str, **where: str) -> list[tuple[float, Any]]:
    """(time since start, decoded OCPP-J frame) of each traced frame."""
    return [(r.time_s - result.scenario.start_s, json.loads(r.summary))
            for r in result.trace.select(interface="I-04", message=message)
            if all(getattr(r, k) == v for k, v in where.items())]


def answered_then(result: StudyResult, since_s: float) -> bool:
    """Sent after the triggers' answers, by the end of the wallbox's step in which they came."""
    return TRIGGER_AT_S <= since_s <= TRIGGER_AT_S + result.scenario.step_s


def power_at(result: StudyResult, since_s: float) -> float:
    index = int(round(since_s / result.scenario.step_s))
    return float(result.column("wb_1.grid_power_W")[index])


def test_request_stop_ends_the_transaction_and_the_energy(run: StudyResult) -> None:
    assert SEEN["stop"].status == "Accepted"
    ended = [f for t, f in frames(run, "TransactionEvent", source="wb_1") if f[3]["eventType"] == "Ended"]
    assert len(ended) == 1
    payload = ended[0][3]
    assert payload["triggerReason"] == "RemoteStop"
    assert payload["transactionInfo"] == {"transactionId": SEEN["stopped_tx"], "stoppedReason": "Remote"}
    measurands = {v["measurand"] for v in payload["meterValue"][0]["sampledValue"]}
    assert {"Energy.Active.Import.Register", "Energy.Active.Export.Register"} <= measurands
    assert SEEN["tx_after_stop"] is None  # the CSMS closed it
    assert power_at(run, STOP_AT_S - 120) > 1000  # charging before
    # car still plugged, no transaction: no energy to the car, the wallbox's standby draw only
    assert 0.0 <= power_at(run, STOP_AT_S + 120) < STANDBY_AT_MOST_W
    assert 0.0 <= power_at(run, START_AT_S - 120) < STANDBY_AT_MOST_W


def test_refused_remote_requests(run: StudyResult) -> None:
    assert SEEN["stop_unknown"].status == "Rejected"
    assert SEEN["start_busy"].status == "Rejected"  # wb_2 has its transaction running
    assert SEEN["start_busy"].status_info.reason_code == "TxInProgress"
    assert not [f for _, f in frames(run, "TransactionEvent", source="wb_2") if f[3]["eventType"] == "Ended"]


def test_request_start_opens_a_transaction_for_the_plugged_car(run: StudyResult) -> None:
    assert SEEN["start"].status == "Accepted"
    started = [(t, f[3]) for t, f in frames(run, "TransactionEvent", source="wb_1")
               if f[3]["eventType"] == "Started" and t >= START_AT_S]
    assert len(started) == 1
    _, payload = started[0]
    assert payload["triggerReason"] == "RemoteStart"
    assert payload["transactionInfo"]["remoteStartId"] == 42
    assert payload["idToken"] == {"idToken": "OPERATOR-1", "type": "Central"}
    new_tx = payload["transactionInfo"]["transactionId"]
    assert new_tx != SEEN["stopped_tx"] and SEEN["tx_after_start"] == new_tx
    assert power_at(run, START_AT_S + 120) > 1000  # charging again
    later = [f[3] for t, f in frames(run, "TransactionEvent", source="wb_1") if t > START_AT_S]
    assert any(p["eventType"] == "Updated" and p["transactionInfo"]["transactionId"] == new_tx for p in later)


def test_trigger_message_sends_the_asked_message(run: StudyResult) -> None:
    answers = {what: str(r.status) for what, r in SEEN["triggers"].items()}
    assert answers == {"StatusNotification": "Accepted", "MeterValues": "Accepted", "BootNotification": "Accepted",
                       "LogStatusNotification": "NotImplemented"}
    assert SEEN["trigger_other_evse"].status == "Rejected"
    status = [f[3] for t, f in frames(run, "StatusNotification", source="wb_1") if answered_then(run, t)]
    assert [s["connectorStatus"] for s in status] == ["Occupied"]
    meter = [f[3] for t, f in frames(run, "MeterValues", source="wb_1") if answered_then(run, t)]
    assert len(meter) == 1
    sampled = {v["measurand"]: v for v in meter[0]["meterValue"][0]["sampledValue"]}
    assert sampled["Energy.Active.Import.Register"]["context"] == "Trigger"
    assert sampled["Energy.Active.Import.Register"]["value"] > 0  # it charged from midnight to 01:00
    assert "Energy.Active.Export.Register" in sampled
    boots = [f[3] for t, f in frames(run, "BootNotification", source="wb_1")]
    assert [b["reason"] for b in boots] == ["PowerUp", "Triggered"]
    assert not [f for _, f in frames(run, "LogStatusNotification", source="wb_1")]
