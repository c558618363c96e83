"""One side of an OCPP-J connection carried synchronously in memory (study mode).

The same framing, validation and typed codec as on a WebSocket (``OcppConnection``), but the
frames travel through a function the caller gives (``carry``): in a study that is the runtime
link between two components, which records each frame in the trace. No event loop: a CALL is
carried and answered within ``call()``, so "one outstanding CALL per direction" (Part 4 §4.1.1)
holds by construction.

Shaped like ``transports.ocpp_websocket.OcppSession`` where engines touch it (``identity``,
``version``, ``router``, ``closed_hooks``), so a CSMS engine's ``setup(session)`` registers
its handlers on either.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .connection import CallFailed, MessageReceived, OcppConnection, RequestReceived, ResponseReceived
from .errors import CallErrorReply, ErrorCode, OcppError, RemoteProtocolError
from .router import Router
from .versions import OcppVersion

log = logging.getLogger(__name__)

Carry = Callable[[str], "str | None"]


class MemoryCallError(OcppError):
    """Our CALL got a CALLERROR, an invalid CALLRESULT, or no answer at all (``code`` None)."""

    def __init__(self, action: str, code: str | None, description: str) -> None:
        super().__init__(f"{action}: {code or 'no answer'} {description}".rstrip())
        self.action = action
        self.code = code
        self.description = description


class MemoryEndpoint:
    """A station or CSMS end of an in-memory OCPP-J connection."""

    def __init__(self, *, identity: str, version: OcppVersion, new_message_id: Callable[[], str],
                 validate_payloads: bool = True) -> None:
        self.identity = identity
        self.version = version
        self.conn = OcppConnection(version=version, new_message_id=new_message_id, name=identity,
                                   validate_payloads=validate_payloads)
        self.router = Router(version)
        self.closed_hooks: list[Callable[[], object]] = []

    def call(self, request: Any, carry: Carry, *, now: float) -> Any:
        """Send ``request`` through ``carry`` (which returns the peer's reply frame) and return
        the typed response; raises ``MemoryCallError`` for a CALLERROR or an invalid answer."""
        action = type(request).ACTION
        _, frame = self.conn.send_request(request, now=now)
        reply = carry(frame)
        if reply is None:  # the peer dropped the frame: as a timeout on a socket
            self.conn.handle_timeout(float("inf"))
        else:
            try:
                self.conn.receive_text(reply, now=now)
            except RemoteProtocolError as exc:
                raise MemoryCallError(action, str(exc.wire_code), exc.description) from None
        for event in self.conn.events():
            if isinstance(event, ResponseReceived):
                return event.response
            if isinstance(event, CallFailed):
                raise MemoryCallError(action, event.code, event.description)
        raise MemoryCallError(action, None, "no response")

    def receive(self, frame: str, *, now: float) -> str | None:
        """Digest a frame from the peer and return our reply frame (None for a SEND).

        Bad input is answered on the wire as on a socket (FormatViolation, NotImplemented, …);
        a failing handler is an InternalError for the peer, never an exception for the caller."""
        try:
            self.conn.receive_text(frame, now=now)
        except RemoteProtocolError as exc:
            return exc.reply
        reply: str | None = None
        for event in self.conn.events():
            if isinstance(event, RequestReceived):
                reply = self._answer(event)
            elif isinstance(event, MessageReceived):
                try:
                    self.router.dispatch(event.message)
                except Exception:
                    log.exception("OCPP %s: handler of %s failed", self.identity, type(event.message).__name__)
        return reply

    def _answer(self, event: RequestReceived) -> str:
        try:
            response = self.router.dispatch(event.request)
        except CallErrorReply as refusal:
            return self.conn.send_error(event.message_id, refusal.code, refusal.description, refusal.details)
        except Exception as exc:  # a handler bug must not take the peer (or the study) down
            log.exception("OCPP %s: handler of %s failed", self.identity, type(event.request).ACTION)
            return self.conn.send_error(event.message_id, ErrorCode.INTERNAL_ERROR, type(exc).__name__)
        try:
            return self.conn.send_response(event.message_id, response)
        except OcppError as exc:
            log.error("OCPP %s: invalid response to %s: %s", self.identity, type(event.request).ACTION, exc)
            return self.conn.send_error(event.message_id, ErrorCode.INTERNAL_ERROR, str(exc)[:200])
