"""Two SHIP peers in memory: handshake, PIN, trust, close, and bad input."""

from __future__ import annotations

import pytest

from bidicharge.protocols.ship import messages as m
from bidicharge.protocols.ship.connection import (
    TRANSITIONS,
    Closed,
    DataReceived,
    HandshakeComplete,
    MessageDropped,
    Role,
    ShipConfig,
    ShipConnection,
    ShipState,
    mermaid,
)
from bidicharge.protocols.ship.errors import CloseCode


def pair(client_cfg: ShipConfig | None = None, server_cfg: ShipConfig | None = None) -> tuple[ShipConnection, ShipConnection]:
    client = ShipConnection(Role.CLIENT, client_cfg or ShipConfig(local_ship_id="client-1", trusted=True))
    server = ShipConnection(Role.SERVER, server_cfg or ShipConfig(local_ship_id="server-1", trusted=True))
    return client, server


def pump(a: ShipConnection, b: ShipConnection, now: float = 0.0) -> list[bytes]:
    """Move bytes both ways until quiet; return every frame that crossed."""
    crossed: list[bytes] = []
    for _ in range(100):
        moved = False
        for src, dst in ((a, b), (b, a)):
            for frame in src.data_to_send():
                crossed.append(frame)
                dst.receive_bytes(frame, now)
                moved = True
        if not moved:
            return crossed
    raise AssertionError("peers never went quiet")


def start(client: ShipConnection, server: ShipConnection, now: float = 0.0) -> list[bytes]:
    client.start(now)
    server.start(now)
    return pump(client, server, now)


def test_trusted_peers_reach_data_phase_with_the_recorded_handshake_messages() -> None:
    client, server = pair()
    crossed = start(client, server)
    assert client.state is ShipState.DATA and server.state is ShipState.DATA
    assert list(client.events()) == [HandshakeComplete(remote_ship_id="server-1")]
    assert list(server.events()) == [HandshakeComplete(remote_ship_id="client-1")]
    assert crossed[0] == b"\x00\x00"
    assert b'\x01{"connectionHello":[{"phase":"ready"},{"waiting":60000}]}' in crossed
    assert (b'\x01{"messageProtocolHandshake":[{"handshakeType":"announceMax"},{"version":[{"major":1},'
            b'{"minor":0}]},{"formats":[{"format":["JSON-UTF8"]}]}]}') in crossed
    assert b'\x01{"accessMethods":[{"id":"server-1"}]}' in crossed


def test_data_crosses_after_handshake() -> None:
    client, server = pair()
    start(client, server)
    list(server.events())
    payload = {"datagram": {"header": {"msgCounter": 1}, "payload": {"cmd": [{"resultData": {"errorNumber": 0}}]}}}
    client.send_data(payload)
    pump(client, server)
    assert list(server.events()) == [DataReceived(payload=payload)]


def test_untrusted_server_holds_hello_pending_until_user_approves() -> None:
    client, server = pair(server_cfg=ShipConfig(local_ship_id="server-1", trusted=False))
    start(client, server)
    assert server.state is ShipState.HELLO_PENDING_LISTEN
    assert client.state is ShipState.HELLO_READY_LISTEN
    server.approve(now=5.0)
    pump(client, server, 5.0)
    assert client.state is ShipState.DATA and server.state is ShipState.DATA


def test_pending_node_asks_for_prolongation_before_peer_gives_up() -> None:
    client, server = pair(server_cfg=ShipConfig(local_ship_id="server-1", trusted=False))
    start(client, server)
    prolong_at = server.next_deadline()
    assert prolong_at == 30.0  # 30 s before the client's announced 60 s run out
    server.handle_timeout(prolong_at)
    crossed = pump(client, server, prolong_at)
    assert b'\x01{"connectionHello":[{"phase":"pending"},{"prolongationRequest":true}]}' in crossed
    # the ready client extended its wait by T_hello_inc and said how long it still waits
    assert b'\x01{"connectionHello":[{"phase":"ready"},{"waiting":90000}]}' in crossed
    client.handle_timeout(61.0)
    assert client.state is ShipState.HELLO_READY_LISTEN
    client.handle_timeout(121.0)
    assert client.closed


