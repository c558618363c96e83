"""Thin asyncio adapter for ISO 15118-20 (:mod:`bidicharge.protocols.iso15118_20`).

It moves bytes and time between sockets and the sans-I/O cores; every protocol decision is
the core's. What lives here:

* SDP over UDP/IPv6 (:class:`SdpResponder` on the SECC side, :func:`discover_secc` on the
  EVCC side: 250 ms per request, up to 50 requests, as Josev's timers);
* V2GTP over TCP, optionally TLS 1.3 (:class:`SeccServer`, :func:`connect_evcc`);
* :func:`run_session`: the loop that feeds a core until it closes.

Link-local operation: the SECC binds to its interface's ``fe80::`` address (scope = the
interface), the EVCC multicasts SDP to ``ff02::1`` on its interface and connects to the
address the SECC named, with its own interface as scope. On loopback (tests) SDP goes by
unicast to ``::1``.

Time comes from an injected :class:`~bidicharge.runtime.clock.Clock` (default wall clock):
the cores see its ``now()`` (epoch seconds, also the message headers' TimeStamp).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import socket
import ssl
import struct
from collections.abc import Callable
from typing import Protocol, cast

from bidicharge.protocols.iso15118_20 import Evcc, RemoteProtocolError, Secc, sdp
from bidicharge.runtime.clock import Clock, WallClock

log = logging.getLogger(__name__)


class Core(Protocol):
    closed: bool

    def receive_data(self, data: bytes, now: float) -> None: ...
    def data_to_send(self) -> bytes: ...
    def next_deadline(self) -> float | None: ...
    def handle_timeout(self, now: float) -> None: ...
    def connection_lost(self) -> None: ...


OnEvents = Callable[[float], None]
CLOSE_TIMEOUT_s = 2.0


async def run_session(
    core: Core,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    clock: Clock,
    on_events: OnEvents | None = None,
) -> None:
    """Feed `core` from the stream until it closes or the peer goes; then close the stream.

    `on_events(now)` runs after every input so the owner can read the core's events."""
    try:
        while True:
            out = core.data_to_send()
            if out:
                writer.write(out)
                await writer.drain()
            if core.closed:
                break
            deadline = core.next_deadline()
            delay = None if deadline is None else max(0.0, deadline - clock.now())
            try:
                async with asyncio.timeout(delay):
                    data = await reader.read(65536)
            except TimeoutError:
                core.handle_timeout(clock.now())
            else:
                if not data:
                    core.connection_lost()
                else:
                    core.receive_data(data, clock.now())
            if on_events is not None:
                on_events(clock.now())
    except (ConnectionError, ssl.SSLError) as exc:
        log.info("ISO 15118 connection ended: %r", exc)
        core.connection_lost()
        if on_events is not None:
            on_events(clock.now())
    finally:
        writer.close()
        # a TLS peer that never answers close_notify must not hold the session open
        with contextlib.suppress(ConnectionError, ssl.SSLError, TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT_s):
                await writer.wait_closed()


def link_local_address(interface: str) -> str:
    """The interface's ``fe80::`` address (Linux ``/proc/net/if_inet6``), for binding the SECC."""
    with open("/proc/net/if_inet6", encoding="ascii") as table:
        for line in table:
            hex_addr, _index, _plen, scope, _flags, name = line.split()
            if name == interface and int(scope, 16) == 0x20:  # link scope
                return str(ipaddress.IPv6Address(bytes.fromhex(hex_addr)))
    raise LookupError(f"{interface} has no link-local IPv6 address")


