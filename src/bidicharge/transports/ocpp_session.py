"""One open OCPP-J connection: the frames of a ``WsLink`` through an ``OcppConnection`` to a ``Router``.

Frames are digested in the link's ``data_received`` callback: a response resolves the waiting
``call``, a request with a plain handler is answered before the callback returns, and only
coroutine handlers (which may themselves call the peer) get a task, owned by ``run()``.
Calls from several tasks queue for the one outstanding CALL per direction (Part 4 §4.1.1).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.exceptions import ConnectionClosed

from bidicharge.protocols.ocppj import (
    CallErrorReply,
    CallFailed,
    ErrorCode,
    MessageReceived,
    OcppConnection,
    RemoteProtocolError,
    RequestReceived,
    ResponseReceived,
    ResponseRejected,
    Router,
)

from .ws_link import WsLink

log = logging.getLogger("bidicharge.transports.ocpp_websocket")  # one logger for the OCPP transport

__all__ = ["OcppCallError", "OcppSession"]


class OcppCallError(Exception):
    """Our CALL was answered with a CALLERROR, got an invalid response, or timed out (``code`` None)."""

    def __init__(self, event: CallFailed) -> None:
        super().__init__(f"{type(event.request).__name__}: {event.code or 'timeout'} {event.description}")
        self.code = event.code
        self.description = event.description
        self.details = event.details


class OcppSession:
    """One open OCPP connection: a ``WsLink`` plus the sans-I/O ``OcppConnection`` and its ``Router``.

    Frames are digested in the link's ``data_received`` callback: a response resolves the
    waiting ``call``, a request with a plain handler is answered before the callback returns;
    only coroutine handlers (which may themselves call the peer) get a task.
    """

    def __init__(self, ws: WsLink, conn: OcppConnection, *, identity: str) -> None:
        self.ws = ws
        self.conn = conn
        self.identity = identity
        self.version = conn.version
        self.router = Router(conn.version)
        self._loop = asyncio.get_running_loop()
        self._call_lock = asyncio.Lock()
        self._waiting: dict[str, asyncio.Future[Any]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._tasks: asyncio.TaskGroup | None = None
        self._handling: set[asyncio.Task[None]] = set()  # coroutine handlers still running
        self._is_coroutine: dict[Callable[..., Any], bool] = {}
        self.closed = asyncio.Event()
        self.closed_hooks: list[Callable[[], object]] = []  # run when the connection ends
        # observers of every text frame, ``tap(sent, frame)`` (e.g. the trace of a live run)
        self.frame_taps: list[Callable[[bool, str], object]] = []

    async def call(self, request: Any) -> Any:
        """Send a request and return the typed response; raises ``OcppCallError``.

        Calls from several tasks are queued: one outstanding CALL per direction (Part 4 §4.1.1).
        """
        async with self._call_lock:
            if self.closed.is_set():
                raise ConnectionError(f"OCPP connection to {self.identity} is closed")
            future: asyncio.Future[Any] = self._loop.create_future()
            message_id, frame = self.conn.send_request(request, now=self._loop.time())
            self._waiting[message_id] = future
            self._arm_timer()
            if self.frame_taps:
                self._tap(True, frame)
            await self.ws.send(frame)
            return await future

    async def send_message(self, message: Any) -> None:
        """Send a 2.1 SEND message (no answer)."""
        _, frame = self.conn.send_message(message)
        self._tap(True, frame)
        await self.ws.send(frame)

    def _tap(self, sent: bool, frame: str) -> None:
        for tap in self.frame_taps:
            try:
                tap(sent, frame)
            except Exception:  # an observer's bug must not take the connection down
                log.exception("OCPP %s: frame tap failed", self.identity)

    async def run(self) -> None:
        """Serve the connection until it closes; owns the tasks of coroutine handlers."""
        try:
            async with asyncio.TaskGroup() as tasks:
                self._tasks = tasks
                self.ws.attach(self._receive)
                await self.ws.wait_closed()
                for task in self._handling:  # their answers can no longer be delivered
                    task.cancel()
        finally:
            self._tasks = None
            self.closed.set()
            if self._timer is not None:
                self._timer.cancel()
            for hook in self.closed_hooks:
                hook()
            for future in self._waiting.values():
                if not future.done():
                    future.set_exception(ConnectionError(f"OCPP connection to {self.identity} closed"))
            self._waiting.clear()

    def _receive(self, frame: str | bytes) -> None:
        if not isinstance(frame, str):
            # Part 4 §3: OCPP-J uses text frames only.
            self.ws.close_nowait(1003, "OCPP-J expects text frames")
            return
        if self.frame_taps:
            self._tap(False, frame)
        try:
            self.conn.receive_text(frame, now=self._loop.time())
        except RemoteProtocolError as exc:
            log.warning("OCPP %s: %s", self.identity, exc)
            if exc.reply is not None:
                self._write(exc.reply)
            if exc.close_code is not None:
                self.ws.close_nowait(exc.close_code, exc.description)
                return
        self._dispatch()

    def _dispatch(self) -> None:
        for event in self.conn.events():
            if isinstance(event, ResponseReceived):
                self._resolve(event.message_id, result=event.response)
            elif isinstance(event, RequestReceived | MessageReceived):
                request = event.request if isinstance(event, RequestReceived) else event.message
                try:
                    handler = self.router.handler_for(request)
                except CallErrorReply as reply:
                    self._answer(event, None, reply)
                    continue
                if self._coroutine_function(handler):
                    # may itself call the peer: runs beside the reader, owned by the session's group
                    self._spawn(event, handler(request))
                    continue
                try:
                    result, error = handler(request), None
                except Exception as exc:
                    result, error = None, exc
                if inspect.isawaitable(result):  # e.g. a lambda that returns a coroutine
                    self._spawn(event, result)
                    continue
                self._answer(event, result, error)
            elif isinstance(event, CallFailed):
                self._resolve(event.message_id, error=OcppCallError(event))
            elif isinstance(event, ResponseRejected):
                log.warning("OCPP %s rejected our response %s: %s %s", self.identity, event.message_id,
                            event.code, event.description)

    def _coroutine_function(self, handler: Callable[..., Any]) -> bool:
        known = self._is_coroutine.get(handler)
        if known is None:
            known = self._is_coroutine[handler] = inspect.iscoroutinefunction(handler)
        return known

    def _spawn(self, event: RequestReceived | MessageReceived, pending: Awaitable[Any]) -> None:
        if self._tasks is None:  # the connection ended while this frame was digested
            if inspect.iscoroutine(pending):
                pending.close()
            return
        task = self._tasks.create_task(self._handle_async(event, pending))
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    def _resolve(self, message_id: str, *, result: Any = None, error: Exception | None = None) -> None:
        future = self._waiting.pop(message_id, None)
        if future is None or future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    async def _handle_async(self, event: RequestReceived | MessageReceived, pending: Awaitable[Any]) -> None:
        try:
            result, error = await pending, None
        except Exception as exc:
            result, error = None, exc
        self._answer(event, result, error)

    def _answer(self, event: RequestReceived | MessageReceived, result: Any, error: Exception | None) -> None:
        """Turn a handler outcome into the wire answer: response, chosen CALLERROR, or InternalError."""
        if isinstance(event, MessageReceived):  # SEND: never answered
            if error is not None:
                log.error("OCPP %s: handler of %s failed", self.identity, type(event.message).__name__, exc_info=error)
            return
        if error is None:
            try:
                frame = self.conn.send_response(event.message_id, result)
            except Exception as exc:
                log.exception("OCPP %s: invalid response to %s", self.identity, type(event.request).__name__)
                frame = self.conn.send_error(event.message_id, ErrorCode.INTERNAL_ERROR, str(exc)[:200])
        elif isinstance(error, CallErrorReply):
            frame = self.conn.send_error(event.message_id, error.code, error.description, error.details)
        else:  # a handler bug must not take the connection down
            log.error("OCPP %s: handler of %s failed", self.identity, type(event.request).__name__, exc_info=error)
            frame = self.conn.send_error(event.message_id, ErrorCode.INTERNAL_ERROR, type(error).__name__)
        self._write(frame)

    def _write(self, frame: str) -> None:
        """Answers go out at once; a peer that does not read them is not read either (``WsLink``)."""
        if self.frame_taps:
            self._tap(True, frame)
        try:
            self.ws.send_text(frame)
        except ConnectionClosed:
            pass

    def _arm_timer(self) -> None:
        # One timer at the earliest deadline; a call answered in time leaves it armed and it
        # fires once for nothing, cheaper than cancelling and re-arming a timer per call.
        deadline = self.conn.next_deadline()
        if deadline is None:
            return
        if self._timer is not None and self._timer_at <= deadline:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_at = self._loop.call_at(deadline, self._on_deadline), deadline

    def _on_deadline(self) -> None:
        self._timer = None
        self.conn.handle_timeout(self._loop.time())
        for event in self.conn.events():
            if isinstance(event, CallFailed):
                self._resolve(event.message_id, error=OcppCallError(event))
        self._arm_timer()