def test_pending_node_aborts_on_a_waiting_time_below_one_second() -> None:
    _, server = pair(server_cfg=ShipConfig(local_ship_id="server-1", trusted=False))
    server.start(0.0)
    server.receive_bytes(b"\x00\x00", 0.0)
    server.data_to_send()
    server.receive_bytes(m.encode(m.ConnectionHello(phase=m.HelloPhase.READY, waiting_ms=10)), 0.0)
    assert server.data_to_send() == [b'\x01{"connectionHello":[{"phase":"aborted"}]}']
    assert server.closed


def test_user_rejection_aborts_hello_and_closes_4452() -> None:
    client, server = pair(server_cfg=ShipConfig(local_ship_id="server-1", trusted=False))
    start(client, server)
    server.reject(now=1.0)
    pump(client, server, 1.0)
    assert [e for e in server.events() if isinstance(e, Closed)][0].close_code is CloseCode.REJECTED_BY_APPLICATION
    closed = [e for e in client.events() if isinstance(e, Closed)]
    assert closed and closed[0].by_peer and client.closed


def test_hello_timeout_aborts() -> None:
    client, server = pair(server_cfg=ShipConfig(local_ship_id="server-1", trusted=False))
    start(client, server)
    client.handle_timeout(61.0)
    crossed = pump(client, server, 61.0)
    assert b'\x01{"connectionHello":[{"phase":"aborted"}]}' in crossed
    assert client.closed and server.closed


def test_fixed_pin_accepted() -> None:
    client, server = pair(ShipConfig(local_ship_id="c", trusted=True, remote_pin="1234"),
                          ShipConfig(local_ship_id="s", trusted=True, local_pin="1234"))
    crossed = start(client, server)
    assert b'\x01{"connectionPinInput":[{"pin":"1234"}]}' in crossed
    assert b'\x01{"connectionPinState":[{"pinState":"pinOk"}]}' in crossed
    assert client.state is ShipState.DATA and server.state is ShipState.DATA


def test_wrong_pin_is_refused_and_connection_closes() -> None:
    client, server = pair(ShipConfig(local_ship_id="c", trusted=True, remote_pin="0000"),
                          ShipConfig(local_ship_id="s", trusted=True, local_pin="1234"))
    crossed = start(client, server)
    assert b'\x01{"connectionPinError":[{"error":1}]}' in crossed
    assert client.closed and server.state is not ShipState.DATA


def test_ship_id_mismatch_closes_4450() -> None:
    client, server = pair(ShipConfig(local_ship_id="c", trusted=True, expected_remote_ship_id="other"))
    start(client, server)
    closed = [e for e in client.events() if isinstance(e, Closed)]
    assert closed[0].close_code is CloseCode.SHIP_ID_MISMATCH


def test_server_selects_highest_common_version_for_ship_1_1_peer() -> None:
    _, server = pair()
    server.start(0.0)
    server.receive_bytes(b"\x00\x00", 0.0)
    server.receive_bytes(m.encode(m.ConnectionHello(phase=m.HelloPhase.READY, waiting_ms=60000)), 0.0)
    server.data_to_send()
    server.receive_bytes(m.encode(m.ProtocolHandshake(handshake_type=m.HandshakeType.ANNOUNCE_MAX,
                                                     version_major=1, version_minor=1)), 0.0)
    (answer,) = server.data_to_send()
    assert m.decode(answer) == m.ProtocolHandshake(handshake_type=m.HandshakeType.SELECT,
                                                   version_major=1, version_minor=0)


def test_unexpected_message_in_protocol_handshake_is_answered_with_error_2() -> None:
    _, server = pair()
    server.start(0.0)
    server.receive_bytes(b"\x00\x00", 0.0)
    server.receive_bytes(m.encode(m.ConnectionHello(phase=m.HelloPhase.READY, waiting_ms=60000)), 0.0)
    server.data_to_send()
    server.receive_bytes(m.encode(m.AccessMethodsRequest()), 0.0)
    assert server.data_to_send() == [b'\x01{"messageProtocolHandshakeError":[{"error":2}]}']
    assert server.closed


@pytest.mark.parametrize("frame", [b"\x01{not json", b"\x07{}", b"\x01", b'\x01{"bogusMessage":[]}',
                                   b"\x00\x01", b"\x01\xff\xfe"])
