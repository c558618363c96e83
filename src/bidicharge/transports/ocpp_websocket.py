"""OCPP-J over WebSocket: a thin asyncio adapter around ``bidicharge.protocols.ocppj``.

OCPP 2.0.1 / 2.1 Part 4 (OCPP-J) §3 and Part 2 "Security" (A00):

* the station connects to ``<csms url>/<identity>`` offering ``ocpp2.1`` and/or ``ocpp2.0.1``;
  the CSMS picks the first of its own list the station offers and refuses a handshake without
  a common subprotocol (HTTP 400);
* security profile 1: HTTP Basic authentication, user name = station identity
  (A00.FR.2xx); profile 2: the same over TLS (server certificate); profile 3: TLS with a
  client certificate whose subject CN is the station identity (mutual TLS, no password);
* WebSocket ping/pong keeps the connection alive (``ping_interval_s``);
* a station reconnects after a loss with exponential back-off plus random jitter
  (OCPP 2.x ``RetryBackOffWaitMinimum`` / ``RetryBackOffRandomRange`` / ``RetryBackOffRepeatTimes``).

All protocol decisions stay in the sans-I/O core: this module moves text frames and time
between a socket and an ``OcppConnection``, runs the handlers of a ``Router``, and resolves
the futures of outgoing calls.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import inspect
import logging
import random
import ssl
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from bidicharge.protocols.ocppj import (
    CallErrorReply,
    CallFailed,
    ErrorCode,
    FloodLimit,
    MessageReceived,
    OcppConnection,
    OcppVersion,
    RemoteProtocolError,
    RequestReceived,
    ResponseReceived,
    ResponseRejected,
    Router,
)

log = logging.getLogger(__name__)

WebSocket = ServerConnection | ClientConnection


class OcppCallError(Exception):
    """Our CALL was answered with a CALLERROR, got an invalid response, or timed out (``code`` None)."""

    def __init__(self, event: CallFailed) -> None:
        super().__init__(f"{type(event.request).__name__}: {event.code or 'timeout'} {event.description}")
        self.code = event.code
        self.description = event.description
        self.details = event.details


class OcppSession:
    """One open OCPP connection: a WebSocket plus the sans-I/O ``OcppConnection`` and its ``Router``."""

    def __init__(self, ws: WebSocket, conn: OcppConnection, *, identity: str) -> None:
        self.ws = ws
        self.conn = conn
        self.identity = identity
        self.version = conn.version
        self.router = Router(conn.version)
        self._loop = asyncio.get_running_loop()
        self._call_lock = asyncio.Lock()
        self._waiting: dict[str, asyncio.Future[Any]] = {}
        self._timer: asyncio.TimerHandle | None = None
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
                await self._read(tasks)
        finally:
            self.closed.set()
            if self._timer is not None:
                self._timer.cancel()
            for hook in self.closed_hooks:
                hook()
            for future in self._waiting.values():
                if not future.done():
                    future.set_exception(ConnectionError(f"OCPP connection to {self.identity} closed"))
            self._waiting.clear()

    async def _read(self, tasks: asyncio.TaskGroup) -> None:
        try:
            async for frame in self.ws:
                if not isinstance(frame, str):
                    # Part 4 §3: OCPP-J uses text frames only.
                    await self.ws.close(1003, "OCPP-J expects text frames")
                    return
                if self.frame_taps:
                    self._tap(False, frame)
                try:
                    self.conn.receive_text(frame, now=self._loop.time())
                except RemoteProtocolError as exc:
                    log.warning("OCPP %s: %s", self.identity, exc)
                    if exc.reply is not None:
                        self._tap(True, exc.reply)
                        await self.ws.send(exc.reply)
                    if exc.close_code is not None:
                        await self.ws.close(exc.close_code, exc.description)
                        return
                await self._dispatch(tasks)
        except ConnectionClosed:
            pass

    async def _dispatch(self, tasks: asyncio.TaskGroup) -> None:
        for event in self.conn.events():
            if isinstance(event, ResponseReceived):
                self._resolve(event.message_id, result=event.response)
            elif isinstance(event, RequestReceived | MessageReceived):
                request = event.request if isinstance(event, RequestReceived) else event.message
                try:
                    handler = self.router.handler_for(request)
                except CallErrorReply as reply:
                    await self._answer(event, None, reply)
                    continue
                if inspect.iscoroutinefunction(handler):
                    # may itself call the peer: runs beside the reader, owned by the session's group
                    tasks.create_task(self._handle_async(event, handler(request)))
                else:
                    try:
                        result, error = handler(request), None
                    except Exception as exc:
                        result, error = None, exc
                    if inspect.isawaitable(result):  # e.g. a lambda that returns a coroutine
                        tasks.create_task(self._handle_async(event, result))
                        continue
                    await self._answer(event, result, error)
            elif isinstance(event, CallFailed):
                self._resolve(event.message_id, error=OcppCallError(event))
            elif isinstance(event, ResponseRejected):
                log.warning("OCPP %s rejected our response %s: %s %s", self.identity, event.message_id,
                            event.code, event.description)

    def _resolve(self, message_id: str, *, result: Any = None, error: Exception | None = None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
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
        await self._answer(event, result, error)

    async def _answer(self, event: RequestReceived | MessageReceived, result: Any, error: Exception | None) -> None:
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
        self._tap(True, frame)
        try:
            await self.ws.send(frame)
        except ConnectionClosed:
            pass

    def _arm_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        deadline = self.conn.next_deadline()
        self._timer = None if deadline is None else self._loop.call_at(deadline, self._on_deadline)

    def _on_deadline(self) -> None:
        self._timer = None
        self.conn.handle_timeout(self._loop.time())
        for event in self.conn.events():
            if isinstance(event, CallFailed):
                self._resolve(event.message_id, error=OcppCallError(event))
        self._arm_timer()


SessionSetup = Callable[[OcppSession], Awaitable[None] | None]


async def _run_setup(setup: SessionSetup | None, session: OcppSession) -> None:
    if setup is None:
        return
    result = setup(session)
    if inspect.isawaitable(result):
        await result


# ---- CSMS side -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerSecurity:
    """Security profile of a CSMS endpoint (OCPP 2.x Part 2 A00).

    ``profile`` 0 = none (tests only), 1 = basic auth, 2 = TLS + basic auth, 3 = mutual TLS.
    ``check_password(identity, password)`` decides profiles 1 and 2; ``ssl_context`` is required
    for 2 and 3 (for 3 it must request and verify client certificates).
    """

    profile: int = 0
    check_password: Callable[[str, str], bool] | None = None
    ssl_context: ssl.SSLContext | None = None

    def __post_init__(self) -> None:
        if self.profile in (1, 2) and self.check_password is None:
            raise ValueError(f"security profile {self.profile} needs check_password")
        if self.profile in (2, 3) and self.ssl_context is None:
            raise ValueError(f"security profile {self.profile} needs an ssl_context")
        if self.profile == 3 and self.ssl_context is not None and self.ssl_context.verify_mode != ssl.CERT_REQUIRED:
            raise ValueError("security profile 3 needs ssl_context.verify_mode = CERT_REQUIRED")


def identity_from_path(path: str) -> str | None:
    """The charging-station identity: the last segment of the URL path (Part 4 §3.1.1)."""
    identity = unquote(path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1])
    return identity or None


def basic_auth_credentials(headers: Headers) -> tuple[str, str] | None:
    value = headers.get("Authorization")
    if not value or not value.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(value[6:], validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def _certificate_cn(ws: ServerConnection) -> str | None:
    cert = ws.transport.get_extra_info("peercert")
    if not cert:
        return None
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


@dataclass(kw_only=True)
class OcppServer:
    """A CSMS endpoint: accepts stations, runs one ``OcppSession`` each.

    ``setup(session)`` is called for every new station before its first frame is read; it
    registers handlers on ``session.router`` (and may remember the session to call the station).
    """

    setup: SessionSetup | None = None
    versions: Sequence[OcppVersion] = (OcppVersion.V2_1, OcppVersion.V2_0_1)
    security: ServerSecurity = field(default_factory=ServerSecurity)
    ping_interval_s: float | None = 30.0
    call_timeout_s: float = 30.0
    max_frame_bytes: int = 1 << 20
    flood_limit: FloodLimit | None = field(default_factory=FloodLimit)
    validate_payloads: bool = True
    on_session_end: Callable[[OcppSession], None] | None = None
    sessions: dict[str, OcppSession] = field(default_factory=dict)
    _server: Server | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen; returns the bound port."""
        self._server = await serve(
            self._handler, host, port,
            subprotocols=[Subprotocol(v.value) for v in self.versions],
            process_request=self._process_request,
            ssl=self.security.ssl_context,
            ping_interval=self.ping_interval_s,
            ping_timeout=self.ping_interval_s,
            max_size=self.max_frame_bytes,
            compression=None,
        )
        port_bound: int = next(iter(self._server.sockets)).getsockname()[1]
        return port_bound

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def __aenter__(self) -> OcppServer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        identity = identity_from_path(request.path)
        if identity is None:
            return ws.respond(HTTPStatus.NOT_FOUND, "station identity missing in URL path\n")
        profile = self.security.profile
        if profile in (1, 2):
            credentials = basic_auth_credentials(request.headers)
            check = self.security.check_password
            assert check is not None
            if credentials is None or not hmac.compare_digest(credentials[0], identity) or not check(*credentials):
                log.warning("OCPP %s: basic authentication refused", identity)
                response = ws.respond(HTTPStatus.UNAUTHORIZED, "authentication failed\n")
                response.headers["WWW-Authenticate"] = 'Basic realm="OCPP", charset="UTF-8"'
                return response
        elif profile == 3 and _certificate_cn(ws) != identity:
            log.warning("OCPP %s: client certificate does not name this station", identity)
            return ws.respond(HTTPStatus.FORBIDDEN, "client certificate does not match station identity\n")
        return None

    def _new_message_id_factory(self, identity: str) -> Callable[[], str]:
        counter = 0

        def new_id() -> str:
            nonlocal counter
            counter += 1
            return f"s{counter}"

        return new_id

    async def _handler(self, ws: ServerConnection) -> None:
        identity = identity_from_path(ws.request.path if ws.request else "") or "?"
        version = OcppVersion(ws.subprotocol or "")
        conn = OcppConnection(version=version, new_message_id=self._new_message_id_factory(identity),
                              call_timeout_s=self.call_timeout_s, validate_payloads=self.validate_payloads,
                              max_frame_chars=self.max_frame_bytes, flood_limit=self.flood_limit, name=identity)
        session = OcppSession(ws, conn, identity=identity)
        previous = self.sessions.get(identity)
        if previous is not None:  # the newest connection of a station wins (it reconnected)
            await previous.ws.close(1000, "replaced by a new connection")
        self.sessions[identity] = session
        log.info("OCPP %s connected (%s)", identity, version)
        try:
            await _run_setup(self.setup, session)
            await session.run()
        finally:
            if self.sessions.get(identity) is session:
                del self.sessions[identity]
            if self.on_session_end is not None:
                self.on_session_end(session)
            log.info("OCPP %s disconnected", identity)


