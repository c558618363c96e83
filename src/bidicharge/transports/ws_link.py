"""One WebSocket connection driven straight from asyncio's ``Protocol`` callbacks.

The RFC 6455 work — opening handshake, framing and masking, fragmentation limits, ping
replies, the close handshake, ``max_size`` — is done by websockets' sans-I/O core
(``websockets.server.ServerProtocol`` / ``websockets.client.ClientProtocol``), the same core
websockets' own asyncio implementation wraps. That implementation hands every message through
an assembler, a future and the reader's task before the application sees it; an OCPP round
trip paid for four such hops. Here ``data_received`` feeds the core and a complete message is
given to the receiver at once, in the same callback, and a synchronous answer is written
back before the callback returns: no task, future or lock per message.

What the asyncio implementation did besides, and this module keeps:

* keepalive: a ping every ``ping_interval_s``; no pong within ``ping_timeout_s`` fails the
  connection with 1011 (RFC 6455 §5.5.2; websockets' keepalive semantics);
* ``ping()`` returning a future of the round-trip time, ``latency`` of the last pong;
* close handshake with a timeout after which the TCP connection is aborted (§7.1.1);
* back-pressure: while the transport's write buffer is above its high-water mark, reading
  stops (a peer that does not read our answers is not read either) and ``send`` waits;
* TLS, given by the caller to ``loop.create_server`` / ``loop.create_connection``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import cast

from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode, Frame, Opcode
from websockets.http11 import USER_AGENT, Request, Response
from websockets.protocol import CONNECTING, OPEN
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

log = logging.getLogger(__name__)

Receiver = Callable[[str | bytes], None]
Buffer = bytes | bytearray | memoryview


class WsLink(asyncio.Protocol):
    """A WebSocket endpoint (either side) as an ``asyncio.Protocol``.

    Server side: ``on_request(link, request)`` may return a refusing ``Response`` (e.g. 401);
    otherwise the core accepts (subprotocol negotiation, 400 without a common one) and
    ``on_open(link)`` is called. Client side: ``client_request`` is sent on connect and
    ``opened`` resolves when the server accepted it, or fails with websockets' handshake error.
    Complete messages go to the receiver given to ``attach``; until then they wait, and
    reading is paused.
    """

    def __init__(self, protocol: ServerProtocol | ClientProtocol, *, ping_interval_s: float | None,
                 ping_timeout_s: float | None, close_timeout_s: float = 10.0,
                 on_request: Callable[[WsLink, Request], Response | None] | None = None,
                 on_open: Callable[[WsLink], None] | None = None,
                 client_request: Request | None = None) -> None:
        self.protocol = protocol
        self.ping_interval_s = ping_interval_s
        self.ping_timeout_s = ping_timeout_s
        self.close_timeout_s = close_timeout_s
        self._on_request = on_request
        self._on_open = on_open
        self._client_request = client_request
        self._loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.request: Request | None = client_request if isinstance(protocol, ClientProtocol) else None
        self.response: Response | None = None
        self.subprotocol: str | None = None
        self.latency = 0.0  # seconds, of the last pong
        self.opened: asyncio.Future[None] = self._loop.create_future()
        self.closed: asyncio.Future[None] = self._loop.create_future()
        self._receiver: Receiver | None = None
        self._backlog: list[str | bytes] = []
        self._fragments: list[Buffer] = []
        self._fragment_opcode: Opcode | None = None
        self._pings: dict[bytes, tuple[float, asyncio.Future[float]]] = {}
        self._keepalive: asyncio.TimerHandle | None = None
        self._ping_deadline: asyncio.TimerHandle | None = None
        self._close_timer: asyncio.TimerHandle | None = None
        self._writing_paused = False
        self._drained: asyncio.Future[None] | None = None

    # ---- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream transport; not necessarily an ``asyncio.Transport`` subclass (uvloop's is not)
        self.transport = cast(asyncio.Transport, transport)
        if isinstance(self.protocol, ClientProtocol) and self._client_request is not None:
            self.protocol.send_request(self._client_request)
            self._flush()

    def data_received(self, data: bytes) -> None:
        protocol = self.protocol
        protocol.receive_data(data)
        events = protocol.events_received()
        self._flush()  # pong and close replies the core queued
        if protocol.close_expected():
            self._arm_close_timer()
        for event in events:
            if type(event) is Frame:
                self._on_frame(event)
            elif isinstance(event, Request):
                self._on_handshake_request(event)
            elif isinstance(event, Response):
                self._on_handshake_response(event)

    def eof_received(self) -> bool | None:
        self.protocol.receive_eof()
        self.protocol.events_received()
        self._flush()
        return None  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._keepalive, self._ping_deadline, self._close_timer):
            if timer is not None:
                timer.cancel()
        if not self.opened.done():
            handshake_exc = getattr(self.protocol, "handshake_exc", None)
            self.opened.set_exception(handshake_exc or ConnectionError("connection lost during the handshake"))
            self.opened.exception()  # retrieved: a refused handshake is reported by whoever awaits it
        for _, waiter in self._pings.values():
            if not waiter.done():
                waiter.set_exception(ConnectionError("connection closed before the pong"))
                waiter.exception()
        self._pings.clear()
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        if not self.closed.done():
            self.closed.set_result(None)

    def pause_writing(self) -> None:
        # back-pressure: stop reading a peer that does not read what we write
        self._writing_paused = True
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        self._writing_paused = False
        if self.transport is not None and (self._receiver is not None or self.protocol.state is not OPEN):
            self.transport.resume_reading()
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        self._drained = None

    # ---- application side ------------------------------------------------------------------

    @property
    def writing_paused(self) -> bool:
        """The transport's write buffer is above its high-water mark: reading is paused meanwhile."""
        return self._writing_paused

    def attach(self, receiver: Receiver) -> None:
        """Start delivering complete messages (and those that arrived before) to ``receiver``."""
        self._receiver = receiver
        backlog, self._backlog = self._backlog, []
        for message in backlog:
            self._deliver(message)
        if self.transport is not None and not self._writing_paused:
            self.transport.resume_reading()

    def reject(self, status: HTTPStatus, text: str) -> Response:
        """A refusing handshake response (server side), for ``on_request`` to return."""
        assert isinstance(self.protocol, ServerProtocol)
        return self.protocol.reject(status, text)

    def send_text(self, text: str) -> None:
        """Queue a text message on the transport now; raises ``ConnectionClosed`` once closing."""
        if self.protocol.state is not OPEN:
            raise self.protocol.close_exc
        self.protocol.send_text(text.encode())
        self._flush()

    async def send(self, text: str) -> None:
        """``send_text``, then wait while the transport's write buffer is above its high-water mark."""
        self.send_text(text)
        if self._writing_paused:
            if self._drained is None:
                self._drained = self._loop.create_future()
            await asyncio.shield(self._drained)

    async def ping(self, data: bytes | None = None) -> asyncio.Future[float]:
        """Send a ping; the returned future resolves to the round-trip time when the pong arrives."""
        if self.protocol.state is not OPEN:
            raise self.protocol.close_exc
        payload = os.urandom(4) if data is None else data
        waiter: asyncio.Future[float] = self._loop.create_future()
        self._pings[payload] = (self._loop.time(), waiter)
        self.protocol.send_ping(payload)
        self._flush()
        return waiter

    def close_nowait(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        """Start the closing handshake (§7.1.2); the TCP connection is aborted if it stalls."""
        if self.protocol.state is OPEN:
            self.protocol.send_close(code, reason)
            self._flush()
            self._arm_close_timer()
        elif self.protocol.state is CONNECTING and self.transport is not None:
            self.transport.abort()

    async def close(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        """Close and wait until the connection is closed."""
        self.close_nowait(code, reason)
        await asyncio.shield(self.closed)

    async def wait_closed(self) -> None:
        await asyncio.shield(self.closed)

    # ---- internals -------------------------------------------------------------------------

    def _flush(self) -> None:
        transport = self.transport
        if transport is None:
            return
        for data in self.protocol.data_to_send():
            if data:
                transport.write(data)
            elif transport.can_write_eof():  # the core asks to half-close (SEND_EOF)
                transport.write_eof()
            else:  # TLS cannot half-close
                transport.close()

    def _arm_close_timer(self) -> None:
        if self._close_timer is None and self.transport is not None:
            self._close_timer = self._loop.call_later(self.close_timeout_s, self.transport.abort)

    def _on_handshake_request(self, request: Request) -> None:
        protocol = self.protocol
        assert isinstance(protocol, ServerProtocol)
        self.request = request
        response = self._on_request(self, request) if self._on_request is not None else None
        if response is None:
            response = protocol.accept(request)
        protocol.send_response(response)
        self.response = response
        self._flush()
        if response.status_code != 101:
            self._arm_close_timer()
            return
        self._opened()
        if self._on_open is not None:
            self._on_open(self)

    def _on_handshake_response(self, response: Response) -> None:
        self.response = response
        if self.protocol.handshake_exc is not None:
            exc = self.protocol.handshake_exc
            if not self.opened.done():
                self.opened.set_exception(exc)
            self._arm_close_timer()
            return
        self._opened()

    def _opened(self) -> None:
        self.subprotocol = self.response.headers.get("Sec-WebSocket-Protocol") if self.response else None
        if self._receiver is None and self.transport is not None:
            self.transport.pause_reading()  # until someone attaches
        if self.ping_interval_s is not None:
            self._keepalive = self._loop.call_later(self.ping_interval_s, self._keepalive_ping)
        if not self.opened.done():
            self.opened.set_result(None)

    def _on_frame(self, frame: Frame) -> None:
        opcode = frame.opcode
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
            if frame.fin:
                self._message(opcode, frame.data)
            else:
                self._fragment_opcode, self._fragments = opcode, [frame.data]
        elif opcode is Opcode.CONT:
            self._fragments.append(frame.data)
            if frame.fin and self._fragment_opcode is not None:
                self._message(self._fragment_opcode, b"".join(self._fragments))
                self._fragment_opcode, self._fragments = None, []
        elif opcode is Opcode.PONG:
            self._on_pong(frame.data)
        # PING is answered and CLOSE handled by the core itself

    def _message(self, opcode: Opcode, data: Buffer) -> None:
        if opcode is Opcode.TEXT:
            try:
                text = str(data, "utf-8")
            except UnicodeDecodeError:  # RFC 6455 §8.1: invalid UTF-8 in a text message
                self.protocol.fail(CloseCode.INVALID_DATA, "invalid UTF-8")
                self._flush()
                self._arm_close_timer()
                return
            self._deliver(text)
        else:
            self._deliver(bytes(data))

    def _deliver(self, message: str | bytes) -> None:
        if self._receiver is None:
            self._backlog.append(message)
            return
        try:
            self._receiver(message)
        except Exception:  # the receiver's bug must not break the protocol state
            log.exception("WebSocket receiver failed")

    def _on_pong(self, data: Buffer) -> None:
        data = bytes(data)
        if data not in self._pings:
            return  # unsolicited (§5.5.3)
        now = self._loop.time()
        # a pong acknowledges its ping and every earlier one (as in websockets)
        for key in list(self._pings):
            sent_at, waiter = self._pings.pop(key)
            if not waiter.done():
                waiter.set_result(now - sent_at)
            if key == data:
                self.latency = now - sent_at
                break
        if self._ping_deadline is not None:
            self._ping_deadline.cancel()
            self._ping_deadline = None

    def _keepalive_ping(self) -> None:
        self._keepalive = None
        if self.protocol.state is not OPEN:
            return
        payload = os.urandom(4)
        self._pings[payload] = (self._loop.time(), self._loop.create_future())
        self.protocol.send_ping(payload)
        self._flush()
        if self.ping_timeout_s is not None and self._ping_deadline is None:
            self._ping_deadline = self._loop.call_later(self.ping_timeout_s, self._keepalive_lost)
        assert self.ping_interval_s is not None
        self._keepalive = self._loop.call_later(self.ping_interval_s, self._keepalive_ping)

    def _keepalive_lost(self) -> None:
        self._ping_deadline = None
        if self.protocol.state is OPEN:
            log.info("WebSocket keepalive: no pong within %s s", self.ping_timeout_s)
            self.protocol.fail(CloseCode.INTERNAL_ERROR, "keepalive ping timeout")
            self._flush()
            self._arm_close_timer()
            # a peer that answers no ping will not answer the close frame either: close the TCP
            # connection once the close frame is written (the timer aborts if it cannot be)
            if self.transport is not None:
                self.transport.close()


async def open_client_link(uri: str, *, subprotocols: Sequence[str], headers: dict[str, str],
                           ssl_context: ssl.SSLContext | None, max_size: int | None,
                           ping_interval_s: float | None, ping_timeout_s: float | None,
                           open_timeout_s: float = 10.0) -> WsLink:
    """Connect to ``uri`` (ws:// or wss://) and finish the opening handshake.

    Raises ``OSError`` when the TCP/TLS connection fails, ``TimeoutError`` when the handshake
    stalls, websockets' ``InvalidHandshake`` (e.g. ``InvalidStatus`` 401) when it is refused.
    """
    wsuri = parse_uri(uri)
    protocol = ClientProtocol(wsuri, subprotocols=[Subprotocol(s) for s in subprotocols], max_size=max_size)
    request = protocol.connect()
    request.headers["User-Agent"] = USER_AGENT
    for name, value in headers.items():
        request.headers[name] = value
    link = WsLink(protocol, ping_interval_s=ping_interval_s, ping_timeout_s=ping_timeout_s, client_request=request)
    if wsuri.secure and ssl_context is None:
        ssl_context = ssl.create_default_context()
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(open_timeout_s):
        await loop.create_connection(lambda: link, wsuri.host, wsuri.port,
                                     ssl=ssl_context if wsuri.secure else None,
                                     server_hostname=wsuri.host if wsuri.secure else None)
        try:
            await link.opened
        except BaseException:
            if link.transport is not None:
                link.transport.abort()
            raise
    return link


__all__ = ["ConnectionClosed", "Receiver", "WsLink", "open_client_link"]