def test_garbage_during_handshake_closes_without_crashing(frame: bytes) -> None:
    _, server = pair()
    server.start(0.0)
    server.receive_bytes(frame, 0.0)
    assert server.closed
    assert any(isinstance(e, Closed) and not e.by_peer for e in server.events())


def test_malformed_data_message_is_dropped_and_connection_stays() -> None:
    client, server = pair()
    start(client, server)
    list(server.events())
    server.receive_bytes(b"\x02{broken", 1.0)
    assert server.state is ShipState.DATA
    assert isinstance(next(server.events()), MessageDropped)


def test_oversized_message_closes_with_1009() -> None:
    client, server = pair()
    start(client, server)
    list(server.events())
    server.receive_bytes(b"\x02" + b" " * (m.MAX_MESSAGE_BYTES + 1), 1.0)
    assert [e.close_code for e in server.events() if isinstance(e, Closed)] == [CloseCode.MESSAGE_TOO_BIG]


def test_close_announce_and_confirm() -> None:
    client, server = pair()
    start(client, server)
    list(client.events()), list(server.events())
    client.close(now=2.0)
    crossed = pump(client, server, 2.0)
    assert crossed == [b'\x03{"connectionClose":[{"phase":"announce"},{"maxTime":500}]}',
                       b'\x03{"connectionClose":[{"phase":"confirm"}]}']
    assert client.closed and server.closed
    assert list(server.events()) == [Closed(close_code=CloseCode.NORMAL, reason="closed by peer", by_peer=True)]


def test_early_data_before_our_access_methods_is_delivered_after_completion() -> None:
    client, server = pair()
    client.start(0.0)
    server.start(0.0)
    # run until the server is in data phase but the client still waits for accessMethods
    for _ in range(50):
        for frame in client.data_to_send():
            server.receive_bytes(frame, 0.0)
        held = server.data_to_send()
        if server.state is ShipState.DATA:
            break
        for frame in held:
            client.receive_bytes(frame, 0.0)
    server.send_data({"datagram": {"n": 1}})
    for frame in held + server.data_to_send():
        client.receive_bytes(frame, 0.0)
    assert [type(e) for e in client.events()] == [HandshakeComplete, DataReceived]


def test_transition_table_renders_to_mermaid() -> None:
    text = mermaid()
    assert text.startswith("stateDiagram-v2")
    assert text.count("-->") == len(TRANSITIONS)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

any_message = st.sampled_from([
    m.Cmi(), m.ConnectionHello(phase=m.HelloPhase.READY, waiting_ms=60000),
    m.ConnectionHello(phase=m.HelloPhase.PENDING, prolongation_request=True),
    m.ConnectionHello(phase=m.HelloPhase.ABORTED),
    m.ProtocolHandshake(handshake_type=m.HandshakeType.ANNOUNCE_MAX),
    m.ProtocolHandshake(handshake_type=m.HandshakeType.SELECT),
    m.ProtocolHandshake(handshake_type=m.HandshakeType.SELECT, version_major=2),
    m.ProtocolHandshakeError(error=3), m.ConnectionPinState(pin_state=m.PinState.NONE),
    m.ConnectionPinState(pin_state=m.PinState.REQUIRED), m.ConnectionPinInput(pin="1"),
    m.ConnectionPinError(error=1), m.AccessMethodsRequest(), m.AccessMethods(ship_id="x"),
    m.Data(payload={"datagram": {}}), m.ConnectionClose(phase=m.ClosePhase.CONFIRM),
    m.ConnectionClose(phase=m.ClosePhase.ANNOUNCE, max_time_ms=1),
])


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(Role), st.booleans(), st.lists(st.tuples(any_message, st.floats(0, 200)), max_size=12))
def test_any_message_sequence_is_handled_without_exceptions(role: Role, trusted: bool,
                                                           inputs: list[tuple[m.ShipMessage, float]]) -> None:
    conn = ShipConnection(role, ShipConfig(local_ship_id="me", trusted=trusted, local_pin="1"))
    conn.start(0.0)
    now = 0.0
    for message, dt in inputs:
        now += dt
        conn.handle_timeout(now)
        conn.receive_bytes(m.encode(message), now)
        for frame in conn.data_to_send():
            m.decode(frame)  # everything we send is valid SHIP
    events = list(conn.events())
    assert sum(isinstance(e, Closed) for e in events) <= 1
    if conn.closed:
        assert conn.next_deadline() is None
