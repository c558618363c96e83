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

All protocol decisions stay in the sans-I/O cores: websockets' for RFC 6455, driven from
asyncio's ``Protocol`` callbacks by ``ws_link.WsLink``, and ``protocols.ocppj`` for OCPP-J, whose
frames ``ocpp_session.OcppSession`` carries to a ``Router``'s handlers. This module holds the two
endpoints: ``OcppServer`` (CSMS) and ``OcppClient`` (station).
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

from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol

from bidicharge.protocols.ocppj import (
    FloodLimit,
    OcppConnection,
    OcppVersion,
)

from .ocpp_session import OcppCallError, OcppSession
from .ws_link import WsLink, open_client_link

__all__ = ["Backoff", "OcppCallError", "OcppClient", "OcppServer", "OcppSession", "ServerSecurity",
           "basic_auth_credentials", "identity_from_path"]

log = logging.getLogger(__name__)



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


def _certificate_cn(link: WsLink) -> str | None:
    cert = link.transport.get_extra_info("peercert") if link.transport is not None else None
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
    close_timeout_s: float = 10.0  # a closing handshake, or a handler at shutdown, may take this long
    on_session_end: Callable[[OcppSession], None] | None = None
    sessions: dict[str, OcppSession] = field(default_factory=dict)
    _server: asyncio.Server | None = None
    _links: set[WsLink] = field(default_factory=set)
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)  # one per open connection, owned here

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen; returns the bound port."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._new_link, host, port, ssl=self.security.ssl_context)
        port_bound: int = self._server.sockets[0].getsockname()[1]
        return port_bound

    async def close(self) -> None:
        """Stop listening, close every connection with 1001 (going away), wait for the handlers."""
        if self._server is None:
            return
        self._server.close()
        links = list(self._links)
        for link in links:
            link.close_nowait(1001, "CSMS shutting down")
        if links:
            await asyncio.wait([link.closed for link in links], timeout=self.close_timeout_s)
        for link in links:
            if link.transport is not None and not link.closed.done():
                link.transport.abort()
        if self._handlers:
            _, stuck = await asyncio.wait(list(self._handlers), timeout=self.close_timeout_s)
            for handler in stuck:  # e.g. a setup that never returns
                handler.cancel()
            if stuck:
                await asyncio.wait(stuck)
        await self._server.wait_closed()
        self._server = None

    def _new_link(self) -> WsLink:
        protocol = ServerProtocol(subprotocols=[Subprotocol(v.value) for v in self.versions],
                                  max_size=self.max_frame_bytes)
        link = WsLink(protocol, ping_interval_s=self.ping_interval_s, ping_timeout_s=self.ping_interval_s,
                      close_timeout_s=self.close_timeout_s, on_request=self._process_request, on_open=self._on_open)
        self._links.add(link)
        link.closed.add_done_callback(lambda _: self._links.discard(link))
        return link

    def _on_open(self, link: WsLink) -> None:
        handler = asyncio.get_running_loop().create_task(self._handler(link))
        self._handlers.add(handler)
        handler.add_done_callback(self._handlers.discard)

    async def __aenter__(self) -> OcppServer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _process_request(self, ws: WsLink, request: Request) -> Response | None:
        identity = identity_from_path(request.path)
        if identity is None:
            return ws.reject(HTTPStatus.NOT_FOUND, "station identity missing in URL path\n")
        profile = self.security.profile
        if profile in (1, 2):
            credentials = basic_auth_credentials(request.headers)
            check = self.security.check_password
            assert check is not None
            if credentials is None or not hmac.compare_digest(credentials[0], identity) or not check(*credentials):
                log.warning("OCPP %s: basic authentication refused", identity)
                response = ws.reject(HTTPStatus.UNAUTHORIZED, "authentication failed\n")
                response.headers["WWW-Authenticate"] = 'Basic realm="OCPP", charset="UTF-8"'
                return response
        elif profile == 3 and _certificate_cn(ws) != identity:
            log.warning("OCPP %s: client certificate does not name this station", identity)
            return ws.reject(HTTPStatus.FORBIDDEN, "client certificate does not match station identity\n")
        return None

    def _new_message_id_factory(self, identity: str) -> Callable[[], str]:
        counter = 0

        def new_id() -> str:
            nonlocal counter
            counter += 1
            return f"s{counter}"

        return new_id

    async def _handler(self, ws: WsLink) -> None:
        identity = identity_from_path(ws.request.path if ws.request else "") or "?"
        version = OcppVersion(ws.subprotocol or "")
        conn = OcppConnection(version=version, new_message_id=self._new_message_id_factory(identity),
                              call_timeout_s=self.call_timeout_s, validate_payloads=self.validate_payloads,
                              max_frame_chars=self.max_frame_bytes, flood_limit=self.flood_limit, name=identity)
        session = OcppSession(ws, conn, identity=identity)
        previous = self.sessions.get(identity)
        if previous is not None:  # the newest connection of a station wins (it reconnected)
            previous.ws.close_nowait(1000, "replaced by a new connection")  # it ends on its own
        self.sessions[identity] = session
        log.info("OCPP %s connected (%s)", identity, version)
        try:
            await _run_setup(self.setup, session)
            await session.run()
        except Exception:  # a bug in setup or a handler's group: this station's connection ends, the server stays
            log.exception("OCPP %s: connection handler failed", identity)
            ws.close_nowait(1011, "internal error")
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
            except (OSError, ConnectionClosed, TimeoutError) as exc:  # network: expected, retried quietly
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
        ws = await open_client_link(uri, subprotocols=[v.value for v in self.versions], headers=headers,
                                    ssl_context=self.ssl_context, max_size=self.max_frame_bytes,
                                    ping_interval_s=self.ping_interval_s, ping_timeout_s=self.ping_interval_s)
        try:
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
        finally:
            await ws.close()  # closing handshake; aborted after the link's close timeout

    async def _guarded(self, hook: Coroutine[Any, Any, None]) -> None:
        """A failing ``on_connected`` is a bug of its author: logged, the connection stays up."""
        try:
            await hook
        except Exception:
            log.exception("OCPP %s: on_connected failed", self.identity)


def _uuid_ids() -> Callable[[], str]:
    """Message ids unique for the connection (Part 4 §4.1.3, at most 36 characters): a random
    prefix per connection and a counter — a uuid4 per message costs as much as a frame's masking."""
    import itertools
    import uuid

    prefix = uuid.uuid4().hex[:16]
    counter = itertools.count(1)
    return lambda: f"{prefix}-{next(counter)}"
