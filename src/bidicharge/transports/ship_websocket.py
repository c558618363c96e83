"""SHIP transport: TLS 1.2 + websocket (subprotocol ``ship``) around the sans-I/O EEBUS stack.

What this adapter does, and nothing more (SHIP 1.0.1 §9 TLS, §10 websocket, §12 trust):

* **Identity**: a self-signed EC P-256 certificate (ECDSA-SHA256, CA flag, 10 years) with a
  SubjectKeyIdentifier; the SKI (40 hex digits) is the node's identity. Key generation uses the
  OS randomness of ``cryptography`` (adapter side, never in the protocol core).
* **TLS**: exactly TLS 1.2 with the SHIP suites ``ECDHE-ECDSA-AES128-SHA256`` (mandatory) and
  ``ECDHE-ECDSA-AES128-GCM-SHA256``; mutual authentication with self-signed certificates, so
  chain verification is replaced by an SKI check. Python's ``ssl`` server cannot accept an
  unknown self-signed client certificate, so we run pyOpenSSL on memory BIOs.
* **Trust**: a persisted list of trusted SKIs (:class:`TrustStore`). A client only completes
  connections to the SKI it dialled. A server lets an unknown SKI in with SHIP hello
  ``pending`` (never further) until the user approves it, or auto-accepts when configured.
* **Websocket**: ``wss://host:port/ship/`` with subprotocol ``ship`` (the server refuses a
  handshake without it), binary messages only; the websockets sans-I/O protocol does framing.

Bytes move between sockets and :class:`~bidicharge.protocols.spine.stack.EebusStack`; all
protocol decisions live there. Time comes from the injected ``clock``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from OpenSSL import SSL
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import State as WsState
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from bidicharge.protocols.ship.connection import Role
from bidicharge.protocols.ship.identity import Ski, normalise_ski, ski_of_certificate_der, ski_of_public_key
from bidicharge.protocols.ship.messages import MAX_MESSAGE_BYTES
from bidicharge.protocols.spine.stack import EebusStack, PeerDisconnected
from bidicharge.transports.ship_mdns import ShipDirectory

log = logging.getLogger(__name__)

SHIP_SUBPROTOCOL: Final = Subprotocol("ship")
SHIP_PATH: Final = "/ship/"
SHIP_CIPHERS: Final = b"ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256"
CLOSE_NORMAL: Final = 4001
PING_INTERVAL_S: Final = 50.0  # ship-go: ping every 50 s …
PONG_TIMEOUT_S: Final = 60.0  # … and give up when nothing came back within 60 s


def keepalive_action(now: float, last_received: float, ping_sent: float | None) -> str | None:
    """``"ping"``, ``"close"`` (the peer stopped answering) or ``None`` for one connection.

    ``ping_sent`` is cleared by the transport whenever anything arrives from the peer.
    """
    if ping_sent is not None:
        return "close" if now - ping_sent > PONG_TIMEOUT_S else None
    if now - last_received > PING_INTERVAL_S:
        return "ping"
    return None


# --- identity and trust ----------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class ShipIdentity:
    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey
    ski: Ski

    @classmethod
    def generate(cls, common_name: str, *, now: datetime.datetime) -> ShipIdentity:
        """A SHIP certificate as ship-go makes them (self-signed, P-256, CA, 10 years, SKI)."""
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                             crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
                .add_extension(ski, critical=False)
                .sign(key, hashes.SHA256()))
        return cls(certificate=cert, private_key=key, ski=ski_of_public_key(key.public_key()))

    @classmethod
    def load_or_create(cls, directory: Path, common_name: str, *, now: datetime.datetime) -> ShipIdentity:
        """Keep the identity across restarts (paired peers know us by this SKI)."""
        cert_path, key_path = directory / "ship.crt", directory / "ship.key"
        if cert_path.exists() and key_path.exists():
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            return cls(certificate=cert, private_key=key, ski=ski_of_public_key(key.public_key()))
        identity = cls.generate(common_name, now=now)
        directory.mkdir(parents=True, exist_ok=True)
        cert_path.write_bytes(identity.certificate.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(identity.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        key_path.chmod(0o600)
        return identity


@dataclass(slots=True, kw_only=True)
class TrustStore:
    """Paired SKIs, persisted as JSON (``{"trusted": [{"ski": …, "ship_id": …}]}``)."""

    path: Path | None = None
    auto_accept: bool = False
    trusted: dict[Ski, str | None] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, *, auto_accept: bool = False) -> TrustStore:
        store = cls(path=path, auto_accept=auto_accept)
        if path.exists():
            for entry in json.loads(path.read_text()).get("trusted", []):
                store.trusted[normalise_ski(entry["ski"])] = entry.get("ship_id")
        return store

    def is_trusted(self, ski: Ski) -> bool:
        return ski in self.trusted

    def add(self, ski: str, ship_id: str | None = None) -> Ski:
        normalised = normalise_ski(ski)
        self.trusted[normalised] = ship_id
        self.save()
        return normalised

    def remove(self, ski: str) -> None:
        self.trusted.pop(normalise_ski(ski), None)
        self.save()

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        entries = [{"ski": ski, "ship_id": ship_id} for ski, ship_id in sorted(self.trusted.items())]
        self.path.write_text(json.dumps({"trusted": entries}, indent=2))


def _tls_context(identity: ShipIdentity) -> SSL.Context:
    ctx = SSL.Context(SSL.TLS_METHOD)
    ctx.set_min_proto_version(SSL.TLS1_2_VERSION)
    ctx.set_max_proto_version(SSL.TLS1_2_VERSION)  # SHIP 9.1; 1.3 is not allowed
    ctx.set_cipher_list(SHIP_CIPHERS)
    ctx.use_certificate(identity.certificate)
    ctx.use_privatekey(identity.private_key)
    # Self-signed by design (SHIP 12.1): accept any certificate here, decide by SKI afterwards.
    ctx.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, lambda *_: True)
    return ctx


# --- one TLS + websocket connection ----------------------------------------------------------

class _Link:
    """pyOpenSSL on memory BIOs between an asyncio stream and a websockets protocol."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, ctx: SSL.Context,
                 role: Role) -> None:
        self.reader, self.writer = reader, writer
        self.tls = SSL.Connection(ctx, None)
        if role is Role.SERVER:
            self.tls.set_accept_state()
        else:
            self.tls.set_connect_state()
        self.ws: ClientProtocol | ServerProtocol | None = None
        self.last_received = 0.0
        self.ping_sent: float | None = None
        self.initiated_by_us = role is Role.CLIENT
        self.early_events: list[Request | Response | Frame] = []

    async def handshake(self) -> Ski:
        while True:
            try:
                self.tls.do_handshake()
                break
            except SSL.WantReadError:
                await self._flush_tls()
                data = await self.reader.read(65536)
                if not data:
                    raise ConnectionError("peer closed during TLS handshake") from None
                self.tls.bio_write(data)
        await self._flush_tls()
        cert: Any = self.tls.get_peer_certificate()
        if cert is None:
            raise ConnectionError("peer sent no certificate")
        der = cert.to_cryptography().public_bytes(serialization.Encoding.DER)
        ski = ski_of_certificate_der(der)
        if ski is None:
            raise ConnectionError("peer certificate has no 20-byte SubjectKeyIdentifier")
        return ski

    @property
    def cipher(self) -> tuple[str | None, str | None]:
        return self.tls.get_cipher_name(), self.tls.get_protocol_version_name()

    async def _flush_tls(self) -> None:
        while True:
            try:
                chunk = self.tls.bio_read(65536)
            except SSL.WantReadError:
                break
            self.writer.write(chunk)
        await self.writer.drain()

    async def send_plain(self, data: bytes) -> None:
        if data:
            self.tls.sendall(data)
        await self._flush_tls()

    async def recv_plain(self) -> bytes:
        """Decrypted bytes; b"" at end of stream."""
        while True:
            try:
                return self.tls.recv(65536)
            except SSL.WantReadError:
                data = await self.reader.read(65536)
                if not data:
                    return b""
                self.tls.bio_write(data)
            except SSL.ZeroReturnError:
                return b""
            except SSL.Error:
                return b""

    async def flush_ws(self) -> None:
        assert self.ws is not None
        for chunk in self.ws.data_to_send():
            if chunk:
                await self.send_plain(chunk)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


