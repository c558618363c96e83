"""The typed per-connection router."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bidicharge.protocols.ocppj import (
    CallErrorReply,
    ErrorCode,
    LocalProtocolError,
    OcppConnection,
    OcppVersion,
    RemoteProtocolError,
    RequestReceived,
    Router,
    counter_ids,
    v2_0_1,
    v2_1,
)

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def serve(conn: OcppConnection, router: Router, frame: str) -> str:
    """What a transport does: feed a frame, route each request, return the answer frame."""
    try:
        conn.receive_text(frame, now=0.0)
    except RemoteProtocolError as exc:
        return exc.reply or ""
    (event,) = list(conn.events())
    assert isinstance(event, RequestReceived)
    try:
        return conn.send_response(event.message_id, router.dispatch(event.request))
    except CallErrorReply as reply:
        return conn.send_error(event.message_id, reply.code, reply.description)


def test_routes_by_request_class_and_answers_typed() -> None:
    router = Router(OcppVersion.V2_1)

    @router.on(v2_1.HeartbeatRequest)
    def heartbeat(request: v2_1.HeartbeatRequest) -> v2_1.HeartbeatResponse:
        return v2_1.HeartbeatResponse(current_time=NOW)

    conn = OcppConnection(version=OcppVersion.V2_1, new_message_id=counter_ids())
    assert json.loads(serve(conn, router, '[2, "h1", "Heartbeat", {}]')) == [3, "h1", {"currentTime": "2025-01-01T00:00:00Z"}]


def test_known_action_without_handler_is_not_supported() -> None:
    conn = OcppConnection(version=OcppVersion.V2_1, new_message_id=counter_ids())
    answer = json.loads(serve(conn, Router(OcppVersion.V2_1), '[2, "a1", "AFRRSignal", {"timestamp": '
                                                              '"2025-01-01T00:00:00Z", "signal": 1}]'))
    assert answer[:3] == [4, "a1", "NotSupported"]


def test_handler_can_answer_with_a_specific_callerror() -> None:
    router = Router(OcppVersion.V2_1)

    def refuse(request: v2_1.BootNotificationRequest) -> v2_1.BootNotificationResponse:
        raise CallErrorReply(ErrorCode.SECURITY_ERROR, "unknown station")

    router.add(v2_1.BootNotificationRequest, refuse)
    conn = OcppConnection(version=OcppVersion.V2_1, new_message_id=counter_ids())
    frame = json.dumps([2, "b1", "BootNotification", {"reason": "PowerUp",
                                                      "chargingStation": {"model": "m", "vendorName": "v"}}])
    assert json.loads(serve(conn, router, frame))[:4] == [4, "b1", "SecurityError", "unknown station"]


def test_router_refuses_classes_of_another_version_and_double_registration() -> None:
    router = Router(OcppVersion.V2_0_1)
    with pytest.raises(LocalProtocolError):
        router.add(v2_1.HeartbeatRequest, lambda r: None)
    with pytest.raises(LocalProtocolError):
        router.add(v2_0_1.HeartbeatResponse, lambda r: None)
    router.add(v2_0_1.HeartbeatRequest, lambda r: None)
    with pytest.raises(LocalProtocolError):
        router.add(v2_0_1.HeartbeatRequest, lambda r: None)


@settings(max_examples=200, deadline=None)
@given(action=st.sampled_from(sorted(v2_1.ACTIONS)) | st.text(max_size=12),
       payload=st.dictionaries(st.text(max_size=10), st.integers() | st.text(max_size=5), max_size=3))
def test_fuzzed_calls_always_get_exactly_one_wellformed_answer(action: str, payload: dict) -> None:
    router = Router(OcppVersion.V2_1)
    router.add(v2_1.HeartbeatRequest, lambda r: v2_1.HeartbeatResponse(current_time=NOW))
    conn = OcppConnection(version=OcppVersion.V2_1, new_message_id=counter_ids())
    answer = json.loads(serve(conn, router, json.dumps([2, "f1", action, payload])))
    assert answer[1] == "f1" and answer[0] in (3, 4)
    if answer[0] == 4:
        assert answer[2] in set(ErrorCode)
    assert conn.rpc.answer_owed is None


def test_the_core_does_no_io_and_reads_no_clock() -> None:
    """protocols/ocppj is sans-I/O: no sockets, no event loop, no clock, no randomness."""
    import ast
    from pathlib import Path

    import bidicharge.protocols.ocppj as pkg

    forbidden_modules = {"asyncio", "socket", "time", "random", "ssl", "websockets", "threading", "uuid"}
    for path in Path(pkg.__file__).parent.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = {node.module.split(".")[0]}
            else:
                names = set()
            assert not names & forbidden_modules, f"{path.name} imports {names & forbidden_modules}"
            if isinstance(node, ast.Attribute) and node.attr in {"now", "utcnow", "today"}:
                raise AssertionError(f"{path.name} reads the clock ({node.attr})")
