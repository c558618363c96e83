"""Two OCPP peers in memory (no event loop): the RPC rules of OCPP-J Part 4 and the answers to bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bidicharge.protocols.ocppj import (
    CallFailed,
    ErrorCode,
    FloodLimit,
    LocalProtocolError,
    MessageReceived,
    OcppConnection,
    OcppVersion,
    RemoteProtocolError,
    RequestReceived,
    ResponseReceived,
    ResponseRejected,
    counter_ids,
    v2_0_1,
    v2_1,
)

T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
BOOT = v2_1.BootNotificationRequest(
    reason=v2_1.BootReasonEnumType.POWER_UP,
    charging_station=v2_1.ChargingStationType(model="BiDi-11", vendor_name="bidicharge"),
)


def pair(version: OcppVersion = OcppVersion.V2_1, **kw: object) -> tuple[OcppConnection, OcppConnection]:
    station = OcppConnection(version=version, new_message_id=counter_ids("cs-"), name="CS1", **kw)  # type: ignore[arg-type]
    csms = OcppConnection(version=version, new_message_id=counter_ids("csms-"), name="CS1", **kw)  # type: ignore[arg-type]
    return station, csms


def only(conn: OcppConnection) -> object:
    events = list(conn.events())
    assert len(events) == 1, events
    return events[0]


def refused(conn: OcppConnection, frame: str) -> RemoteProtocolError:
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_text(frame, now=0.0)
    return info.value


def test_boot_round_trip_between_two_peers() -> None:
    station, csms = pair()
    message_id, frame = station.send_request(BOOT, now=0.0)
    csms.receive_text(frame, now=0.0)
    got = only(csms)
    assert isinstance(got, RequestReceived) and got.request == BOOT and got.message_id == message_id
    answer = v2_1.BootNotificationResponse(current_time=T0, interval=300,
                                           status=v2_1.RegistrationStatusEnumType.ACCEPTED)
    station.receive_text(csms.send_response(message_id, answer), now=0.1)
    done = only(station)
    assert isinstance(done, ResponseReceived) and done.response == answer and done.request == BOOT


def test_v2x_set_charging_profile_with_negative_setpoint_reaches_the_station() -> None:
    station, csms = pair()
    profile = v2_1.ChargingProfileType(
        id=7, stack_level=0, charging_profile_purpose=v2_1.ChargingProfilePurposeEnumType.TX_PROFILE,
        charging_profile_kind=v2_1.ChargingProfileKindEnumType.ABSOLUTE,
        charging_schedule=(v2_1.ChargingScheduleType(
            id=1, charging_rate_unit=v2_1.ChargingRateUnitEnumType.W, start_schedule=T0,
            charging_schedule_period=(v2_1.ChargingSchedulePeriodType(
                start_period=0, operation_mode=v2_1.OperationModeEnumType.CENTRAL_SETPOINT, setpoint=-7000,
                setpoint_l2=-2300, discharge_limit=-11000, limit=11000, limit_l2=3700),)),),
    )
    _, frame = csms.send_request(v2_1.SetChargingProfileRequest(evse_id=1, charging_profile=profile), now=0.0)
    assert '"setpoint_L2":-2300' in frame and '"dischargeLimit":-11000' in frame
    station.receive_text(frame, now=0.0)
    got = only(station)
    assert isinstance(got, RequestReceived)
    period = got.request.charging_profile.charging_schedule[0].charging_schedule_period[0]
    assert (period.setpoint, period.setpoint_l2, period.operation_mode) == (-7000, -2300, "CentralSetpoint")


def test_positive_discharge_limit_never_leaves() -> None:
    station, csms = pair()
    bad = v2_1.UpdateDynamicScheduleRequest(charging_profile_id=1,
                                            schedule_update=v2_1.ChargingScheduleUpdateType(discharge_limit=5000))
    with pytest.raises(LocalProtocolError, match="dischargeLimit"):
        csms.send_request(bad, now=0.0)
    assert not csms.rpc.call_pending


def test_only_one_outstanding_call_per_direction() -> None:
    station, csms = pair()
    station.send_request(BOOT, now=0.0)
    with pytest.raises(LocalProtocolError, match="outstanding"):
        station.send_request(v2_1.HeartbeatRequest(), now=0.0)


def test_second_call_while_first_unanswered_is_refused_and_first_still_answerable() -> None:
    station, csms = pair()
    first_id, frame = station.send_request(BOOT, now=0.0)
    csms.receive_text(frame, now=0.0)
    error = refused(csms, json.dumps([2, "x-2", "Heartbeat", {}]))
    assert error.wire_code == ErrorCode.RPC_FRAMEWORK_ERROR
    assert json.loads(error.reply or "")[:3] == [4, "x-2", "RpcFrameworkError"]
    answer = v2_1.BootNotificationResponse(current_time=T0, interval=60, status=v2_1.RegistrationStatusEnumType.PENDING)
    station.receive_text(csms.send_response(first_id, answer), now=0.0)
    assert isinstance(only(station), ResponseReceived)


def test_call_times_out_and_frees_the_slot_and_a_late_answer_is_dropped() -> None:
    station, csms = pair(call_timeout_s=30.0)
    message_id, frame = station.send_request(BOOT, now=100.0)
    assert station.next_deadline() == 130.0
    station.handle_timeout(129.9)
    assert list(station.events()) == []
    station.handle_timeout(130.0)
    failed = only(station)
    assert isinstance(failed, CallFailed) and failed.code is None and failed.request == BOOT
    assert station.next_deadline() is None
    station.send_request(v2_1.HeartbeatRequest(), now=131.0)
    late = json.dumps([3, message_id, {"currentTime": "2025-01-01T00:00:00Z", "interval": 1, "status": "Accepted"}])
    error = refused(station, late)
    assert error.reply is None  # a CALLERROR may only answer a CALL


def test_callerror_from_peer_fails_the_call() -> None:
    station, csms = pair()
    message_id, frame = station.send_request(BOOT, now=0.0)
    csms.receive_text(frame, now=0.0)
    list(csms.events())
    station.receive_text(csms.send_error(message_id, ErrorCode.SECURITY_ERROR, "unknown station"), now=0.0)
    failed = only(station)
    assert isinstance(failed, CallFailed) and failed.code == "SecurityError" and failed.by_peer


@pytest.mark.parametrize(("frame", "code", "reply_id"), [
    ("not json", "RpcFrameworkError", "-1"),
    ('{"a": 1}', "RpcFrameworkError", "-1"),
    ("[2]", "RpcFrameworkError", "-1"),
    ('[2, 17, "Heartbeat", {}]', "RpcFrameworkError", "-1"),
    ('[2, "' + "x" * 37 + '", "Heartbeat", {}]', "RpcFrameworkError", "-1"),
    ('[9, "m1", "Heartbeat", {}]', "MessageTypeNotSupported", "m1"),
    ('[2, "m1", "Heartbeat"]', "RpcFrameworkError", "m1"),
    ('[2, "m1", 5, {}]', "RpcFrameworkError", "m1"),
    ('[2, "m1", "Heartbeat", []]', "FormatViolation", "m1"),
    ('[2, "m1", "MakeCoffee", {}]', "NotImplemented", "m1"),
    ('[2, "m1", "Authorize", {"idToken": {"idToken": 5, "type": "ISO14443"}}]', "TypeConstraintViolation", "m1"),
    ('[2, "m1", "Authorize", {}]', "OccurrenceConstraintViolation", "m1"),
    ('[2, "m1", "BootNotification", {"reason": "Bored", "chargingStation": {"model": "m", "vendorName": "v"}}]',
     "PropertyConstraintViolation", "m1"),
    ('[2, "m1", "Authorize", {"idToken": {"idToken": "' + "A" * 256 + '", "type": "ISO14443"}}]',
     "PropertyConstraintViolation", "m1"),
    ('[2, "m1", "Heartbeat", {"bogus": 1}]', "FormatViolation", "m1"),
    ('[2, "m1", "StatusNotification", {"timestamp": "yesterday", "connectorStatus": "Available", "evseId": 1, '
     '"connectorId": 1}]', "PropertyConstraintViolation", "m1"),
    ('[2, "m1", "StatusNotification", {"timestamp": "2025-01-01T29:00:00Z", "connectorStatus": "Available", '
     '"evseId": 1, "connectorId": 1}]', "PropertyConstraintViolation", "m1"),
])
def test_bad_input_is_answered_with_the_right_callerror(frame: str, code: str, reply_id: str) -> None:
    _, csms = pair()
    error = refused(csms, frame)
    assert error.wire_code == code
    reply = json.loads(error.reply or "")
    assert reply[:3] == [4, reply_id, code] and isinstance(reply[3], str) and reply[4] == {}
    # the connection survives: a proper CALL afterwards is still served
    csms.receive_text(json.dumps([2, "m2", "Heartbeat", {}]), now=0.0)
    assert isinstance(only(csms), RequestReceived)


def test_oversize_frame_is_refused_and_connection_survives() -> None:
    _, csms = pair(max_frame_chars=1000)
    error = refused(csms, json.dumps([2, "m1", "DataTransfer", {"vendorId": "v", "data": "x" * 2000}]))
    assert error.wire_code == ErrorCode.FORMAT_VIOLATION and error.reply is not None
    csms.receive_text(json.dumps([2, "m2", "Heartbeat", {}]), now=0.0)
    assert isinstance(only(csms), RequestReceived)


def test_a_flooding_station_is_refused_then_closed_with_policy_violation() -> None:
    _, csms = pair(flood_limit=FloodLimit(rate_per_s=1.0, burst=3, close_after=5))
    outcomes = []
    for i in range(10):
        try:
            csms.receive_text(json.dumps([2, f"m{i}", "MakeCoffee", {}]), now=0.0)
        except RemoteProtocolError as exc:
            outcomes.append((exc.wire_code, exc.close_code))
    assert outcomes[:3] == [(ErrorCode.NOT_IMPLEMENTED, None)] * 3
    assert outcomes[3] == (ErrorCode.RPC_FRAMEWORK_ERROR, None)
    assert outcomes[7] == (ErrorCode.RPC_FRAMEWORK_ERROR, 1008)
    # after a quiet minute the bucket has refilled
    csms.receive_text(json.dumps([2, "later", "Heartbeat", {}]), now=60.0)
    assert isinstance(only(csms), RequestReceived)


def test_send_and_callresulterror_exist_only_in_2_1() -> None:
    station, csms = pair(OcppVersion.V2_0_1)
    error = refused(csms, '[6, "m1", "NotifyPeriodicEventStream", {}]')
    assert error.wire_code == ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED
    with pytest.raises(LocalProtocolError):
        station.rpc.send_result_error("m1", ErrorCode.FORMAT_VIOLATION)


def test_send_message_is_delivered_without_answer() -> None:
    station, csms = pair()
    stream = v2_1.NotifyPeriodicEventStream(id=1, pending=0, basetime=T0,
                                            data=(v2_1.StreamDataElementType(t=0.5, v="11000"),))
    _, frame = station.send_message(stream)
    assert json.loads(frame)[0] == 6
    csms.receive_text(frame, now=0.0)
    got = only(csms)
    assert isinstance(got, MessageReceived) and got.message == stream
    assert csms.rpc.answer_owed is None


def test_invalid_callresult_is_answered_with_callresulterror_in_2_1() -> None:
    station, csms = pair()
    message_id, _ = station.send_request(BOOT, now=0.0)
    error = refused(station, json.dumps([3, message_id, {"interval": "often"}]))
    assert json.loads(error.reply or "")[:3] == [5, message_id, error.wire_code]
    failed = only(station)
    assert isinstance(failed, CallFailed) and not failed.by_peer
    # and the peer sees our CALLRESULTERROR as a rejection of its response
    csms.receive_text(error.reply or "", now=0.0)
    assert isinstance(only(csms), ResponseRejected)


def test_invalid_callresult_gets_no_answer_in_2_0_1() -> None:
    station, _ = pair(OcppVersion.V2_0_1)
    boot = v2_0_1.BootNotificationRequest(reason=v2_0_1.BootReasonEnumType.POWER_UP,
                                          charging_station=v2_0_1.ChargingStationType(model="m", vendor_name="v"))
    message_id, _ = station.send_request(boot, now=0.0)
    error = refused(station, json.dumps([3, message_id, {"interval": "often"}]))
    assert error.reply is None and isinstance(only(station), CallFailed)


def test_answering_a_call_that_is_not_owed_is_our_bug() -> None:
    _, csms = pair()
    with pytest.raises(LocalProtocolError):
        csms.send_response("nope", v2_1.HeartbeatResponse(current_time=T0))


def test_answer_must_be_the_response_class_of_the_call() -> None:
    station, csms = pair()
    message_id, frame = station.send_request(BOOT, now=0.0)
    csms.receive_text(frame, now=0.0)
    list(csms.events())
    with pytest.raises(LocalProtocolError):
        csms.send_response(message_id, v2_1.HeartbeatResponse(current_time=T0))


def test_messages_of_another_version_are_refused_on_send() -> None:
    station, _ = pair(OcppVersion.V2_0_1)
    with pytest.raises(LocalProtocolError, match="another OCPP version"):
        station.send_request(v2_1.HeartbeatRequest(), now=0.0)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                    lambda c: st.lists(c, max_size=5) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                    max_leaves=12)
FRAMES = (st.text(max_size=60)
          | JSON.map(json.dumps)
          | st.tuples(st.integers(0, 8), st.text(max_size=40), st.sampled_from(["Heartbeat", "Authorize", "BootNotification",
                      "X"]), JSON).map(lambda t: json.dumps(list(t)))
          | st.tuples(st.sampled_from([3, 4, 5]), st.text(max_size=5), JSON, JSON, JSON).map(lambda t: json.dumps(list(t))))


@settings(max_examples=300, deadline=None)
@given(st.lists(FRAMES, min_size=1, max_size=6))
def test_fuzzed_frames_never_break_the_connection(frames: list[str]) -> None:
    """Any input either yields events or a RemoteProtocolError whose reply is a well-formed error frame."""
    _, csms = pair()
    for frame in frames:
        try:
            csms.receive_text(frame, now=0.0)
        except RemoteProtocolError as exc:
            assert exc.wire_code in set(ErrorCode)
            if exc.reply is not None:
                reply = json.loads(exc.reply)
                assert reply[0] in (4, 5) and isinstance(reply[1], str) and len(reply[1]) <= 36
                assert reply[2] in set(ErrorCode)
        for event in csms.events():
            if isinstance(event, RequestReceived):
                csms.send_error(event.message_id, ErrorCode.NOT_SUPPORTED)
    csms.receive_text(json.dumps([2, "final", "Heartbeat", {}]), now=0.0)
    assert isinstance(only(csms), RequestReceived)
