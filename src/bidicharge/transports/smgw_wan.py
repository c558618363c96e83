"""SMGW WAN and HAN adapters: HTTPS over mutual TLS around :mod:`bidicharge.protocols.tr03109`.

BSI TR-03109-1: the gateway initiates every WAN connection (TLS 1.2+ with SM-PKI
certificates, TR-03116-3 ECDHE-ECDSA AES-GCM suites) and posts CMS-sealed meter data to
each EMT. This module moves bytes and time only:

* :class:`SmgwWanClient` — delivers the core's backlog per EMT, in sequence order, over one
  keep-alive connection, acknowledging to the core only after the EMT answered 2xx; on any
  failure (refused, reset, timeout, wrong TLS peer) it backs off (bounded, doubling) and
  retries — messages stay in the core's outbox, so nothing is lost while the WAN is down.
* :func:`serve_emt_inbox` — an EMT's receiving endpoint (``POST`` of
  ``application/pkcs7-mime``) around :class:`~bidicharge.protocols.tr03109.EmtInbox`:
  204 when stored or already stored, 400 with the refusal code otherwise.
* :func:`serve_han` — the household's read-only HAN API (I-47, HKS1), answers from
  :func:`bidicharge.protocols.tr03109.han.handle`.
* :func:`mutual_tls_context` — contexts for the above from PEM files (:func:`harden_tls` for others).

HTTP/1.1 framing is h11 (sans-I/O); bodies are capped at ``MAX_BODY_BYTES``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import h11

from bidicharge.protocols.tr03109 import (
    EmtEndpoint,
    EmtInbox,
    OutgoingMessage,
    Received,
    RemoteProtocolError,
    SmgwCore,
    han,
)
from bidicharge.protocols.tr03109.cls import certificate_sha256

log = logging.getLogger(__name__)

MAX_BODY_BYTES: Final = 4 * 1024 * 1024
IO_TIMEOUT_S: Final = 10.0
TR03116_CIPHERS: Final = ("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                          "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384")
CMS_MEDIA_TYPE: Final = "application/pkcs7-mime"


def mutual_tls_context(*, cert_file: Path, key_file: Path, ca_file: Path, server: bool,
                       ecdh_curve: str | None = None) -> ssl.SSLContext:
    """TLS 1.2+ with SM-PKI certificates both ways, TR-03116-3 ECDHE-ECDSA suites.

    `ecdh_curve` (e.g. ``"brainpoolP256r1"``) limits key exchange to that group, which is
    also how a brainpool certificate becomes usable: Python's `ssl` offers no brainpool group
    by default, and OpenSSL 3.0 has brainpool for TLS 1.2 only, so brainpool pins TLS 1.2.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    harden_tls(ctx, ecdh_curve)
    ctx.load_cert_chain(cert_file, key_file)
    ctx.load_verify_locations(ca_file)
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def harden_tls(ctx: ssl.SSLContext, ecdh_curve: str | None) -> None:
    """TLS 1.2 at least, TR-03116-3 suites, optionally one ECDHE group (brainpool: TLS 1.2 only)."""
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(TR03116_CIPHERS)
    if ecdh_curve is not None:
        ctx.set_ecdh_curve(ecdh_curve)
        if ecdh_curve.startswith("brainpool"):
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2


# ---- HTTP over asyncio streams (h11 does the framing) --------------------------------
async def _next_event(conn: h11.Connection, reader: asyncio.StreamReader) -> object:
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        async with asyncio.timeout(IO_TIMEOUT_S):
            data = await reader.read(65_536)
        conn.receive_data(data)  # b"" is EOF


