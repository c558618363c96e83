"""The SMGW's CLS channel: a transparent TLS proxy from an aEMP in the WAN to a control
unit (CLS device) behind the gateway (BSI TR-03109-1 HAN scenario HKS4, interface I-10).

The proxy terminates the aEMP's TLS (gateway certificate, client certificate asked for),
reads the channel the aEMP wants from TLS SNI, and lets
:func:`bidicharge.protocols.tr03109.cls.decide` judge against the GWA-set profile. Only then
does it open its own TLS to the control unit (gateway certificate as client certificate)
and copy bytes both ways without looking at them. Everybody else is refused and logged —
anonymous clients, unknown channels, certificates of another PKI (the TLS handshake
fails), valid SM-PKI certificates that the profile does not name.

When either side goes away the other is closed at once: a command cut off mid-way reaches
the control unit as an incomplete message followed by end of stream, which it must not
apply (its failsafe decides). The proxy itself stays up.

TLS is started inside the connection handler (``StreamWriter.start_tls``) so that a failed
handshake is ours to log. The proxy installs an ``sni_callback`` on the server context it is
given. Time for certificate validity comes from the injected ``clock``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509

from bidicharge.protocols.tr03109 import GatewayProfile, cls
from bidicharge.transports.smgw_wan import harden_tls

log = logging.getLogger(__name__)

HANDSHAKE_TIMEOUT_S: Final = 10.0
CHUNK: Final = 16_384


@dataclass(frozen=True, slots=True, kw_only=True)
class ClsLogEntry:
    """One line of the proxy's log: ``refused``, ``opened`` or ``closed``."""

    kind: str
    channel_id: str | None
    client: str
    reason: str
    bytes_to_cls: int = 0
    bytes_to_aemp: int = 0


def cls_server_context(*, cert_file: Path, key_file: Path, ca_file: Path,
                       ecdh_curve: str | None = None) -> ssl.SSLContext:
    """The gateway's WAN-side context: asks for a client certificate, so a missing one can be logged."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    harden_tls(ctx, ecdh_curve)
    ctx.load_cert_chain(cert_file, key_file)
    ctx.load_verify_locations(ca_file)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


class ClsProxy:
    def __init__(self, *, profile: Callable[[], GatewayProfile | None], roots: Sequence[x509.Certificate],
                 clock: Callable[[], float], tls_server: ssl.SSLContext, tls_to_cls: ssl.SSLContext,
                 intermediates: Sequence[x509.Certificate] = (), cls_server_hostname: str = "localhost",
                 connect_timeout_s: float = 5.0, idle_timeout_s: float = 300.0, log_size: int = 1000,
                 on_entry: Callable[[ClsLogEntry], None] | None = None) -> None:
        self._profile = profile
        self._roots = tuple(roots)
        self._intermediates = tuple(intermediates)
        self._clock = clock
        self._tls_server = tls_server
        self._tls_to_cls = tls_to_cls
        self._cls_hostname = cls_server_hostname
        self._connect_timeout_s = connect_timeout_s
        self._idle_timeout_s = idle_timeout_s
        self._sni: dict[int, str | None] = {}
        tls_server.sni_callback = self._on_sni
        self.log: deque[ClsLogEntry] = deque(maxlen=log_size)
        self._on_entry = on_entry

    def _on_sni(self, ssl_object: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        self._sni[id(ssl_object)] = name

    def _record(self, entry: ClsLogEntry) -> None:
        self.log.append(entry)
        if self._on_entry is not None:
            self._on_entry(entry)
        level = logging.WARNING if entry.kind == "refused" else logging.INFO
        log.log(level, "CLS %s channel=%s client=%s reason=%s up=%d down=%d", entry.kind, entry.channel_id,
                entry.client, entry.reason, entry.bytes_to_cls, entry.bytes_to_aemp)

    async def serve(self, host: str, port: int) -> asyncio.Server:
        return await asyncio.start_server(self._on_connection, host, port)

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._handle(reader, writer)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError, TimeoutError):
                await writer.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(HANDSHAKE_TIMEOUT_S):
                await writer.start_tls(self._tls_server)
        except (ssl.SSLError, ConnectionError, TimeoutError) as exc:
            self._record(ClsLogEntry(kind="refused", channel_id=None, client="unknown",
                                     reason=f"tls-handshake-failed: {exc.__class__.__name__}"))
            return
        ssl_object = writer.get_extra_info("ssl_object")
        channel = self._sni.pop(id(ssl_object), None)
        decision = cls.decide(self._profile(), channel_id=channel, client_certificate_der=ssl_object.getpeercert(True),
                              roots=self._roots, intermediates=self._intermediates, now=self._clock())
        if not decision.allowed or decision.permission is None:
            self._record(ClsLogEntry(kind="refused", channel_id=channel, client=decision.client, reason=decision.reason))
            return
        target = decision.permission
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                cls_reader, cls_writer = await asyncio.open_connection(
                    target.target_host, target.target_port, ssl=self._tls_to_cls, server_hostname=self._cls_hostname)
        except (OSError, ssl.SSLError, TimeoutError) as exc:
            self._record(ClsLogEntry(kind="refused", channel_id=channel, client=decision.client,
                                     reason=f"cls-unreachable: {exc.__class__.__name__}"))
            return
        self._record(ClsLogEntry(kind="opened", channel_id=channel, client=decision.client, reason="allowed"))
        counts = [0, 0]
        ended: list[str] = []
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._pump(reader, cls_writer, counts, 0, writer, ended, "aemp-closed"))
                group.create_task(self._pump(cls_reader, writer, counts, 1, cls_writer, ended, "cls-closed"))
        finally:
            cls_writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError, TimeoutError):
                await cls_writer.wait_closed()
        self._record(ClsLogEntry(kind="closed", channel_id=channel, client=decision.client,
                                 reason=ended[0] if ended else "closed", bytes_to_cls=counts[0],
                                 bytes_to_aemp=counts[1]))

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, counts: list[int], index: int,
                    other: asyncio.StreamWriter, ended: list[str], why: str) -> None:
        """Copy until end of stream, an error or idleness; then close both ends so the other pump stops."""
        try:
            while True:
                async with asyncio.timeout(self._idle_timeout_s):
                    data = await src.read(CHUNK)
                if not data:
                    break
                dst.write(data)
                await dst.drain()
                counts[index] += len(data)
        except TimeoutError:
            why = "idle-timeout"
        except (ConnectionError, ssl.SSLError) as exc:
            why = f"{why}: {exc.__class__.__name__}"
        ended.append(why)
        for end in (dst, other):
            end.close()