# ---- TLS 1.3 ------------------------------------------------------------------------------
# ISO 15118-20 uses TLS 1.3 only (suites TLS_AES_256_GCM_SHA384 and
# TLS_CHACHA20_POLY1305_SHA256, [V2G20-2459] as quoted by Josev). Python's ssl cannot narrow
# the TLS 1.3 suites, so OpenSSL's TLS 1.3 defaults (which include both) are offered.
def secc_tls_context(
    *,
    cert_chain: str | os.PathLike[str],
    key: str | os.PathLike[str],
    client_roots: str | os.PathLike[str] | None = None,
    password: str | None = None,
) -> ssl.SSLContext:
    """The SECC's context: its leaf + CPO sub-CA chain; with `client_roots` the EVCC must present
    a vehicle certificate that chains to them (mutual authentication)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert_chain, key, password)
    if client_roots is not None:
        ctx.load_verify_locations(client_roots)
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def evcc_tls_context(
    *,
    v2g_roots: str | os.PathLike[str],
    cert_chain: str | os.PathLike[str] | None = None,
    key: str | os.PathLike[str] | None = None,
    password: str | None = None,
) -> ssl.SSLContext:
    """The EVCC's context: trusts the V2G root(s); the SECC is identified by its chain to a V2G
    root, not by a host name (it has only a link-local address)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(v2g_roots)
    if cert_chain is not None:  # the vehicle certificate, for SECCs that authenticate the EV
        ctx.load_cert_chain(cert_chain, key, password)
    return ctx


# ---- SDP ----------------------------------------------------------------------------------
class _SdpServerProtocol(asyncio.DatagramProtocol):
    def __init__(self, answer: Callable[[sdp.SdpRequest], sdp.SdpResponse | None]) -> None:
        self._answer = answer
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        try:
            request = sdp.decode_request(data)
        except RemoteProtocolError as exc:
            log.info("ignored SDP datagram from %s: %s", addr, exc)
            return
        response = self._answer(request)
        if response is not None and self.transport is not None:
            self.transport.sendto(sdp.encode_response(response), addr)


def _udp6_socket(host: str, port: int, interface: str | None, *, join_multicast: bool) -> socket.socket:
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    scope = socket.if_nametoindex(interface) if interface else 0
    if interface:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, scope)
    if join_multicast and interface:
        group = socket.inet_pton(socket.AF_INET6, sdp.SDP_MULTICAST_ADDRESS)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, group + struct.pack("@I", scope))
    sock.bind((host, port, 0, scope))
    sock.setblocking(False)
    return sock


class SdpResponder:
    """Answers SDP requests with the SECC's address and TCP port (security as offered)."""

    def __init__(
        self,
        *,
        address: str,
        tcp_port: int,
        tls: bool,
        interface: str | None = None,
        host: str = "::",
        port: int = sdp.SDP_PORT,
    ) -> None:
        self._response = sdp.SdpResponse(
            address=ipaddress.IPv6Address(address.split("%")[0]),
            port=tcp_port,
            security=sdp.Security.TLS if tls else sdp.Security.NO_TLS,
        )
        self._host, self._port, self._interface = host, port, interface
        self._transport: asyncio.DatagramTransport | None = None

    def _answer(self, request: sdp.SdpRequest) -> sdp.SdpResponse | None:
        if request.transport != sdp.TransportProtocol.TCP:
            return None
        return self._response  # the EVCC decides whether our security suits it

    @property
    def port(self) -> int:
        assert self._transport is not None
        return int(self._transport.get_extra_info("sockname")[1])

    async def __aenter__(self) -> SdpResponder:
        sock = _udp6_socket(self._host, self._port, self._interface, join_multicast=True)
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: _SdpServerProtocol(self._answer), sock=sock
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._transport is not None:
            self._transport.close()


class _SdpClientProtocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.responses: asyncio.Queue[sdp.SdpResponse] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        with contextlib.suppress(RemoteProtocolError):
            self.responses.put_nowait(sdp.decode_response(data))


async def discover_secc(
    *,
    tls: bool = False,
    target: str = sdp.SDP_MULTICAST_ADDRESS,
    port: int = sdp.SDP_PORT,
    interface: str | None = None,
    timeout_s: float = sdp.SDP_REQUEST_TIMEOUT_s,
    attempts: int = sdp.SDP_MAX_REQUESTS,
) -> sdp.SdpResponse:
    """Send SDP requests until an SECC answers; TimeoutError after `attempts` × `timeout_s`."""
    sock = _udp6_socket("::", 0, interface, join_multicast=False)
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(_SdpClientProtocol, sock=sock)
    scope = socket.if_nametoindex(interface) if interface else 0
    request = sdp.encode_request(sdp.SdpRequest(security=sdp.Security.TLS if tls else sdp.Security.NO_TLS))
    try:
        for _ in range(attempts):
            transport.sendto(request, (target, port, 0, scope))
            try:
                async with asyncio.timeout(timeout_s):
                    return await protocol.responses.get()
            except TimeoutError:
                continue
        raise TimeoutError(f"no SDP response after {attempts} requests")
    finally:
        transport.close()


