"""The APCI link (IEC 60870-5-104 clause 5) between two in-memory peers, faults included."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from iec104_pairs import exchange, frames

from bidicharge.protocols.iec104 import (
    TRANSITIONS,
    ApciLink,
    ApciParameters,
    AsduReceived,
    DataTransferStarted,
    DataTransferStopped,
    IFrame,
    LinkClosed,
    LinkState,
    LocalProtocolError,
    Role,
    SFrame,
    UFrame,
    UFunction,
    encode_apdu,
)

P = ApciParameters(k=4, w=2, t1_s=15, t2_s=10, t3_s=20)
ASDU = bytes.fromhex("0d0103002f00e9030000803b4500")  # M_ME_NC_1 CA 47 IOA 1001 3000.0


def started_pair(parameters: ApciParameters = P) -> tuple[ApciLink, ApciLink]:
    master = ApciLink(Role.CONTROLLING, now=0.0, parameters=parameters)
    outstation = ApciLink(Role.CONTROLLED, now=0.0, parameters=parameters)
    master.start_data_transfer(now=0.0)
    exchange(master, outstation, now=0.0)
    return master, outstation


def received(link: ApciLink) -> list[bytes]:
    return [e.asdu for e in link.events() if isinstance(e, AsduReceived)]


def closed_reasons(link: ApciLink) -> list[str]:
    return [e.reason for e in link.events() if isinstance(e, LinkClosed)]


def test_startdt_handshake_starts_data_transfer_on_both_sides() -> None:
    master = ApciLink(Role.CONTROLLING, now=0.0)
    outstation = ApciLink(Role.CONTROLLED, now=0.0)
    master.start_data_transfer(now=0.0)
    trace = exchange(master, outstation, now=0.0)
    assert trace == [
        ("a>b", UFrame(function=UFunction.STARTDT_ACT)),
        ("b>a", UFrame(function=UFunction.STARTDT_CON)),
    ]
    assert master.state is outstation.state is LinkState.STARTED
    assert list(master.events()) == [DataTransferStarted()]
    assert list(outstation.events()) == [DataTransferStarted()]


def test_outstation_holds_data_until_started() -> None:
    master = ApciLink(Role.CONTROLLING, now=0.0, parameters=P)
    outstation = ApciLink(Role.CONTROLLED, now=0.0, parameters=P)
    outstation.send_asdu(ASDU, now=0.0)
    assert outstation.data_to_send() == b""
    assert outstation.queued == 1
    master.start_data_transfer(now=0.0)
    exchange(master, outstation, now=0.0)
    assert received(master) == [ASDU]


def test_i_frames_number_consecutively_and_piggyback_acknowledgements() -> None:
    master, outstation = started_pair()
    outstation.send_asdu(ASDU, now=1.0)
    master.send_asdu(ASDU, now=1.0)
    trace = exchange(master, outstation, now=1.0)
    i_frames = [(d, f) for d, f in trace if isinstance(f, IFrame)]
    assert [(d, f.send_seq, f.recv_seq) for d, f in i_frames] == [("a>b", 0, 0), ("b>a", 0, 0)]
    outstation.send_asdu(ASDU, now=2.0)
    (frame,) = frames(outstation.data_to_send())
    assert isinstance(frame, IFrame) and (frame.send_seq, frame.recv_seq) == (1, 1)


def test_receiver_acknowledges_after_w_frames() -> None:
    master, outstation = started_pair()
    for _ in range(P.w):
        outstation.send_asdu(ASDU, now=1.0)
    master.receive_data(outstation.data_to_send(), now=1.0)
    assert frames(master.data_to_send()) == [SFrame(recv_seq=P.w)]


def test_receiver_acknowledges_after_t2_when_fewer_than_w_arrive() -> None:
    master, outstation = started_pair()
    outstation.send_asdu(ASDU, now=1.0)
    master.receive_data(outstation.data_to_send(), now=1.0)
    assert master.data_to_send() == b""
    assert master.next_deadline() == 1.0 + P.t2_s
    master.handle_timeout(1.0 + P.t2_s)
    assert frames(master.data_to_send()) == [SFrame(recv_seq=1)]


def test_sender_stalls_at_k_unacknowledged_frames_and_resumes_on_ack() -> None:
    master, outstation = started_pair()
    for _ in range(P.k + 3):
        outstation.send_asdu(ASDU, now=1.0)
    sent = frames(outstation.data_to_send())
    assert [f.send_seq for f in sent if isinstance(f, IFrame)] == list(range(P.k))
    assert outstation.queued == 3
    outstation.receive_data(encode_apdu(SFrame(recv_seq=2)), now=2.0)
    resumed = frames(outstation.data_to_send())
    assert [f.send_seq for f in resumed if isinstance(f, IFrame)] == [P.k, P.k + 1]
    assert outstation.queued == 1


def test_peer_that_stops_acknowledging_is_closed_after_t1() -> None:
    master, outstation = started_pair()
    for _ in range(P.k + 1):
        outstation.send_asdu(ASDU, now=3.0)
    outstation.data_to_send()  # the frames vanish: the peer never acknowledges
    assert outstation.next_deadline() == 3.0 + P.t1_s
    outstation.handle_timeout(3.0 + P.t1_s - 0.001)
    assert outstation.state is LinkState.STARTED
    outstation.handle_timeout(3.0 + P.t1_s)
    assert outstation.state is LinkState.CLOSED
    assert any("t1" in reason for reason in closed_reasons(outstation))
    assert outstation.next_deadline() is None


def test_wrong_send_sequence_number_closes_the_link() -> None:
    master, outstation = started_pair()
    outstation.receive_data(encode_apdu(IFrame(send_seq=5, recv_seq=0, asdu=ASDU)), now=1.0)
    assert outstation.state is LinkState.CLOSED
    assert any("N(S)=5" in reason for reason in closed_reasons(outstation))


def test_acknowledging_frames_never_sent_closes_the_link() -> None:
    master, outstation = started_pair()
    outstation.send_asdu(ASDU, now=1.0)
    outstation.data_to_send()
    outstation.receive_data(encode_apdu(SFrame(recv_seq=2)), now=1.0)
    assert outstation.state is LinkState.CLOSED
    assert any("never sent" in reason for reason in closed_reasons(outstation))


def test_i_frame_before_startdt_closes_the_link() -> None:
    outstation = ApciLink(Role.CONTROLLED, now=0.0)
    outstation.receive_data(encode_apdu(IFrame(send_seq=0, recv_seq=0, asdu=ASDU)), now=0.0)
    assert outstation.state is LinkState.CLOSED


def test_startdt_con_to_the_controlled_station_is_a_remote_error() -> None:
    outstation = ApciLink(Role.CONTROLLED, now=0.0)
    outstation.receive_data(encode_apdu(UFrame(function=UFunction.STARTDT_CON)), now=0.0)
    assert outstation.state is LinkState.CLOSED


def test_controlled_station_cannot_start_data_transfer_itself() -> None:
    with pytest.raises(LocalProtocolError):
        ApciLink(Role.CONTROLLED, now=0.0).start_data_transfer(now=0.0)


def test_unconfirmed_startdt_closes_after_t1() -> None:
    master = ApciLink(Role.CONTROLLING, now=0.0, parameters=P)
    master.start_data_transfer(now=0.0)
    master.data_to_send()
    assert master.next_deadline() == P.t1_s
    master.handle_timeout(P.t1_s)
    assert master.state is LinkState.CLOSED


def test_idle_link_is_tested_after_t3_and_the_peer_confirms() -> None:
    master, outstation = started_pair()
    assert master.next_deadline() == P.t3_s
    master.handle_timeout(P.t3_s)
    trace = exchange(master, outstation, now=P.t3_s)
    assert trace == [
        ("a>b", UFrame(function=UFunction.TESTFR_ACT)),
        ("b>a", UFrame(function=UFunction.TESTFR_CON)),
    ]
    master.handle_timeout(P.t3_s + P.t1_s)
    assert master.state is LinkState.STARTED


def test_silent_peer_fails_the_link_test_after_t1() -> None:
    master, outstation = started_pair()
    master.handle_timeout(P.t3_s)
    master.data_to_send()  # TESTFR act is lost
    master.handle_timeout(P.t3_s + P.t1_s)
    assert master.state is LinkState.CLOSED
    assert any("TESTFR" in reason for reason in closed_reasons(master))


def test_stopdt_is_confirmed_only_after_outstanding_frames_are_acknowledged() -> None:
    master, outstation = started_pair()
    outstation.send_asdu(ASDU, now=1.0)
    in_flight = outstation.data_to_send()
    master.stop_data_transfer(now=1.0)
    outstation.receive_data(master.data_to_send(), now=1.0)
    assert outstation.state is LinkState.STOP_PENDING
    assert outstation.data_to_send() == b""  # no STOPDT con yet
    master.receive_data(in_flight, now=1.0)  # the frame sent before STOPDT still counts
    trace = exchange(master, outstation, now=1.0)
    assert trace == [("a>b", SFrame(recv_seq=1)), ("b>a", UFrame(function=UFunction.STOPDT_CON))]
    assert master.state is outstation.state is LinkState.STOPPED
    assert DataTransferStopped() in list(master.events())
    assert received(master) == []  # events were drained above; the frame arrived before


def test_sequence_numbers_wrap_modulo_32768() -> None:
    master, outstation = started_pair(ApciParameters(k=12, w=8))
    for n in range(32770):
        outstation.send_asdu(ASDU[:-1] + bytes((n % 256,)), now=0.0)
        if n % 8 == 7:
            exchange(master, outstation, now=0.0)
    exchange(master, outstation, now=0.0)
    assert outstation.send_sequence == 32770 % 32768
    assert master.receive_sequence == 2
    assert master.state is outstation.state is LinkState.STARTED


def test_parameters_follow_the_standard_constraints() -> None:
    with pytest.raises(ValueError):
        ApciParameters(k=4, w=8)
    with pytest.raises(ValueError):
        ApciParameters(t1_s=5, t2_s=10)


ops = st.lists(
    st.one_of(
        st.tuples(st.just("send"), st.sampled_from("ab"), st.integers(1, 20)),
        st.tuples(st.just("deliver"), st.sampled_from("ab"), st.floats(0, 1)),
        st.tuples(st.just("tick"), st.just("-"), st.floats(0, 0.3)),  # 40 x 0.3 s stays below t1
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(ops)
def test_every_asdu_arrives_once_in_order_whatever_the_interleaving(
    operations: list[tuple[str, str, float]],
) -> None:
    master, outstation = started_pair()
    links = {"a": master, "b": outstation}
    pending = {"a": b"", "b": b""}
    sent: dict[str, list[bytes]] = {"a": [], "b": []}
    got: dict[str, list[bytes]] = {"a": [], "b": []}
    now, counter = 0.0, 0
    for op, who, arg in operations:
        if op == "send":
            for _ in range(int(arg)):
                counter += 1
                asdu = ASDU[:-1] + bytes((counter % 256,))
                sent[who].append(asdu)
                links[who].send_asdu(asdu, now=now)
        elif op == "deliver":
            pending[who] += links[who].data_to_send()
            cut = int(len(pending[who]) * arg)
            other = "b" if who == "a" else "a"
            links[other].receive_data(pending[who][:cut], now=now)
            pending[who] = pending[who][cut:]
        else:
            now += arg
            for link in links.values():
                link.handle_timeout(now)
        for name, link in links.items():
            assert link.unacknowledged_sent <= P.k
            got["b" if name == "a" else "a"] += received(link)
    for who, other in (("a", "b"), ("b", "a")):
        links[other].receive_data(pending[who] + links[who].data_to_send(), now=now)
    exchange(master, outstation, now=now)
    got["a"] += received(outstation)
    got["b"] += received(master)
    assert got["a"] == sent["a"] and got["b"] == sent["b"]
    assert master.state is outstation.state is LinkState.STARTED


def render_mermaid() -> str:
    lines = ["stateDiagram-v2"]
    for (role, state, trigger), target in TRANSITIONS.items():
        lines.append(f"    {state.name} --> {target.name}: {role.value} {trigger.name}")
    return "\n".join(lines)


def test_docs_show_the_current_link_state_table() -> None:
    docs = Path(__file__).parents[3] / "docs" / "iec104.md"
    assert render_mermaid() in docs.read_text(encoding="utf-8"), render_mermaid()
