"""OCPP-J RPC framing: CALL, CALLRESULT, CALLERROR and, in OCPP 2.1, CALLRESULTERROR and SEND.

OCPP 2.0.1 / 2.1 Part 4 (OCPP-J) §4. A frame is a JSON array:

    [2, id, action, payload]                      CALL
    [3, id, payload]                              CALLRESULT
    [4, id, errorCode, errorDescription, details] CALLERROR        (answers a CALL only)
    [5, id, errorCode, errorDescription, details] CALLRESULTERROR  (2.1: answers a bad CALLRESULT)
    [6, id, action, payload]                      SEND             (2.1: never answered)

Rules this core enforces (the table below is the whole receive-side state machine):

* message ids are strings of at most 36 characters (Part 4 §4.1.3);
* one outstanding CALL per direction (Part 4 §4.1.1): ``send_call`` while ours is pending is
  a ``LocalProtocolError``; a peer CALL while we still owe an answer is refused with
  RpcFrameworkError;
* a CALL is timed out ``call_timeout_s`` after it was sent (``next_deadline``/``handle_timeout``);
  a late answer then refers to an unknown id and is dropped without reply (a CALLERROR must only
  answer a CALL);
* an unreadable frame is answered with RpcFrameworkError and message id ``"-1"``; an unknown
  message type with MessageTypeNotSupported; a frame over ``max_frame_chars`` or beyond the flood
  limit is refused, and a peer that keeps flooding gets close code 1008 (policy violation).

Sans-I/O: no sockets, no clock; ``now`` comes in as an argument, message ids from the injected
``new_message_id``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final

from .errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from .versions import OcppVersion

MAX_MESSAGE_ID_CHARS: Final = 36
MAX_DESCRIPTION_CHARS: Final = 255
UNKNOWN_MESSAGE_ID: Final = "-1"
CLOSE_POLICY_VIOLATION: Final = 1008


class MessageType(IntEnum):
    CALL = 2
    CALLRESULT = 3
    CALLERROR = 4
    CALLRESULTERROR = 5
    SEND = 6


_MESSAGE_TYPES: Final = {t.value: t for t in MessageType}  # a dict lookup: cheaper than the enum call

# frame length per message type (Part 4 §4.2)
FRAME_LENGTH: Final = {
    MessageType.CALL: 4,
    MessageType.CALLRESULT: 3,
    MessageType.CALLERROR: 5,
    MessageType.CALLRESULTERROR: 5,
    MessageType.SEND: 4,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    message_id: str
    action: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class CallResult:
    message_id: str
    action: str  # the action of our CALL that this answers
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class CallError:
    message_id: str
    action: str  # the action of our CALL that this answers
    code: str
    description: str
    details: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class CallResultError:
    message_id: str
    code: str
    description: str
    details: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Send:
    message_id: str
    action: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class CallTimedOut:
    message_id: str
    action: str


RpcEvent = Call | CallResult | CallError | CallResultError | Send


@dataclass(frozen=True, slots=True, kw_only=True)
class FloodLimit:
    """Token bucket over received frames: ``rate_per_s`` sustained, ``burst`` at once; after
    ``close_after`` refused frames in a row the connection is to be closed."""

    rate_per_s: float = 50.0
    burst: int = 100
    close_after: int = 20


@dataclass(slots=True)
class _Pending:
    message_id: str
    action: str
    deadline: float


try:  # orjson is 3-5x faster and stricter (no NaN, no numbers beyond float range); json is the fallback
    import orjson

    def _dumps(value: Any) -> str:
        return orjson.dumps(value).decode()

    _loads: Callable[[str], Any] = orjson.loads
except ImportError:  # pragma: no cover - orjson is in requirements/runtime-ocpp.txt

    def _dumps(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)

    _loads = json.loads


def encode_call_error(message_id: str, code: ErrorCode | str, description: str = "",
                      details: dict[str, Any] | None = None, *, type_: MessageType = MessageType.CALLERROR) -> str:
    return _dumps([int(type_), message_id, str(code), description[:MAX_DESCRIPTION_CHARS], details or {}])


class RpcConnection:
    """One side of an OCPP-J connection, framing only (payloads are plain dicts here)."""

    def __init__(
        self,
        *,
        version: OcppVersion,
        new_message_id: Callable[[], str],
        call_timeout_s: float = 30.0,
        max_frame_chars: int | None = 65_536,
        flood_limit: FloodLimit | None = None,
    ) -> None:
        self.version = version
        self._new_id = new_message_id
        self.call_timeout_s = call_timeout_s
        self.max_frame_chars = max_frame_chars
        self._types = version.message_types
        self._pending: _Pending | None = None  # our CALL awaiting an answer
        self._owed: str | None = None  # id of the peer's CALL we must still answer
        self._flood = flood_limit
        self._tokens = float(flood_limit.burst) if flood_limit else 0.0
        self._tokens_at: float | None = None
        self._refused_in_a_row = 0

    # ---- intents -------------------------------------------------------------------------
    @property
    def call_pending(self) -> bool:
        return self._pending is not None

    @property
    def answer_owed(self) -> str | None:
        return self._owed

    def send_call(self, action: str, payload: dict[str, Any], *, now: float) -> tuple[str, str]:
        """Encode a CALL; returns ``(message_id, frame)``."""
        if self._pending is not None:
            raise LocalProtocolError(f"CALL {self._pending.action} ({self._pending.message_id}) still outstanding")
        message_id = self._new_id()
        if len(message_id) > MAX_MESSAGE_ID_CHARS:
            raise LocalProtocolError(f"message id {message_id!r} longer than {MAX_MESSAGE_ID_CHARS}")
        self._pending = _Pending(message_id, action, now + self.call_timeout_s)
        return message_id, _dumps([2, message_id, action, payload])

    def send_result(self, message_id: str, payload: dict[str, Any]) -> str:
        self._settle_owed(message_id)
        return _dumps([3, message_id, payload])

    def send_error(self, message_id: str, code: ErrorCode, description: str = "",
                   details: dict[str, Any] | None = None) -> str:
        self._settle_owed(message_id)
        return encode_call_error(message_id, code, description, details)

    def send_result_error(self, message_id: str, code: ErrorCode, description: str = "",
                          details: dict[str, Any] | None = None) -> str:
        """2.1 CALLRESULTERROR: tell the peer its CALLRESULT ``message_id`` was invalid."""
        self._require_21("CALLRESULTERROR")
        return encode_call_error(message_id, code, description, details, type_=MessageType.CALLRESULTERROR)

    def send_unconfirmed(self, action: str, payload: dict[str, Any]) -> tuple[str, str]:
        """2.1 SEND: an unconfirmed message (e.g. NotifyPeriodicEventStream)."""
        self._require_21("SEND")
        message_id = self._new_id()
        return message_id, _dumps([6, message_id, action, payload])

    def _require_21(self, what: str) -> None:
        if MessageType.SEND not in self._types:
            raise LocalProtocolError(f"{what} does not exist in {self.version}")

    def _settle_owed(self, message_id: str) -> None:
        if self._owed != message_id:
            raise LocalProtocolError(f"no CALL {message_id!r} to answer (owed: {self._owed!r})")
        self._owed = None

    # ---- time ----------------------------------------------------------------------------
    def next_deadline(self) -> float | None:
        return None if self._pending is None else self._pending.deadline

    def handle_timeout(self, now: float) -> CallTimedOut | None:
        """Give up our CALL when its deadline has passed; the slot is then free again."""
        pending = self._pending
        if pending is None or now < pending.deadline:
            return None
        self._pending = None
        return CallTimedOut(message_id=pending.message_id, action=pending.action)

    # ---- input ---------------------------------------------------------------------------
    def receive_text(self, frame: str, *, now: float) -> RpcEvent:
        """Parse one frame. Raises ``RemoteProtocolError`` (with the answer to send) on bad input."""
        self._check_flood(frame, now)
        if self.max_frame_chars is not None and len(frame) > self.max_frame_chars:
            raise self._refuse(ErrorCode.FORMAT_VIOLATION, f"frame of {len(frame)} chars exceeds {self.max_frame_chars}",
                               UNKNOWN_MESSAGE_ID, answer=True)
        try:
            msg = _loads(frame)
        except (ValueError, RecursionError):
            raise self._refuse(ErrorCode.RPC_FRAMEWORK_ERROR, "frame is not JSON", UNKNOWN_MESSAGE_ID,
                               answer=True) from None
        if not isinstance(msg, list) or len(msg) < 3:
            raise self._refuse(ErrorCode.RPC_FRAMEWORK_ERROR, "frame is not an OCPP-J array", UNKNOWN_MESSAGE_ID,
                               answer=True)
        type_id, message_id = msg[0], msg[1]
        if not isinstance(message_id, str) or not message_id or len(message_id) > MAX_MESSAGE_ID_CHARS:
            raise self._refuse(ErrorCode.RPC_FRAMEWORK_ERROR, "message id unreadable", UNKNOWN_MESSAGE_ID, answer=True)
        if type(type_id) is not int or type_id not in self._types:
            raise self._refuse(ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED, f"message type {type_id!r} not supported",
                               message_id, answer=True)
        mtype = _MESSAGE_TYPES[type_id]
        if len(msg) != FRAME_LENGTH[mtype]:
            raise self._refuse(ErrorCode.RPC_FRAMEWORK_ERROR, f"{mtype.name} frame must have {FRAME_LENGTH[mtype]} elements",
                               message_id, answer=mtype is MessageType.CALL)
        self._refused_in_a_row = 0
        if mtype is MessageType.CALL or mtype is MessageType.SEND:
            return self._receive_call(mtype, message_id, msg[2], msg[3])
        if mtype is MessageType.CALLRESULTERROR:
            return CallResultError(message_id=message_id, code=str(msg[2]), description=str(msg[3]),
                                   details=msg[4] if isinstance(msg[4], dict) else {})
        pending = self._pending
        if pending is None or pending.message_id != message_id:
            # Part 4 §4.2.3: a CALLERROR answers a CALL only; an answer we cannot match is dropped.
            raise RemoteProtocolError(f"{mtype.name} for unknown message id {message_id!r}",
                                      wire_code=ErrorCode.PROTOCOL_ERROR, message_id=message_id)
        self._pending = None
        if mtype is MessageType.CALLRESULT:
            if not isinstance(msg[2], dict):
                raise RemoteProtocolError("CALLRESULT payload is not an object", wire_code=ErrorCode.FORMAT_VIOLATION,
                                          message_id=message_id, reply=self._result_error_reply(
                                              message_id, ErrorCode.FORMAT_VIOLATION, "payload is not an object"))
            return CallResult(message_id=message_id, action=pending.action, payload=msg[2])
        return CallError(message_id=message_id, action=pending.action, code=str(msg[2]), description=str(msg[3]),
                         details=msg[4] if isinstance(msg[4], dict) else {})

    def _receive_call(self, mtype: MessageType, message_id: str, action: Any, payload: Any) -> Call | Send:
        answer = mtype is MessageType.CALL
        if not isinstance(action, str):
            raise self._refuse(ErrorCode.RPC_FRAMEWORK_ERROR, "action is not a string", message_id, answer=answer)
        if not isinstance(payload, dict):
            raise self._refuse(ErrorCode.FORMAT_VIOLATION, "payload is not an object", message_id, answer=answer)
        if not answer:
            return Send(message_id=message_id, action=action, payload=payload)
        if self._owed is not None:
            raise self._refuse(ErrorCode.RPC_FRAMEWORK_ERROR,
                               f"CALL {self._owed} still being processed: one outstanding CALL at a time",
                               message_id, answer=True)
        self._owed = message_id
        return Call(message_id=message_id, action=action, payload=payload)

    def result_error_reply(self, message_id: str, code: ErrorCode, description: str) -> str | None:
        """The answer to an invalid CALLRESULT: 2.1 CALLRESULTERROR; nothing in 2.0.1."""
        return self._result_error_reply(message_id, code, description)

    def _result_error_reply(self, message_id: str, code: ErrorCode, description: str) -> str | None:
        if MessageType.CALLRESULTERROR not in self._types:
            return None
        return encode_call_error(message_id, code, description, type_=MessageType.CALLRESULTERROR)

    def _refuse(self, code: ErrorCode, description: str, message_id: str, *, answer: bool) -> RemoteProtocolError:
        reply = encode_call_error(message_id, code, description) if answer else None
        return RemoteProtocolError(description, wire_code=code, message_id=message_id, reply=reply)

    def _check_flood(self, frame: str, now: float) -> None:
        limit = self._flood
        if limit is None:
            return
        if self._tokens_at is not None:
            self._tokens = min(float(limit.burst), self._tokens + (now - self._tokens_at) * limit.rate_per_s)
        self._tokens_at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return
        self._refused_in_a_row += 1
        close = CLOSE_POLICY_VIOLATION if self._refused_in_a_row >= limit.close_after else None
        message_id = _peek_call_id(frame)
        reply = None if message_id is None else encode_call_error(message_id, ErrorCode.RPC_FRAMEWORK_ERROR,
                                                                  "rate limit exceeded")
        raise RemoteProtocolError("rate limit exceeded", wire_code=ErrorCode.RPC_FRAMEWORK_ERROR,
                                  message_id=message_id, reply=reply, close_code=close)


def _peek_call_id(frame: str) -> str | None:
    """The id of a CALL frame, if it is one (only to answer a refused CALL)."""
    try:
        msg = _loads(frame)
    except (ValueError, RecursionError):
        return None
    if isinstance(msg, list) and len(msg) == 4 and msg[0] == 2 and isinstance(msg[1], str) and len(msg[1]) <= 36:
        return msg[1]
    return None