# ---- TCP / TLS ------------------------------------------------------------------------------
SessionFactory = Callable[[], tuple[Secc, OnEvents | None]]


class SeccServer:
    """TCP (or TLS) server: one `Secc` per connection from `make_session()`, plus SDP."""

    def __init__(
        self,
        make_session: SessionFactory,
        *,
        host: str = "::1",
        port: int = 0,
        interface: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        sdp_port: int | None = sdp.SDP_PORT,
        clock: Clock | None = None,
    ) -> None:
        self._make_session = make_session
        self._host, self._port, self._interface = host, port, interface
        self._ssl = ssl_context
        self._sdp_port = sdp_port
        self._clock = clock or WallClock()
        self._server: asyncio.Server | None = None
        self._sdp: SdpResponder | None = None
        self.sessions_done = 0
        self.port = 0  # the bound TCP port, once entered
        self._open: set[asyncio.StreamWriter] = set()
        self._idle = asyncio.Event()

    @property
    def sdp_port(self) -> int:
        assert self._sdp is not None
        return self._sdp.port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        secc, on_events = self._make_session()
        self._open.add(writer)
        try:
            await run_session(secc, reader, writer, clock=self._clock, on_events=on_events)
        finally:
            self._open.discard(writer)
            self.sessions_done += 1
            if not self._open:
                self._idle.set()

    async def __aenter__(self) -> SeccServer:
        scope = socket.if_nametoindex(self._interface) if self._interface else 0
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # port 0: the first free port of the dynamic range the SDP response must name
        for port in [self._port] if self._port else sdp.TCP_PORT_RANGE:
            try:
                sock.bind((self._host, port, 0, scope))
                break
            except OSError:
                if self._port:
                    raise
        else:
            raise OSError(f"no free TCP port in {sdp.TCP_PORT_RANGE}")
        self._server = await asyncio.start_server(self._serve, sock=sock, ssl=self._ssl)
        self.port = int(sock.getsockname()[1])
        if self._sdp_port is not None:
            self._sdp = SdpResponder(
                address=self._host,
                tcp_port=self.port,
                tls=self._ssl is not None,
                interface=self._interface,
                port=self._sdp_port,
                host=self._host if not self._interface else "::",
            )
            await self._sdp.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._sdp is not None:
            await self._sdp.__aexit__()
        if self._server is not None:
            self._server.close()
            # end the sessions still open by closing their streams (their cores see the
            # connection go), and wait for their handlers rather than cancelling them
            if self._open:
                self._idle.clear()
                for writer in list(self._open):
                    writer.close()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(2 * CLOSE_TIMEOUT_s):
                        await self._idle.wait()
            await self._server.wait_closed()


async def connect_evcc(
    evcc: Evcc,
    *,
    on_events: OnEvents | None = None,
    sdp_target: str = sdp.SDP_MULTICAST_ADDRESS,
    sdp_port: int = sdp.SDP_PORT,
    interface: str | None = None,
    ssl_context: ssl.SSLContext | None = None,
    clock: Clock | None = None,
    server_hostname: str | None = None,
    sdp_attempts: int = sdp.SDP_MAX_REQUESTS,
) -> sdp.SdpResponse:
    """Discover the SECC by SDP, connect, and run `evcc` until the session ends."""
    clock = clock or WallClock()
    found = await discover_secc(
        tls=ssl_context is not None,
        target=sdp_target,
        port=sdp_port,
        interface=interface,
        attempts=sdp_attempts,
    )
    if (found.security == sdp.Security.TLS) != (ssl_context is not None):
        raise ConnectionError(f"the SECC offers {found.security.name}, we asked for the other")
    scope = socket.if_nametoindex(interface) if interface else 0
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (str(found.address), found.port, 0, scope))
    reader, writer = await asyncio.open_connection(
        sock=sock, ssl=ssl_context, server_hostname=(server_hostname or "") if ssl_context else None
    )
    evcc.start(clock.now())
    await run_session(evcc, reader, writer, clock=clock, on_events=on_events)
    return found
