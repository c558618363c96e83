"""Bad input from the peer: answered as ISO 15118-20 says, then a clean stop; never a crash."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from iso20_helpers import T0, Pair, answers, ask, header, secc_after_session_setup

from bidicharge.protocols.exi.messages import common_messages as cm
from bidicharge.protocols.exi.messages import common_types as ct
from bidicharge.protocols.exi.messages import dc
from bidicharge.protocols.iso15118_20 import (
    ControlMode,
    Evcc,
    EvccConfig,
    EvState,
    Secc,
    SeccConfig,
    SeccState,
    sap,
    timeouts,
)
from bidicharge.protocols.iso15118_20 import events as ev
from bidicharge.protocols.iso15118_20.sap import NS_ISO20_DC
from bidicharge.protocols.iso15118_20.v2gtp import PayloadType, encode_frame
from bidicharge.protocols.iso15118_20.wire import encode_message

RC = ct.ResponseCode


def ended(secc: Secc) -> ev.SessionEnded:
    (end,) = [e for e in secc.events() if isinstance(e, ev.SessionEnded)]
    return end


def test_request_out_of_sequence_is_answered_sequence_error_and_stops():
    secc = Secc()
    ask(secc, sap.offer())
    answer = ask(
        secc,
        cm.AuthorizationReq(
            header=header(),
            selected_authorization_service=cm.Authorization.EIM,
            eim_a_req_authorization_mode=cm.EIM_AReqAuthorizationMode(),
        ),
    )
    assert isinstance(answer, cm.AuthorizationRes) and answer.response_code is RC.FAILED_SequenceError
    assert secc.closed and secc.state is SeccState.STOPPED
    assert ended(secc).response_code is RC.FAILED_SequenceError


def test_dc_message_in_an_ac_session_is_a_sequence_error():
    secc, sid = secc_after_session_setup()
    answer = ask(secc, dc.DC_CableCheckReq(header=header(sid)))
    assert isinstance(answer, dc.DC_CableCheckRes) and answer.response_code is RC.FAILED_SequenceError


def test_wrong_session_id_is_unknown_session():
    secc, sid = secc_after_session_setup()
    answer = ask(secc, cm.AuthorizationSetupReq(header=header(b"\xff" * 8)))
    assert answer.response_code is RC.FAILED_UnknownSession and answer.header.session_id == sid
    assert secc.closed


def test_malformed_exi_is_answered_failed_with_the_expected_response_type():
    secc, _sid = secc_after_session_setup()
    secc.receive_data(encode_frame(PayloadType.MAIN, b"\x80\xff\xff\xff"), T0)
    (answer,) = answers(secc.data_to_send())
    assert isinstance(answer, cm.AuthorizationSetupRes) and answer.response_code is RC.FAILED
    assert secc.closed


def test_not_v2gtp_closes_without_answer():
    secc = Secc()
    secc.receive_data(b"GET / HTTP/1.1\r\n\r\n", T0)
    assert secc.data_to_send() == b"" and secc.closed
    assert ended(secc).error


def test_unoffered_service_selection_is_refused():
    secc, sid = secc_after_session_setup()
    for req in (
        cm.AuthorizationSetupReq(header=header(sid)),
        cm.AuthorizationReq(
            header=header(sid),
            selected_authorization_service=cm.Authorization.EIM,
            eim_a_req_authorization_mode=cm.EIM_AReqAuthorizationMode(),
        ),
        cm.ServiceDiscoveryReq(header=header(sid)),
    ):
        assert ask(secc, req).response_code is RC.OK
    answer = ask(
        secc,
        cm.ServiceSelectionReq(
            header=header(sid),
            selected_energy_transfer_service=cm.SelectedService(service_id=6, parameter_set_id=1),
        ),
    )
    assert answer.response_code is RC.FAILED_ServiceSelectionInvalid  # DC_BPT in an AC session


def test_pre_charge_target_outside_the_evse_range_is_a_wrong_charge_parameter():
    config = EvccConfig(namespaces=(NS_ISO20_DC,), control_mode=ControlMode.SCHEDULED, loop_interval_s=1.0)
    pair = Pair(EvState(soc=0.5, capacity_Wh=60_000, present_voltage_V=900.0, max_voltage_V=950.0), config)
    pair.run()
    (secc_end,) = [e for e in pair.evse.trace if isinstance(e, ev.SessionEnded)]
    (ev_end,) = [e for e in pair.ev.trace if isinstance(e, ev.SessionEnded)]
    assert secc_end.response_code is RC.FAILED_WrongChargeParameter
    assert ev_end.response_code is RC.FAILED_WrongChargeParameter


def test_secc_gives_up_after_the_sequence_timeout():
    secc, _sid = secc_after_session_setup()
    deadline = secc.next_deadline()
    assert deadline == pytest.approx(T0 + timeouts.SECC_SEQUENCE_s)
    secc.handle_timeout(deadline - 1)
    assert not secc.closed
    secc.handle_timeout(deadline)
    assert secc.closed and "Sequence_Timeout" in (ended(secc).error or "")


def test_evcc_gives_up_when_the_secc_stops_answering():
    evcc = Evcc(EvState(soc=0.5, capacity_Wh=60_000))
    evcc.start(0.0)
    assert evcc.data_to_send()
    assert evcc.next_deadline() == timeouts.SAP_s
    evcc.handle_timeout(timeouts.SAP_s)
    assert evcc.closed
    (end,) = list(evcc.events())
    assert "SupportedAppProtocolReq" in (end.error or "")


def test_evcc_refuses_a_response_of_the_wrong_type():
    evcc = Evcc(EvState(soc=0.5, capacity_Wh=60_000))
    evcc.start(0.0)
    evcc.receive_data(encode_message(cm.SessionStopRes(header=header(), response_code=RC.OK)), 0.1)
    assert evcc.closed


def test_cable_check_ongoing_until_the_evse_reports_isolation():
    config = EvccConfig(namespaces=(NS_ISO20_DC,), control_mode=ControlMode.SCHEDULED, loop_interval_s=1.0)
    pair = Pair(EvState(soc=0.5, capacity_Wh=60_000), config, SeccConfig(isolation_ok=None))
    pair.run()  # never reported: the EVCC's cable check timer ends the session
    (end,) = [e for e in pair.ev.trace if isinstance(e, ev.SessionEnded)]
    assert "Ongoing" in (end.error or "")


@settings(max_examples=150, deadline=None)
@given(data=st.lists(st.binary(max_size=60), max_size=4), prefix=st.integers(min_value=0, max_value=3))
def test_fuzzed_bytes_never_crash_the_secc(data, prefix):
    secc = Secc()
    steps = [encode_message(sap.offer()), encode_message(cm.SessionSetupReq(header=header(), evccid="X"))][
        :prefix
    ]
    for chunk in steps:
        secc.receive_data(chunk, T0)
    for chunk in data:
        secc.receive_data(encode_frame(PayloadType.MAIN, chunk), T0)
        secc.receive_data(chunk, T0)
    secc.data_to_send()
    list(secc.events())


def test_simple_evse_de_energises_when_a_dc_session_fails():
    config = EvccConfig(namespaces=(NS_ISO20_DC,), control_mode=ControlMode.SCHEDULED, loop_interval_s=1.0)
    pair = Pair(EvState(soc=0.5, capacity_Wh=60_000), config)

    def break_in(p: Pair) -> None:  # a request for another session in the middle of the loop
        p.secc.receive_data(
            encode_message(
                cm.SessionStopReq(header=header(b"\x07" * 8), charging_session=cm.ChargingSession.Terminate)
            ),
            T0,
        )

    pair.run({2: break_in})
    (end,) = [e for e in pair.evse.trace if isinstance(e, ev.SessionEnded)]
    assert end.response_code is RC.FAILED_UnknownSession
    assert pair.secc.dc_output_V == 0.0  # the owner switched the output off
