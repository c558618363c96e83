"""Controlling and controlled station over one in-memory link (IEC 60870-5-101 7.4, 104 clause 9)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from iec104_pairs import exchange

from bidicharge.protocols.iec104 import (
    ActivationConfirmed,
    ActivationTerminated,
    Asdu,
    BadRequestAnswered,
    Cause,
    ClockSyncReceived,
    CommandRequest,
    ControlledStation,
    ControllingStation,
    Cp56Time2a,
    DoublePointState,
    IFrame,
    InitCause,
    LocalProtocolError,
    MeasuredFloat,
    PointDatabase,
    PointReported,
    Quality,
    RequestRejected,
    SetpointFloat,
    SetpointKind,
    StationInitialised,
    TypeId,
    UnexpectedAsdu,
    decode_asdu,
    encode_asdu,
)

CA = 47
T = Cp56Time2a(year=26, month=11, day=26, hour=12, minute=0, millisecond=1500)


def pool_database(ca: int = CA) -> PointDatabase:
    db = PointDatabase(ca)
    db.add_monitor(1001, TypeId.M_ME_NC_1, value=2950.0)  # pool power, W
    db.add_monitor(1002, TypeId.M_SP_NA_1, value=True)  # pool available
    db.add_monitor(1003, TypeId.M_ME_NC_1)  # set-point feedback
    db.add_monitor(1004, TypeId.M_ME_TF_1)  # time-tagged measurement
    db.add_command(2001, TypeId.C_SE_NC_1, feedback_ioa=1003)
    db.add_command(2002, TypeId.C_SC_NA_1, feedback_ioa=1002)
    return db


class Pool:
    """A command handler that can deliver up to ``limit_W``."""

    def __init__(self, limit_W: float = 10_000.0) -> None:
        self.limit_W = limit_W
        self.requests: list[CommandRequest] = []

    def __call__(self, request: CommandRequest) -> bool:
        self.requests.append(request)
        return request.type_id is TypeId.C_SC_NA_1 or abs(float(request.value)) <= self.limit_W


def pair(
    databases: list[PointDatabase] | None = None, pool: Pool | None = None, eoi: InitCause | None = None
) -> tuple[ControllingStation, ControlledStation]:
    master = ControllingStation(now=0.0)
    outstation = ControlledStation(
        databases or [pool_database()], now=0.0, on_command=pool or Pool(), end_of_initialisation=eoi
    )
    master.start(now=0.0)
    exchange(master, outstation, now=0.0)
    return master, outstation


def asdus_of(trace: list[tuple[str, object]], direction: str) -> list[Asdu]:
    return [decode_asdu(f.asdu) for d, f in trace if d == direction and isinstance(f, IFrame)]


def test_station_interrogation_follows_startdt_and_reports_every_point() -> None:
    master = ControllingStation(now=0.0)
    outstation = ControlledStation([pool_database()], now=0.0)
    master.start(now=0.0)
    trace = exchange(master, outstation, now=0.0)
    answers = asdus_of(trace, "b>a")
    assert [(a.type_id, a.cause) for a in answers] == [
        (TypeId.C_IC_NA_1, Cause.ACTIVATION_CON),
        (TypeId.M_ME_NC_1, Cause.INTERROGATED_BY_STATION),  # 1001, 1003 and the TF point 1004 without time
        (TypeId.M_SP_NA_1, Cause.INTERROGATED_BY_STATION),
        (TypeId.C_IC_NA_1, Cause.ACTIVATION_TERMINATION),
    ]
    reported = {e.ioa: e.value for e in master.events() if isinstance(e, PointReported)}
    assert reported == {1001: 2950.0, 1002: True, 1003: 0.0, 1004: 0.0}


def test_end_of_initialisation_is_followed_by_exactly_one_interrogation() -> None:
    master = ControllingStation(now=0.0)
    outstation = ControlledStation([pool_database()], now=0.0, end_of_initialisation=InitCause.LOCAL_POWER_ON)
    master.start(now=0.0)
    trace = exchange(master, outstation, now=0.0)
    events = list(master.events())
    assert StationInitialised(common_address=CA, cause=InitCause.LOCAL_POWER_ON) in events
    interrogations = [a for a in asdus_of(trace, "a>b") if a.type_id is TypeId.C_IC_NA_1]
    assert len(interrogations) == 1


def test_restart_without_interrogation_under_way_triggers_one() -> None:
    master = ControllingStation(now=0.0, interrogate_on_start=None)
    outstation = ControlledStation([pool_database()], now=0.0, end_of_initialisation=InitCause.REMOTE_RESET)
    master.start(now=0.0)
    trace = exchange(master, outstation, now=0.0)
    assert [a.type_id for a in asdus_of(trace, "a>b")] == [TypeId.C_IC_NA_1]


def test_accepted_setpoint_is_confirmed_fed_back_and_terminated_in_that_order() -> None:
    pool = Pool()
    master, outstation = pair(pool=pool)
    list(master.events())
    master.send_setpoint(CA, 2001, -3000.0, now=1.0)
    trace = exchange(master, outstation, now=1.0)
    assert [(a.type_id, a.cause, a.negative) for a in asdus_of(trace, "b>a")] == [
        (TypeId.C_SE_NC_1, Cause.ACTIVATION_CON, False),
        (TypeId.M_ME_NC_1, Cause.RETURN_INFO_REMOTE, False),
        (TypeId.C_SE_NC_1, Cause.ACTIVATION_TERMINATION, False),
    ]
    events = list(master.events())
    assert events[0] == ActivationConfirmed(
        common_address=CA, ioa=2001, type_id=TypeId.C_SE_NC_1, positive=True
    )
    assert (
        PointReported(
            common_address=CA,
            ioa=1003,
            type_id=TypeId.M_ME_NC_1,
            value=-3000.0,
            quality=Quality.GOOD,
            time=None,
            cause=Cause.RETURN_INFO_REMOTE,
        )
        in events
    )
    assert events[-1] == ActivationTerminated(common_address=CA, ioa=2001, type_id=TypeId.C_SE_NC_1)
    assert [r.value for r in pool.requests] == [-3000.0]
    assert outstation.databases[CA].monitor(1003).value == -3000.0  # type: ignore[union-attr]


def test_setpoint_the_pool_cannot_deliver_is_confirmed_negatively() -> None:
    master, outstation = pair(pool=Pool(limit_W=5_000.0))
    list(master.events())
    master.send_setpoint(CA, 2001, 8_000.0, now=1.0)
    trace = exchange(master, outstation, now=1.0)
    assert [(a.cause, a.negative) for a in asdus_of(trace, "b>a")] == [(Cause.ACTIVATION_CON, True)]
    assert list(master.events()) == [
        ActivationConfirmed(common_address=CA, ioa=2001, type_id=TypeId.C_SE_NC_1, positive=False)
    ]
    assert outstation.databases[CA].monitor(1003).value == 0.0  # type: ignore[union-attr]


def test_select_is_confirmed_but_not_executed() -> None:
    pool = Pool()
    master, outstation = pair(pool=pool)
    master.send_setpoint(CA, 2001, 100.0, select=True, now=1.0)
    trace = exchange(master, outstation, now=1.0)
    assert [a.cause for a in asdus_of(trace, "b>a")] == [Cause.ACTIVATION_CON]
    assert pool.requests[-1].select
    assert outstation.databases[CA].monitor(1003).value == 0.0  # type: ignore[union-attr]


def test_time_tagged_setpoint_reaches_the_handler_with_its_time() -> None:
    pool = Pool()
    master, outstation = pair(pool=pool)
    master.send_setpoint(CA, 2001, 42.0, time=T, now=1.0)
    exchange(master, outstation, now=1.0)
    assert pool.requests[-1].type_id is TypeId.C_SE_TC_1
    assert pool.requests[-1].time == T


def test_single_command_switches_and_returns_the_status() -> None:
    master, outstation = pair()
    list(master.events())
    master.send_single_command(CA, 2002, False, now=1.0)
    exchange(master, outstation, now=1.0)
    reports = [e for e in master.events() if isinstance(e, PointReported)]
    assert [(r.ioa, r.value, r.cause) for r in reports] == [(1002, False, Cause.RETURN_INFO_REMOTE)]


@pytest.mark.parametrize(
    ("send", "cause"),
    [
        (lambda m: m.send_setpoint(CA, 9999, 1.0, now=1.0), Cause.UNKNOWN_IOA),
        (lambda m: m.send_setpoint(48, 2001, 1.0, now=1.0), Cause.UNKNOWN_COMMON_ADDRESS),
        (
            lambda m: m.send_single_command(CA, 2001, True, now=1.0),
            Cause.UNKNOWN_TYPE_ID,
        ),  # point takes set-points
        (lambda m: m.send_setpoint(CA, 1003, 1.0, now=1.0), Cause.UNKNOWN_IOA),  # a monitor point
    ],
)
def test_bad_request_is_mirrored_negatively_and_the_link_stays_up(send, cause: Cause) -> None:  # type: ignore[no-untyped-def]
    master, outstation = pair()
    list(master.events())
    send(master)
    exchange(master, outstation, now=1.0)
    (rejection,) = [e for e in master.events() if isinstance(e, RequestRejected)]
    assert rejection.cause is cause
    assert any(isinstance(e, BadRequestAnswered) and e.cause is cause for e in outstation.events())
    assert master.started and outstation.started


def test_command_with_a_cause_other_than_activation_is_mirrored_with_cause_45() -> None:
    master, outstation = pair()
    asdu = Asdu(
        type_id=TypeId.C_SE_NC_1,
        cause=Cause.SPONTANEOUS,
        common_address=CA,
        objects=(SetpointFloat(ioa=2001, value=1.0),),
    )
    master.link.send_asdu(encode_asdu(asdu), now=1.0)
    trace = exchange(master, outstation, now=1.0)
    (answer,) = asdus_of(trace, "b>a")
    assert (answer.cause, answer.negative, answer.objects) == (Cause.UNKNOWN_CAUSE, True, asdu.objects)


def test_monitor_type_in_control_direction_is_an_unknown_type() -> None:
    master, outstation = pair()
    asdu = Asdu(
        type_id=TypeId.M_ME_NC_1,
        cause=Cause.ACTIVATION,
        common_address=CA,
        objects=(MeasuredFloat(ioa=1001, value=1.0),),
    )
    master.link.send_asdu(encode_asdu(asdu), now=1.0)
    trace = exchange(master, outstation, now=1.0)
    assert [(a.cause, a.negative) for a in asdus_of(trace, "b>a")] == [(Cause.UNKNOWN_TYPE_ID, True)]


def test_undefined_type_id_is_mirrored_octet_for_octet_with_cause_44() -> None:
    master, outstation = pair()
    list(master.events())
    request = bytes((127, 1, 6, 0, CA, 0, 0xD1, 0x07, 0x00, 0x01))
    master.link.send_asdu(request, now=1.0)
    trace = exchange(master, outstation, now=1.0)
    (answer,) = [f.asdu for d, f in trace if d == "b>a" and isinstance(f, IFrame)]
    assert answer == request[:2] + bytes((0x40 | 44,)) + request[3:]
    assert any(isinstance(e, UnexpectedAsdu) for e in master.events())
    assert outstation.started


def test_malformed_asdu_closes_the_connection() -> None:
    master, outstation = pair()
    truncated = encode_asdu(
        Asdu(
            type_id=TypeId.C_SE_NC_1,
            cause=Cause.ACTIVATION,
            common_address=CA,
            objects=(SetpointFloat(ioa=2001, value=1.0),),
        )
    )[:-2]
    master.link.send_asdu(truncated, now=1.0)
    exchange(master, outstation, now=1.0)
    assert outstation.closed


def test_clock_sync_is_confirmed_and_handed_to_the_application() -> None:
    master, outstation = pair()
    list(master.events())
    master.clock_sync(CA, T, now=1.0)
    exchange(master, outstation, now=1.0)
    assert ClockSyncReceived(common_address=CA, time=T) in list(outstation.events())
    assert list(master.events()) == [
        ActivationConfirmed(common_address=CA, ioa=0, type_id=TypeId.C_CS_NA_1, positive=True)
    ]


def test_global_interrogation_answers_every_common_address() -> None:
    master, outstation = pair(databases=[pool_database(47), pool_database(48)])
    cas = {e.common_address for e in master.events() if isinstance(e, PointReported)}
    assert cas == {47, 48}


def test_large_interrogation_is_split_into_fitting_asdus() -> None:
    db = PointDatabase(CA)
    for ioa in range(1, 41):
        db.add_monitor(ioa, TypeId.M_ME_NC_1, value=float(ioa))
    master = ControllingStation(now=0.0)
    outstation = ControlledStation([db], now=0.0)
    master.start(now=0.0)
    trace = exchange(master, outstation, now=0.0)
    data = [a for a in asdus_of(trace, "b>a") if a.type_id is TypeId.M_ME_NC_1]
    assert len(data) == 3
    assert {e.ioa: e.value for e in master.events() if isinstance(e, PointReported)} == {
        i: float(i) for i in range(1, 41)
    }


def test_group_interrogation_answers_only_the_points_of_that_group() -> None:
    db = pool_database()
    db.add_monitor(1010, TypeId.M_ME_NC_1, value=7.0, group=1)
    db.add_monitor(1011, TypeId.M_SP_NA_1, value=True, group=2)
    master, outstation = pair(databases=[db])
    list(master.events())
    master.interrogate(CA, qualifier=21, now=1.0)
    exchange(master, outstation, now=1.0)
    events = list(master.events())
    assert events[0] == ActivationConfirmed(common_address=CA, ioa=0, type_id=TypeId.C_IC_NA_1, positive=True)
    reports = [(e.ioa, e.value, e.cause) for e in events if isinstance(e, PointReported)]
    assert reports == [(1010, 7.0, Cause.INTERROGATED_BY_GROUP_1)]
    assert events[-1] == ActivationTerminated(common_address=CA, ioa=0, type_id=TypeId.C_IC_NA_1)


def test_interrogation_with_an_undefined_qualifier_is_refused() -> None:
    master, outstation = pair()
    list(master.events())
    master.interrogate(CA, qualifier=5, now=1.0)
    exchange(master, outstation, now=1.0)
    assert list(master.events()) == [
        ActivationConfirmed(common_address=CA, ioa=0, type_id=TypeId.C_IC_NA_1, positive=False)
    ]


def test_cyclic_report_sends_every_point_with_cause_periodic() -> None:
    master, outstation = pair()
    list(master.events())
    outstation.report_all(CA, now=1.0)
    exchange(master, outstation, now=1.0)
    reports = {e.ioa: (e.type_id, e.cause) for e in master.events() if isinstance(e, PointReported)}
    assert reports == {
        1001: (TypeId.M_ME_NC_1, Cause.PERIODIC),
        1002: (TypeId.M_SP_NA_1, Cause.PERIODIC),
        1003: (TypeId.M_ME_NC_1, Cause.PERIODIC),
        1004: (TypeId.M_ME_NC_1, Cause.PERIODIC),  # time-tagged point without a time yet
    }


def test_spontaneous_time_tagged_value_keeps_its_time() -> None:
    master, outstation = pair()
    list(master.events())
    outstation.update(CA, 1004, 11.5, time=T, quality=Quality.NOT_TOPICAL, now=1.0)
    exchange(master, outstation, now=1.0)
    assert list(master.events()) == [
        PointReported(
            common_address=CA,
            ioa=1004,
            type_id=TypeId.M_ME_TF_1,
            value=11.5,
            quality=Quality.NOT_TOPICAL,
            time=T,
            cause=Cause.SPONTANEOUS,
        )
    ]


def test_acknowledgements_flow_during_a_long_exchange() -> None:
    master, outstation = pair()
    list(master.events())
    for n in range(100):
        outstation.update(CA, 1001, float(n), now=1.0)
        exchange(master, outstation, now=1.0)
    assert outstation.link.unacknowledged_sent < outstation.link.parameters.w
    assert outstation.link.queued == 0
    values = [e.value for e in master.events() if isinstance(e, PointReported)]
    assert values == [float(n) for n in range(100)]


def test_fault_in_the_same_segment_as_startdt_closes_without_answering() -> None:
    outstation = ControlledStation([pool_database()], now=0.0, end_of_initialisation=InitCause.LOCAL_POWER_ON)
    startdt_then_garbage = bytes.fromhex("680407000000") + b"\x99\x04\x07\x00\x00\x00"
    outstation.receive_data(startdt_then_garbage, now=0.0)
    assert outstation.closed
    assert outstation.data_to_send() == bytes.fromhex("68040b000000")  # STARTDT con only, no M_EI_NA_1


def test_partial_delivery_is_reported_on_the_feedback_point() -> None:
    db = PointDatabase(CA)
    db.add_monitor(1003, TypeId.M_ME_NC_1)
    db.add_command(2001, TypeId.C_SE_NC_1, feedback_ioa=1003, autoreturn=False)

    def deliver_what_the_pool_can(request: CommandRequest) -> bool:
        db.set(1003, min(float(request.value), 4_000.0))  # the pool's real response, not the request
        return True

    master, outstation = pair(databases=[db], pool=deliver_what_the_pool_can)  # type: ignore[arg-type]
    list(master.events())
    master.send_setpoint(CA, 2001, 6_000.0, now=1.0)
    exchange(master, outstation, now=1.0)
    feedback = [e for e in master.events() if isinstance(e, PointReported)]
    assert [(f.ioa, f.value, f.cause) for f in feedback] == [(1003, 4_000.0, Cause.RETURN_INFO_REMOTE)]


def test_update_of_an_unknown_point_is_our_error() -> None:
    master, outstation = pair()
    with pytest.raises(LocalProtocolError):
        outstation.update(CA, 4242, 1.0, now=1.0)
    with pytest.raises(LocalProtocolError):
        outstation.update(CA, 1004, 1.0, now=1.0)  # a time-tagged point needs its time


def test_test_command_is_flagged_to_the_handler_and_answered_with_the_t_bit() -> None:
    pool = Pool()
    master, outstation = pair(pool=pool)
    asdu = Asdu(
        type_id=TypeId.C_SE_NC_1,
        cause=Cause.ACTIVATION,
        test=True,
        common_address=CA,
        objects=(SetpointFloat(ioa=2001, value=1.0),),
    )
    master.link.send_asdu(encode_asdu(asdu), now=1.0)
    trace = exchange(master, outstation, now=1.0)
    assert pool.requests[-1].test
    answers = [a for a in asdus_of(trace, "b>a") if a.type_id is TypeId.C_SE_NC_1]
    assert answers and all(a.test for a in answers)


def sbo_pair(pool: Pool) -> tuple[ControllingStation, ControlledStation]:
    db = PointDatabase(CA)
    db.add_monitor(1003, TypeId.M_ME_NC_1)
    db.add_command(2001, TypeId.C_SE_NC_1, feedback_ioa=1003, select_before_operate=True)
    master, outstation = pair(databases=[db], pool=pool)
    list(master.events())
    return master, outstation


def confirmations(master: ControllingStation) -> list[bool]:
    return [e.positive for e in master.events() if isinstance(e, ActivationConfirmed)]


def test_select_before_operate_point_refuses_a_direct_execute() -> None:
    pool = Pool()
    master, outstation = sbo_pair(pool)
    master.send_setpoint(CA, 2001, 100.0, now=1.0)
    exchange(master, outstation, now=1.0)
    assert confirmations(master) == [False]
    assert pool.requests == []


def test_select_then_execute_operates_once() -> None:
    pool = Pool()
    master, outstation = sbo_pair(pool)
    master.send_setpoint(CA, 2001, 100.0, select=True, now=1.0)
    master.send_setpoint(CA, 2001, 100.0, now=2.0)
    exchange(master, outstation, now=2.0)
    master.send_setpoint(CA, 2001, 200.0, now=3.0)  # the selection was used up
    exchange(master, outstation, now=3.0)
    assert confirmations(master) == [True, True, False]
    assert [(r.select, r.value) for r in pool.requests] == [(True, 100.0), (False, 100.0)]
    assert outstation.databases[CA].monitor(1003).value == 100.0  # type: ignore[union-attr]


def test_selection_expires_and_can_be_broken_off() -> None:
    pool = Pool()
    master, outstation = sbo_pair(pool)
    master.send_setpoint(CA, 2001, 1.0, select=True, now=1.0)
    exchange(master, outstation, now=1.0)
    master.send_setpoint(CA, 2001, 1.0, now=1.0 + outstation.select_timeout_s + 0.1)
    exchange(master, outstation, now=1.0 + outstation.select_timeout_s + 0.1)
    master.send_setpoint(CA, 2001, 2.0, select=True, now=20.0)
    exchange(master, outstation, now=20.0)
    deactivate = Asdu(
        type_id=TypeId.C_SE_NC_1,
        cause=Cause.DEACTIVATION,
        common_address=CA,
        objects=(SetpointFloat(ioa=2001, value=2.0, select=True),),
    )
    master.link.send_asdu(encode_asdu(deactivate), now=21.0)
    master.send_setpoint(CA, 2001, 2.0, now=21.0)
    exchange(master, outstation, now=21.0)
    events = [(e.positive, e.deactivation) for e in master.events() if isinstance(e, ActivationConfirmed)]
    assert events == [(True, False), (False, False), (True, False), (True, True), (False, False)]


operations = st.lists(
    st.one_of(
        st.tuples(st.just("setpoint"), st.sampled_from([2001, 9999]), st.floats(-20_000, 20_000, width=32)),
        st.tuples(st.just("update"), st.just(1001), st.floats(-1e6, 1e6, width=32)),
        st.tuples(st.just("deliver"), st.sampled_from(["a", "b"]), st.floats(0, 1)),
        st.tuples(st.just("tick"), st.just(0), st.floats(0, 0.3)),
    ),
    max_size=40,  # at most 12 s of ticks: below t1, so only segmentation is under test
)


@settings(max_examples=80, deadline=None)
@given(operations)
def test_every_command_gets_exactly_one_answer_whatever_the_segmentation(
    ops: list[tuple[str, int, float]],
) -> None:
    pool = Pool(limit_W=10_000.0)
    master, outstation = pair(pool=pool)
    list(master.events())
    pending = {"a": b"", "b": b""}
    sent: list[tuple[int, float]] = []
    now = 0.0
    for op, ioa, arg in ops:
        if op == "setpoint":
            master.send_setpoint(CA, ioa, arg, now=now)
            sent.append((ioa, arg))
        elif op == "update":
            outstation.update(CA, ioa, arg, now=now)
        elif op == "deliver":
            sender, receiver = (master, outstation) if ioa == "a" else (outstation, master)
            pending[ioa] += sender.data_to_send()
            cut = int(len(pending[ioa]) * arg)
            receiver.receive_data(pending[ioa][:cut], now=now)
            pending[ioa] = pending[ioa][cut:]
        else:
            now += arg
            master.handle_timeout(now)
            outstation.handle_timeout(now)
    outstation.receive_data(pending["a"], now=now)
    master.receive_data(pending["b"], now=now)
    exchange(master, outstation, now=now)
    answers = [
        (e.ioa, e.positive if isinstance(e, ActivationConfirmed) else None)
        for e in master.events()
        if isinstance(e, ActivationConfirmed | RequestRejected) and e.type_id is TypeId.C_SE_NC_1
    ]
    expected = [(ioa, abs(v) <= 10_000.0 if ioa == 2001 else None) for ioa, v in sent]
    assert answers == expected
    assert master.started and outstation.started


def plant_database() -> PointDatabase:
    """A power plant: breaker as a double point, energy counters, a breaker command."""
    db = PointDatabase(CA)
    db.add_monitor(3001, TypeId.M_DP_NA_1, value=DoublePointState.ON)  # grid breaker
    db.add_monitor(3002, TypeId.M_IT_NA_1, value=12_345_678)  # export energy, Wh
    db.add_monitor(3003, TypeId.M_IT_TB_1, value=42, group=2)  # a counter of group 2
    db.add_command(4001, TypeId.C_DC_NA_1, feedback_ioa=3001)
    return db


def test_station_interrogation_reports_double_points_but_not_counters() -> None:
    master = ControllingStation(now=0.0)
    outstation = ControlledStation([plant_database()], now=0.0)
    master.start(now=0.0)
    exchange(master, outstation, now=0.0)
    reports = [(e.ioa, e.type_id, e.value) for e in master.events() if isinstance(e, PointReported)]
    assert reports == [(3001, TypeId.M_DP_NA_1, DoublePointState.ON)]


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (
            5,
            [
                (3002, 12_345_678, Cause.REQUESTED_BY_GENERAL_COUNTER),
                (3003, 42, Cause.REQUESTED_BY_GENERAL_COUNTER),
            ],
        ),
        (2, [(3003, 42, Cause.REQUESTED_BY_GROUP_2_COUNTER)]),
    ],
)
def test_counter_interrogation_reads_the_integrated_totals(
    request_: int, expected: list[tuple[int, int, Cause]]
) -> None:
    master, outstation = pair(databases=[plant_database()])
    list(master.events())
    master.counter_interrogate(CA, request=request_, now=1.0)
    exchange(master, outstation, now=1.0)
    events = list(master.events())
    assert events[0] == ActivationConfirmed(common_address=CA, ioa=0, type_id=TypeId.C_CI_NA_1, positive=True)
    assert [(e.ioa, e.value, e.cause) for e in events if isinstance(e, PointReported)] == expected
    assert events[-1] == ActivationTerminated(common_address=CA, ioa=0, type_id=TypeId.C_CI_NA_1)


def test_counter_freeze_is_confirmed_without_readings() -> None:
    master, outstation = pair(databases=[plant_database()])
    list(master.events())
    master.counter_interrogate(CA, freeze=1, now=1.0)
    exchange(master, outstation, now=1.0)
    assert not any(isinstance(e, PointReported) for e in master.events())


def test_double_command_opens_the_breaker_and_reports_the_double_point() -> None:
    pool = Pool()
    master, outstation = pair(databases=[plant_database()], pool=pool)
    list(master.events())
    master.send_double_command(CA, 4001, False, now=1.0)
    exchange(master, outstation, now=1.0)
    reports = [(e.ioa, e.value, e.cause) for e in master.events() if isinstance(e, PointReported)]
    assert reports == [(3001, DoublePointState.OFF, Cause.RETURN_INFO_REMOTE)]
    assert pool.requests[-1].type_id is TypeId.C_DC_NA_1 and pool.requests[-1].value is False


def test_double_command_with_a_forbidden_state_is_confirmed_negatively() -> None:
    pool = Pool()
    master, outstation = pair(databases=[plant_database()], pool=pool)
    list(master.events())
    raw = (
        bytes((TypeId.C_DC_NA_1, 1, Cause.ACTIVATION, 0, CA, 0))
        + (4001).to_bytes(3, "little")
        + bytes((0x03,))
    )
    master.link.send_asdu(raw, now=1.0)
    exchange(master, outstation, now=1.0)
    assert [e.positive for e in master.events() if isinstance(e, ActivationConfirmed)] == [False]
    assert pool.requests == []


def test_clock_sync_with_an_impossible_time_is_confirmed_as_received() -> None:
    master, outstation = pair()
    list(master.events())
    bad_time = bytes((0x10, 0x27, 0x3B, 0x17, 0x1F, 0x0F, 0x7F))  # month 15, year 127
    request = bytes((TypeId.C_CS_NA_1, 1, Cause.ACTIVATION, 0, CA, 0, 0, 0, 0)) + bad_time
    master.link.send_asdu(request, now=1.0)
    trace = exchange(master, outstation, now=1.0)
    (answer,) = [f.asdu for d, f in trace if d == "b>a" and isinstance(f, IFrame)]
    assert answer == request[:2] + bytes((Cause.ACTIVATION_CON,)) + request[3:]
    (sync,) = [e for e in outstation.events() if isinstance(e, ClockSyncReceived)]
    assert (sync.time.month, sync.time.year) == (15, 127)  # handed on as received; the application judges


def test_read_returns_the_point_with_cause_request() -> None:
    master, outstation = pair()
    list(master.events())
    master.read(CA, 1001, now=1.0)
    master.read(CA, 9999, now=1.0)
    exchange(master, outstation, now=1.0)
    events = list(master.events())
    assert [(e.ioa, e.value, e.cause) for e in events if isinstance(e, PointReported)] == [
        (1001, 2950.0, Cause.REQUEST)
    ]
    assert [(e.ioa, e.cause) for e in events if isinstance(e, RequestRejected)] == [(9999, Cause.UNKNOWN_IOA)]


def test_scaled_and_normalised_points_and_setpoints() -> None:
    db = PointDatabase(CA)
    db.add_monitor(5001, TypeId.M_ME_NB_1, value=-1234)  # e.g. power in kW, scale agreed out of band
    db.add_monitor(5002, TypeId.M_ME_NA_1, value=0.25)  # e.g. share of rated power
    db.add_monitor(5003, TypeId.M_ME_NB_1)
    db.add_command(6001, TypeId.C_SE_NB_1, feedback_ioa=5003)
    pool = Pool()
    master, outstation = pair(databases=[db], pool=pool)
    gi = {e.ioa: (e.type_id, e.value) for e in master.events() if isinstance(e, PointReported)}
    assert gi == {
        5001: (TypeId.M_ME_NB_1, -1234),
        5002: (TypeId.M_ME_NA_1, 0.25),
        5003: (TypeId.M_ME_NB_1, 0),
    }
    master.send_setpoint(CA, 6001, 800, kind=SetpointKind.SCALED, now=1.0)
    exchange(master, outstation, now=1.0)
    reports = [(e.ioa, e.value, e.cause) for e in master.events() if isinstance(e, PointReported)]
    assert reports == [(5003, 800, Cause.RETURN_INFO_REMOTE)]
    assert (pool.requests[-1].type_id, pool.requests[-1].value) == (TypeId.C_SE_NB_1, 800)
    master.send_setpoint(CA, 6001, 0.5, kind=SetpointKind.NORMALIZED, now=2.0)  # the point takes scaled only
    exchange(master, outstation, now=2.0)
    assert [e.cause for e in master.events() if isinstance(e, RequestRejected)] == [Cause.UNKNOWN_TYPE_ID]