@dataclass(frozen=True, slots=True, kw_only=True)
class PairingRequested:
    """An unknown SKI connected; call :meth:`ShipTransport.approve` to pair it."""

    ski: Ski


class ShipTransport:
    """Serves and dials SHIP connections for one :class:`EebusStack`.

    Use as ``async with ShipTransport(...) as transport:``; every task it starts belongs
    to the task group of that block.
    """

    def __init__(self, stack: EebusStack, identity: ShipIdentity, trust: TrustStore, *,
                 clock: Callable[[], float] | None = None,
                 on_pairing_request: Callable[[PairingRequested], None] | None = None) -> None:
        self.stack = stack
        self.identity = identity
        self.trust = trust
        self._clock = clock
        self.on_pairing_request = on_pairing_request
        self._ctx = _tls_context(identity)
        self._links: dict[str, _Link] = {}
        self._wake = asyncio.Event()
        self._tg: asyncio.TaskGroup | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._servers: list[asyncio.Server] = []
        self.connected = asyncio.Condition()

    def now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    async def __aenter__(self) -> ShipTransport:
        self._tg = asyncio.TaskGroup()
        await self._tg.__aenter__()
        self._spawn(self._timer())
        return self

    def _spawn(self, coro: Any) -> None:
        assert self._tg is not None
        task = self._tg.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def __aexit__(self, *exc: object) -> None:
        for server in self._servers:
            server.close()
        for link in list(self._links.values()):
            link.close()
        for task in list(self._tasks):
            task.cancel()
        assert self._tg is not None
        await self._tg.__aexit__(None, None, None)

    # --- public --------------------------------------------------------------------

    async def listen(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Accept SHIP connections; returns the bound port."""
        server = await asyncio.start_server(self._accept, host, port)
        self._servers.append(server)
        bound: int = server.sockets[0].getsockname()[1]
        return bound

    async def dial(self, host: str, port: int, ski: str, *, path: str = SHIP_PATH) -> Ski:
        """Connect to the paired node with ``ski`` (trusted by dialling it)."""
        expected = normalise_ski(ski)
        reader, writer = await asyncio.open_connection(host, port)
        link = _Link(reader, writer, self._ctx, Role.CLIENT)
        try:
            peer = await link.handshake()
            if peer != expected:
                raise ConnectionError(f"peer SKI {peer} is not the dialled {expected}")
            ws = ClientProtocol(parse_uri(f"wss://{host}:{port}{path}"), subprotocols=[SHIP_SUBPROTOCOL],
                                max_size=MAX_MESSAGE_BYTES)
            link.ws = ws
            ws.send_request(ws.connect())
            await link.flush_ws()
            response = await self._first_event(link)
            if not isinstance(response, Response) or ws.handshake_exc is not None:
                raise ConnectionError(f"websocket handshake failed: {ws.handshake_exc}")
        except BaseException:
            link.close()
            raise
        if not self._resolve_double(peer, initiated_by_us=True):
            link.close()
            return peer  # the existing connection is the one to keep
        self._register(peer, link, Role.CLIENT, trusted=True)
        return peer

    async def dial_paired(self, directory: ShipDirectory) -> list[Ski]:
        """Dial every trusted SKI that is not connected and that ``directory`` can locate.

        ship-go's rule: initiate connections only to paired SKIs (found by mDNS or configured);
        call this periodically (e.g. every 30 s) to reconnect. Returns the SKIs connected now.
        """
        connected: list[Ski] = []
        for ski in sorted(self.trust.trusted):
            if ski in self._links:
                continue
            address = directory.lookup(ski)
            if address is None:
                continue
            host, port, path = address
            try:
                async with asyncio.timeout(10):
                    connected.append(await self.dial(host, port, ski, path=path))
            except (ConnectionError, OSError, SSL.Error, TimeoutError) as exc:
                log.info("SHIP dial to %s at %s:%s failed: %s", ski, host, port, exc)
        return connected

    def approve(self, ski: str, ship_id: str | None = None) -> None:
        """Pair a peer: persist its SKI and let a pending SHIP hello go on."""
        normalised = self.trust.add(ski, ship_id)
        self.stack.approve(normalised, self.now())
        self.kick()

    def kick(self) -> None:
        """Flush what the application made the stack send (call after using an actor)."""
        self._wake.set()

    def tls_parameters(self, peer: str) -> tuple[str | None, str | None]:
        return self._links[peer].cipher

    async def wait_connected(self, peer: str, timeout_s: float = 5.0) -> None:
        async with asyncio.timeout(timeout_s):
            async with self.connected:
                await self.connected.wait_for(lambda: peer in self.stack.node.peers())

    # --- internals -----------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = _Link(reader, writer, self._ctx, Role.SERVER)
        try:
            async with asyncio.timeout(10):
                peer = await link.handshake()
                ws = ServerProtocol(subprotocols=[SHIP_SUBPROTOCOL], max_size=MAX_MESSAGE_BYTES)
                link.ws = ws
                request = await self._first_event(link)
                if not isinstance(request, Request):
                    raise ConnectionError("no websocket request")
                response = ws.accept(request)
                if ws.handshake_exc is None and response.headers.get("Sec-WebSocket-Protocol") != SHIP_SUBPROTOCOL:
                    response = ws.reject(400, "SHIP requires the websocket subprotocol 'ship'\n")
                ws.send_response(response)
                await link.flush_ws()
                if response.status_code != 101:
                    raise ConnectionError("websocket handshake refused")
        except (ConnectionError, TimeoutError, SSL.Error, OSError) as exc:
            log.info("SHIP accept failed: %s", exc)
            link.close()
            return
        if not self._resolve_double(peer, initiated_by_us=False):
            link.close()
            return
        trusted = self.trust.is_trusted(peer) or self.trust.auto_accept
        if self.trust.auto_accept and not self.trust.is_trusted(peer):
            self.trust.add(peer)
        self._register(peer, link, Role.SERVER, trusted=trusted)
        if not trusted and self.on_pairing_request is not None:
            self.on_pairing_request(PairingRequested(ski=peer))

    async def _first_event(self, link: _Link) -> object:
        assert link.ws is not None
        while True:
            events = link.ws.events_received()
            if events:
                link.early_events = events[1:]  # frames that came in the same read as the handshake
                return events[0]
            data = await link.recv_plain()
            if not data:
                raise ConnectionError("closed during websocket handshake")
            link.ws.receive_data(data)

    def _resolve_double(self, peer: Ski, *, initiated_by_us: bool) -> bool:
        """Two connections to one peer (SHIP 12.2.2): keep the one the higher SKI initiated.

        Both nodes apply the same rule, so both keep the same connection. Returns whether the
        new connection is kept (the old one is then closed here).
        """
        old = self._links.get(peer)
        if old is None:
            return True
        we_are_higher = self.identity.ski > peer
        keep_new = initiated_by_us == we_are_higher and old.initiated_by_us != initiated_by_us
        if keep_new:
            del self._links[peer]
            old.close()
            self.stack.connection_lost(peer, "replaced by the connection the higher SKI initiated")
        return keep_new

    def _register(self, peer: Ski, link: _Link, role: Role, *, trusted: bool) -> None:
        link.initiated_by_us = role is Role.CLIENT
        self._links[peer] = link
        link.last_received = self.now()
        self.stack.open(peer, role, self.now(), trusted=trusted,
                        expected_remote_ship_id=self.trust.trusted.get(peer))
        self._spawn(self._read_loop(peer, link))
        self.kick()

    async def _read_loop(self, peer: str, link: _Link) -> None:
        assert link.ws is not None
        try:
            while True:
                if link.early_events:
                    events, link.early_events = link.early_events, []
                else:
                    data = await link.recv_plain()
                    if not data or self._links.get(peer) is not link:
                        break  # closed, or replaced by a newer connection to the same peer
                    link.last_received = self.now()
                    link.ping_sent = None  # anything from the peer proves it is alive
                    link.ws.receive_data(data)
                    events = link.ws.events_received()
                for event in events:
                    if isinstance(event, Frame) and event.opcode is Opcode.BINARY:
                        self.stack.receive_bytes(peer, bytes(event.data), self.now())
                    elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                        link.ws.fail(1003, "SHIP uses binary messages only")
                await link.flush_ws()
                await self._pump()
                if link.ws.state is WsState.CLOSED or link.ws.close_expected():
                    break  # websocket closing handshake done (or failed): close TCP
        except (ConnectionError, OSError, SSL.Error) as exc:
            log.info("SHIP connection to %s lost: %s", peer, exc)
        except Exception:  # one broken connection must not take the device down
            log.exception("SHIP connection to %s failed", peer)
        finally:
            link.close()
            if self._links.get(peer) is link:
                del self._links[peer]
                self.stack.connection_lost(peer)
            await self._notify_connected()

    async def _pump(self) -> None:
        """Move frames from the stack to the websockets; close the ones SHIP ended."""
        for peer, frame in self.stack.bytes_to_send():
            link = self._links.get(peer)
            if link is None or link.ws is None or link.ws.state is not WsState.OPEN:
                continue  # closing: SHIP already said goodbye on this connection
            link.ws.send_binary(frame)
            await link.flush_ws()
        for event in self.stack.events():
            if isinstance(event, PeerDisconnected):
                connection = self.stack.connections.get(event.peer)
                if connection is None or not connection.closed:
                    continue  # reported for a link we dropped ourselves; the current one stays
                link = self._links.get(event.peer)
                if link is not None and link.ws is not None:
                    with contextlib.suppress(Exception):
                        link.ws.send_close(int(event.close_code) if event.close_code >= 4000 else 1000,
                                           event.reason[:100])
                        await link.flush_ws()
                    link.close()
        await self._notify_connected()

    async def _notify_connected(self) -> None:
        async with self.connected:
            self.connected.notify_all()

    async def _keepalive(self) -> None:
        now = self.now()
        for peer, link in list(self._links.items()):
            action = keepalive_action(now, link.last_received, link.ping_sent)
            if action == "ping" and link.ws is not None and link.ws.state is WsState.OPEN:
                link.ping_sent = now
                link.ws.send_ping(b"ship")
                await link.flush_ws()
            elif action == "close":
                log.info("SHIP peer %s stopped answering", peer)
                link.close()
                if self._links.get(peer) is link:
                    del self._links[peer]
                    self.stack.connection_lost(peer, "peer stopped answering")

    async def _timer(self) -> None:
        while True:
            deadline = self.stack.next_deadline()
            wait = 1.0 if deadline is None else max(0.0, min(1.0, deadline - self.now()))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            self._wake.clear()
            self.stack.handle_timeout(self.now())
            try:
                await self._keepalive()
                await self._pump()
            except (ConnectionError, OSError, SSL.Error) as exc:
                log.info("SHIP send failed: %s", exc)
            except Exception:  # keep serving the other connections
                log.exception("SHIP timer step failed")


def main(argv: list[str] | None = None) -> int:
    """Pairing helper: ``python -m bidicharge.transports.ship_websocket --state DIR ski|trust SKI|list``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bidicharge.transports.ship_websocket",
                                     description="SHIP identity and pairing (trusted SKIs)")
    parser.add_argument("--state", type=Path, default=Path(".bidicharge/eebus"), help="identity + trust directory")
    parser.add_argument("--name", default="bidicharge", help="certificate common name when creating the identity")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("ski", help="print our SKI (create the identity if missing)")
    trust_cmd = sub.add_parser("trust", help="pair a device: store its SKI")
    trust_cmd.add_argument("ski")
    trust_cmd.add_argument("--ship-id", default=None)
    untrust = sub.add_parser("untrust", help="forget a device")
    untrust.add_argument("ski")
    sub.add_parser("list", help="list trusted SKIs")
    args = parser.parse_args(argv)
    store = TrustStore.load(args.state / "trusted.json")
    if args.command == "ski":
        now = datetime.datetime.now(datetime.UTC)  # adapter-side: certificate validity start
        print(ShipIdentity.load_or_create(args.state, args.name, now=now).ski)
    elif args.command == "trust":
        print(store.add(args.ski, args.ship_id))
    elif args.command == "untrust":
        store.remove(args.ski)
    else:
        for ski, ship_id in sorted(store.trusted.items()):
            print(ski, ship_id or "")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
