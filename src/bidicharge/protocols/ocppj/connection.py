"""Typed OCPP connection: the RPC framing of ``rpc.py`` plus schema validation and the
generated message classes.

Requests, responses and SEND messages go in and out as the frozen dataclasses generated from
the official schemas (``_generated/``); every payload is validated in both directions
(Part 4 §4.1.3: a receiver answers a payload that violates the schema with a CALLERROR).
Outgoing payloads that fail validation are a ``LocalProtocolError``: they never leave.

Sans-I/O, h11-style: ``receive_text`` digests one frame and queues typed events; ``events()``
drains them; ``send_*`` return the text to put on the wire.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from .rpc import Call, CallError, CallResult, CallResultError, FloodLimit, RpcConnection, Send
from .validation import SchemaViolation, validate
from .versions import OcppVersion, action_table

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestReceived:
    """The peer sent a valid CALL; answer it with ``send_response`` or ``send_error``."""

    message_id: str
    request: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageReceived:
    """The peer sent a valid 2.1 SEND (no answer is ever sent)."""

    message_id: str
    message: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseReceived:
    message_id: str
    request: Any
    response: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class CallFailed:
    """Our CALL did not get a usable response: a CALLERROR from the peer, an invalid
    CALLRESULT (``by_peer`` false), or a timeout (``code`` None)."""

    message_id: str
    request: Any
    code: str | None
    description: str
    details: dict[str, Any] = field(default_factory=dict)
    by_peer: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseRejected:
    """2.1 CALLRESULTERROR: the peer found our CALLRESULT ``message_id`` invalid."""

    message_id: str
    code: str
    description: str
    details: dict[str, Any] = field(default_factory=dict)


OcppEvent = RequestReceived | MessageReceived | ResponseReceived | CallFailed | ResponseRejected


class OcppConnection:
    """One side (station or CSMS) of an OCPP 2.0.1 / 2.1 connection."""

    def __init__(
        self,
        *,
        version: OcppVersion,
        new_message_id: Callable[[], str],
        call_timeout_s: float = 30.0,
        validate_payloads: bool = True,
        max_frame_chars: int | None = 65_536,
        flood_limit: FloodLimit | None = None,
        name: str = "",
    ) -> None:
        self.version = version
        self.name = name  # station identity, for the log
        self.rpc = RpcConnection(version=version, new_message_id=new_message_id, call_timeout_s=call_timeout_s,
                                 max_frame_chars=max_frame_chars, flood_limit=flood_limit)
        self.actions = action_table(version)
        self.validate_payloads = validate_payloads
        self._events: list[OcppEvent] = []
        self._pending_request: Any = None

    # ---- intents -------------------------------------------------------------------------
    def send_request(self, request: Any, *, now: float) -> tuple[str, str]:
        """Encode a CALL for a generated ``…Request`` object; returns ``(message_id, frame)``."""
        payload = self._outgoing(request, "request")
        message_id, frame = self.rpc.send_call(request.ACTION, payload, now=now)
        self._pending_request = request
        return message_id, frame

    def send_response(self, message_id: str, response: Any) -> str:
        request_type = self._request_type_owed(message_id)
        expected = self.actions[request_type.ACTION][1]
        if type(response) is not expected:
            raise LocalProtocolError(f"answer to {request_type.ACTION} must be {expected}, not {type(response).__name__}")
        return self.rpc.send_result(message_id, self._outgoing(response, "response"))

    def send_error(self, message_id: str, code: ErrorCode, description: str = "",
                   details: dict[str, Any] | None = None) -> str:
        self._owed_type = None
        return self.rpc.send_error(message_id, code, description, details)

    def send_message(self, message: Any) -> tuple[str, str]:
        """Encode a 2.1 SEND for a generated SEND class (e.g. ``NotifyPeriodicEventStream``)."""
        return self.rpc.send_unconfirmed(message.ACTION, self._outgoing(message, "send"))

    def _outgoing(self, obj: Any, kind: str) -> dict[str, Any]:
        kind_of = getattr(type(obj), "KIND", None)
        action = getattr(type(obj), "ACTION", None)
        entry = self.actions.get(action) if isinstance(action, str) else None
        if kind_of != kind or entry is None:
            raise LocalProtocolError(f"{type(obj).__name__} is not a {self.version} {kind}")
        if type(obj) is not (entry[1] if kind == "response" else entry[0]):
            raise LocalProtocolError(f"{type(obj).__name__} belongs to another OCPP version than {self.version}")
        try:
            payload: dict[str, Any] = obj.to_wire()
        except (AttributeError, TypeError) as exc:
            raise LocalProtocolError(f"{type(obj).__name__} cannot be encoded: {exc}") from None
        if self.validate_payloads:
            try:
                validate(self.version, obj.SCHEMA, payload)
            except SchemaViolation as exc:
                raise LocalProtocolError(f"outgoing {exc}") from None
        return payload

    _owed_type: type[Any] | None = None

    def _request_type_owed(self, message_id: str) -> type[Any]:
        if self.rpc.answer_owed != message_id or self._owed_type is None:
            raise LocalProtocolError(f"no CALL {message_id!r} to answer")
        owed = self._owed_type
        self._owed_type = None
        return owed

    # ---- time ----------------------------------------------------------------------------
    def next_deadline(self) -> float | None:
        return self.rpc.next_deadline()

    def handle_timeout(self, now: float) -> None:
        timed_out = self.rpc.handle_timeout(now)
        if timed_out is not None:
            request, self._pending_request = self._pending_request, None
            self._events.append(CallFailed(message_id=timed_out.message_id, request=request, code=None,
                                           description="timed out", by_peer=False))

    # ---- input ---------------------------------------------------------------------------
    def events(self) -> Iterator[OcppEvent]:
        while self._events:
            yield self._events.pop(0)

    def receive_text(self, frame: str, *, now: float) -> None:
        """Digest one frame. Bad input raises ``RemoteProtocolError`` whose ``reply`` (if any)
        must be sent back; the connection stays usable unless ``close_code`` is set."""
        try:
            event = self.rpc.receive_text(frame, now=now)
        except RemoteProtocolError as exc:
            log.warning("OCPP %s: %s", self.name or "-", exc)
            raise
        if type(event) is Call:
            self._receive_call(event)
        elif type(event) is CallResult:
            self._receive_result(event)
        elif type(event) is CallError:
            request, self._pending_request = self._pending_request, None
            self._events.append(CallFailed(message_id=event.message_id, request=request, code=event.code,
                                           description=event.description, details=event.details))
        elif type(event) is Send:
            self._receive_send(event)
        elif type(event) is CallResultError:
            self._events.append(ResponseRejected(message_id=event.message_id, code=event.code,
                                                 description=event.description, details=event.details))

    def _receive_call(self, call: Call) -> None:
        entry = self.actions.get(call.action)
        if entry is None or entry[1] is None:
            # Part 4 §4.3: NotImplemented = "requested Action is not known by receiver"
            self._refuse_call(call.message_id, ErrorCode.NOT_IMPLEMENTED, f"unknown action {call.action!r}")
        request_type: type[Any] = entry[0]  # type: ignore[index]  # narrowed by the NoReturn above
        request = self._decode(request_type, call.payload, on_error=lambda code, text: self._refuse_call(
            call.message_id, code, text))
        self._owed_type = request_type
        self._events.append(RequestReceived(message_id=call.message_id, request=request))

    def _receive_send(self, send: Send) -> None:
        entry = self.actions.get(send.action)
        if entry is None or entry[1] is not None:
            raise RemoteProtocolError(f"SEND of unknown action {send.action!r}", wire_code=ErrorCode.NOT_IMPLEMENTED,
                                      message_id=send.message_id)

        def drop(code: ErrorCode, text: str) -> None:
            raise RemoteProtocolError(f"invalid SEND {send.action}: {text}", wire_code=code, message_id=send.message_id)

        self._events.append(MessageReceived(message_id=send.message_id,
                                            message=self._decode(entry[0], send.payload, on_error=drop)))

    def _receive_result(self, result: CallResult) -> None:
        request, self._pending_request = self._pending_request, None
        response_type = self.actions[result.action][1]
        assert response_type is not None

        def reject(code: ErrorCode, text: str) -> None:
            self._events.append(CallFailed(message_id=result.message_id, request=request, code=str(code),
                                           description=text, by_peer=False))
            # OCPP 2.1 Part 2 FR.06: an invalid response is answered with CALLRESULTERROR; 2.0.1 has none.
            reply = self.rpc.result_error_reply(result.message_id, code, text)
            raise RemoteProtocolError(f"invalid {result.action} response: {text}", wire_code=code,
                                      message_id=result.message_id, reply=reply)

        response = self._decode(response_type, result.payload, on_error=reject)
        self._events.append(ResponseReceived(message_id=result.message_id, request=request, response=response))

    def _decode(self, cls: type[Any], payload: dict[str, Any], *, on_error: Callable[[ErrorCode, str], None]) -> Any:
        if self.validate_payloads:
            try:
                validate(self.version, cls.SCHEMA, payload)
            except SchemaViolation as exc:
                on_error(exc.code, exc.detail)
        try:
            return cls.from_wire(payload)
        except (KeyError, TypeError, AttributeError):
            on_error(ErrorCode.FORMAT_VIOLATION, f"payload does not fit {cls.SCHEMA}")
        except ValueError as exc:  # e.g. a date-time the schema regex lets through (hour 29)
            on_error(ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, str(exc))
        raise AssertionError("unreachable")  # on_error always raises

    def _refuse_call(self, message_id: str, code: ErrorCode, text: str) -> None:
        reply = self.rpc.send_error(message_id, code, text)
        log.warning("OCPP %s: CALL %s refused: %s %s", self.name or "-", message_id, code, text)
        raise RemoteProtocolError(text, wire_code=code, message_id=message_id, reply=reply)