# ---- station side --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    """Reconnect delays as in OCPP 2.x B.FR / OCPPCommCtrlr RetryBackOff*: the n-th retry waits
    ``wait_minimum_s * 2**min(n, repeat_times)`` plus a uniform jitter of up to ``random_range_s``."""

    wait_minimum_s: float = 10.0
    random_range_s: float = 10.0
    repeat_times: int = 5

    def delay_s(self, attempt: int, uniform01: float) -> float:
        return float(self.wait_minimum_s * 2.0 ** min(attempt, self.repeat_times) + self.random_range_s * uniform01)


@dataclass(kw_only=True)
class OcppClient:
    """A charging station's connection to its CSMS, reconnecting with back-off for ever (until cancelled)."""

    url: str  # CSMS endpoint without the identity, e.g. "ws://127.0.0.1:9000/ocpp"
    identity: str
    setup: SessionSetup | None = None  # registers handlers; runs before the first frame is read
    on_connected: Callable[[OcppSession], Coroutine[Any, Any, None]] | None = None  # e.g. BootNotification; cancelled on loss
    versions: Sequence[OcppVersion] = (OcppVersion.V2_1, OcppVersion.V2_0_1)
    password: str | None = None  # security profiles 1 and 2
    ssl_context: ssl.SSLContext | None = None  # profiles 2 and 3 (3: with our client certificate loaded)
    backoff: Backoff = field(default_factory=Backoff)
    uniform01: Callable[[], float] = random.random  # injected jitter source
    ping_interval_s: float | None = 30.0
    call_timeout_s: float = 30.0
    max_frame_bytes: int = 1 << 20
    validate_payloads: bool = True
    new_message_id: Callable[[], str] | None = None
    connects: int = 0  # connections opened
    failures: list[Exception] = field(default_factory=list)  # why each failed attempt ended (last 10)
    _session: OcppSession | None = None
    _connected: asyncio.Event = field(default_factory=asyncio.Event)

    async def session(self) -> OcppSession:
        """The current session, waiting until there is one."""
        while True:
            await self._connected.wait()
            if self._session is not None and not self._session.closed.is_set():
                return self._session
            await asyncio.sleep(0.01)

    async def run(self) -> None:
        attempt = 0
        while True:
            try:
                await self._run_once()
                attempt = 0
            except (OSError, ConnectionClosed, TimeoutError) as exc:
                log.info("OCPP %s: connection to %s failed: %s", self.identity, self.url, exc)
                self.failures = [*self.failures[-9:], exc]
            except Exception as exc:  # e.g. HTTP 401/403/400 during the handshake
                log.warning("OCPP %s: connection to %s ended: %r", self.identity, self.url, exc)
                self.failures = [*self.failures[-9:], exc]
            delay = self.backoff.delay_s(attempt, self.uniform01())
            attempt += 1
            await asyncio.sleep(delay)

    async def _run_once(self) -> None:
        headers: dict[str, str] = {}
        if self.password is not None:
            token = base64.b64encode(f"{self.identity}:{self.password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        uri = f"{self.url.rstrip('/')}/{self.identity}"
        async with connect(uri, subprotocols=[Subprotocol(v.value) for v in self.versions], ssl=self.ssl_context,
                           additional_headers=headers, ping_interval=self.ping_interval_s,
                           ping_timeout=self.ping_interval_s, max_size=self.max_frame_bytes, compression=None,
                           proxy=None) as ws:
            version = OcppVersion(ws.subprotocol or "")
            new_id = self.new_message_id or _uuid_ids()
            conn = OcppConnection(version=version, new_message_id=new_id, call_timeout_s=self.call_timeout_s,
                                  validate_payloads=self.validate_payloads, max_frame_chars=self.max_frame_bytes,
                                  name=self.identity)
            session = OcppSession(ws, conn, identity=self.identity)
            self.connects += 1
            self._session = session
            await _run_setup(self.setup, session)
            self._connected.set()
            try:
                async with asyncio.TaskGroup() as tasks:
                    if self.on_connected is not None:
                        hook = tasks.create_task(self._guarded(self.on_connected(session)))
                        session.closed_hooks.append(hook.cancel)
                    await session.run()
            finally:
                self._connected.clear()
                self._session = None


    async def _guarded(self, hook: Coroutine[Any, Any, None]) -> None:
        """A failing ``on_connected`` is a bug of its author: logged, the connection stays up."""
        try:
            await hook
        except Exception:
            log.exception("OCPP %s: on_connected failed", self.identity)


def _uuid_ids() -> Callable[[], str]:
    import uuid

    return lambda: str(uuid.uuid4())