async def _read_body(conn: h11.Connection, reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        event = await _next_event(conn, reader)
        if isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_BODY_BYTES:
                raise h11.RemoteProtocolError("body too large", error_status_hint=413)
        elif isinstance(event, h11.EndOfMessage):
            return bytes(body)
        else:
            raise h11.RemoteProtocolError(f"unexpected {type(event).__name__}")


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpRequest:
    method: str
    target: str
    body: bytes
    peer_certificate_der: bytes | None


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpAnswer:
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


Handler = Callable[[HttpRequest], HttpAnswer]


async def serve_https(handler: Handler, *, host: str, port: int, ssl_context: ssl.SSLContext) -> asyncio.Server:
    """An HTTP/1.1 server over TLS (keep-alive), one `handler` call per request."""

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER)
        ssl_object = writer.get_extra_info("ssl_object")
        peer = None if ssl_object is None else ssl_object.getpeercert(binary_form=True)
        try:
            while True:
                event = await _next_event(conn, reader)
                if not isinstance(event, h11.Request):
                    break
                body = await _read_body(conn, reader)
                answer = handler(HttpRequest(method=event.method.decode(), target=event.target.decode(),
                                             body=body, peer_certificate_der=peer))
                headers = [*answer.headers, ("Content-Length", str(len(answer.body)))]
                writer.write(conn.send(h11.Response(status_code=answer.status, headers=headers)) or b"")
                writer.write(conn.send(h11.Data(data=answer.body)) or b"")
                writer.write(conn.send(h11.EndOfMessage()) or b"")
                await writer.drain()
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    break
                conn.start_next_cycle()
        except (h11.RemoteProtocolError, ConnectionError, ssl.SSLError, TimeoutError) as exc:
            log.info("HTTPS peer dropped: %s", exc)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError, TimeoutError):
                await writer.wait_closed()

    return await asyncio.start_server(on_connection, host, port, ssl=ssl_context)


# ---- EMT side ------------------------------------------------------------------------
def emt_inbox_handler(inbox: EmtInbox, *, clock: Callable[[], float], path: str = "/meterdata",
                      on_received: Callable[[Received], None] | None = None) -> Handler:
    def handle(request: HttpRequest) -> HttpAnswer:
        if request.method != "POST" or request.target != path:
            return HttpAnswer(status=405 if request.target == path else 404, headers=(("Allow", "POST"),))
        try:
            received = inbox.receive(request.body, now=clock())
        except RemoteProtocolError as exc:
            log.warning("EMT %s refused meter data: %s", inbox.emt_id, exc)
            return HttpAnswer(status=400, headers=(("Content-Type", "text/plain"),), body=exc.reason.encode())
        if received.missing_before:
            log.warning("EMT %s: gateway %s skipped %s", inbox.emt_id, received.document.gateway_id,
                        received.missing_before)
        if on_received is not None:
            on_received(received)
        return HttpAnswer(status=204)

    return handle


async def serve_emt_inbox(inbox: EmtInbox, *, clock: Callable[[], float], host: str, port: int,
                          ssl_context: ssl.SSLContext, path: str = "/meterdata",
                          on_received: Callable[[Received], None] | None = None) -> asyncio.Server:
    return await serve_https(emt_inbox_handler(inbox, clock=clock, path=path, on_received=on_received),
                             host=host, port=port, ssl_context=ssl_context)


# ---- HAN (I-47) -----------------------------------------------------------------------
async def serve_han(core: SmgwCore, *, host: str, port: int, ssl_context: ssl.SSLContext) -> asyncio.Server:
    def handle(request: HttpRequest) -> HttpAnswer:
        answer = han.handle(request.method, request.target, gateway_id=core.gateway_id, latest=core.latest_readings())
        return HttpAnswer(status=answer.status, headers=answer.headers,
                          body=b"" if request.method == "HEAD" else answer.body)

    return await serve_https(handle, host=host, port=port, ssl_context=ssl_context)


# ---- gateway side: WAN delivery -------------------------------------------------------
class WanRefused(Exception):
    """The EMT answered, but not with 2xx, or its TLS certificate is not the pinned one."""


class SmgwWanClient:
    """Delivers `core`'s backlog to each EMT; call :meth:`notify` after `core.poll()` queued messages.

    `resolve` maps an EMT's communication profile to the (host, port) to dial (default: as
    configured); `server_hostname` is checked against the EMT's TLS certificate;
    `on_delivered` sees every acknowledged message (traces: interface I-16, gateway -> EMT).
    """

    def __init__(self, core: SmgwCore, *, ssl_context: ssl.SSLContext,
                 resolve: Callable[[EmtEndpoint], tuple[str, int]] | None = None,
                 server_hostname: str = "localhost", backoff_initial_s: float = 0.05,
                 backoff_max_s: float = 5.0, idle_check_s: float = 1.0,
                 on_delivered: Callable[[OutgoingMessage], None] | None = None) -> None:
        self._core = core
        self._ssl = ssl_context
        self._resolve = resolve or (lambda e: (e.host, e.port))
        self._server_hostname = server_hostname
        self._backoff_initial_s = backoff_initial_s
        self._backoff_max_s = backoff_max_s
        self._idle_check_s = idle_check_s
        self._on_delivered = on_delivered
        self._wake = asyncio.Event()
        self._active: set[str] = set()
        self.delivered = 0
        self.failures = 0

    def notify(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Run until cancelled: one delivery task per EMT that has a backlog."""
        async with asyncio.TaskGroup() as group:
            while True:
                for emt_id in self._core.emts_with_backlog():
                    if emt_id not in self._active:
                        self._active.add(emt_id)
                        group.create_task(self._drain(emt_id))
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._idle_check_s):
                        await self._wake.wait()

    async def _drain(self, emt_id: str) -> None:
        delay = self._backoff_initial_s
        try:
            while self._core.pending(emt_id):
                try:
                    await self.deliver(emt_id)
                    delay = self._backoff_initial_s
                except (OSError, ssl.SSLError, TimeoutError, h11.ProtocolError, WanRefused) as exc:
                    self.failures += 1
                    log.warning("WAN to %s failed (%r); %d message(s) kept, retry in %.2f s", emt_id, exc,
                                len(self._core.pending(emt_id)), delay)
                    await asyncio.sleep(delay)
                    delay = min(2 * delay, self._backoff_max_s)
        finally:
            self._active.discard(emt_id)

    async def deliver(self, emt_id: str) -> int:
        """One connection: post every pending message in order; returns how many were acknowledged."""
        endpoint = self._core.endpoint(emt_id)
        if endpoint is None:
            raise WanRefused(f"no communication profile for {emt_id}")
        host, port = self._resolve(endpoint)
        async with asyncio.timeout(IO_TIMEOUT_S):
            reader, writer = await asyncio.open_connection(host, port, ssl=self._ssl,
                                                           server_hostname=self._server_hostname)
        count = 0
        try:
            peer = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
            if peer is None or certificate_sha256(peer) != endpoint.tls_certificate_sha256.lower():
                raise WanRefused(f"TLS peer of {emt_id} is not the pinned certificate")
            conn = h11.Connection(h11.CLIENT)
            for message in self._core.pending(emt_id):
                await self._post(conn, reader, writer, endpoint, message.cms)
                self._core.acknowledge(emt_id, message.sequence_no)
                self.delivered += 1
                if self._on_delivered is not None:
                    self._on_delivered(message)
                count += 1
                conn.start_next_cycle()
        finally:
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
                await writer.wait_closed()
        return count

    async def _post(self, conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    endpoint: EmtEndpoint, body: bytes) -> None:
        headers = [("Host", endpoint.host), ("Content-Type", CMS_MEDIA_TYPE), ("Content-Length", str(len(body)))]
        writer.write(conn.send(h11.Request(method="POST", target=endpoint.path, headers=headers)) or b"")
        writer.write(conn.send(h11.Data(data=body)) or b"")
        writer.write(conn.send(h11.EndOfMessage()) or b"")
        await writer.drain()
        response = await _next_event(conn, reader)
        if not isinstance(response, h11.Response):
            raise WanRefused(f"no response but {type(response).__name__}")
        answer = await _read_body(conn, reader)
        if not 200 <= response.status_code < 300:
            raise WanRefused(f"EMT answered {response.status_code} {answer[:80]!r}")
