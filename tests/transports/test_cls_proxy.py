"""The CLS channel: only the configured aEMP reaches the control unit; the rest are refused and logged.

    aEMP --TLS (SNI cu1.cls, client cert)--> [SMGW ClsProxy] --TLS (gateway cert)--> control unit
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import random
import ssl
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from bidicharge.protocols.tr03109 import ClsPermission, DemoSmPki, GatewayProfile
from bidicharge.transports.cls_proxy import ClsProxy, cls_server_context
from bidicharge.transports.smgw_wan import mutual_tls_context

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC).timestamp()


class ControlUnit:
    """Applies complete ``LIMIT <W> <id>\\n`` commands, answers ``OK <id>``; keeps what was cut off."""

    def __init__(self) -> None:
        self.applied: list[str] = []
        self.incomplete: list[bytes] = []
        self.connections = 0
        self.received_bytes = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        buffer = b""
        try:
            while True:
                data = await reader.read(1024)
                if not data:
                    break
                buffer += data
                self.received_bytes += len(data)
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    self.applied.append(line.decode())
                    writer.write(b"OK " + line.split()[-1] + b"\n")
                    await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        if buffer:
            self.incomplete.append(buffer)
        writer.close()


@pytest.fixture
async def world(tmp_path: Path):  # type: ignore[no-untyped-def]
    pki = DemoSmPki(random_bytes=random.Random(3).randbytes, now=T0 - 86_400)
    stranger = DemoSmPki(random_bytes=random.Random(4).randbytes, now=T0 - 86_400)
    ids = {"gateway": pki.issue("gateway", dns_names=("localhost", "cu1.cls", "cu2.cls")),
           "aemp": pki.issue("aEMP"), "dso": pki.issue("DSO"), "cu": pki.issue("control unit"),
           "foreign": stranger.issue("aEMP")}
    for name, ident in ids.items():
        (tmp_path / f"{name}.pem").write_bytes(ident.certificate_pem())
        (tmp_path / f"{name}.key").write_bytes(ident.key_pem())
    (tmp_path / "root.pem").write_bytes(pki.root_pem())
    (tmp_path / "stranger.pem").write_bytes(stranger.root_pem())

    def ctx(name: str, *, server: bool, ca: str = "root") -> ssl.SSLContext:
        return mutual_tls_context(cert_file=tmp_path / f"{name}.pem", key_file=tmp_path / f"{name}.key",
                                  ca_file=tmp_path / f"{ca}.pem", server=server)

    unit = ControlUnit()
    cu_server = await asyncio.start_server(unit.handle, "127.0.0.1", 0, ssl=ctx("cu", server=True))
    cu_port = cu_server.sockets[0].getsockname()[1]
    aemp_der = ids["aemp"].certificate.public_bytes(serialization.Encoding.DER)
    profile = GatewayProfile(gateway_id="gw", version=1, meters=(), cls=(
        ClsPermission(channel_id="cu1.cls", aemp_id="aemp", aemp_certificate_sha256=hashlib.sha256(aemp_der).hexdigest(),
                      target_host="127.0.0.1", target_port=cu_port),))
    proxy = ClsProxy(profile=lambda: profile, roots=(pki.root,), intermediates=(pki.sub_ca,), clock=lambda: T0,
                     tls_server=cls_server_context(cert_file=tmp_path / "gateway.pem",
                                                   key_file=tmp_path / "gateway.key", ca_file=tmp_path / "root.pem"),
                     tls_to_cls=ctx("gateway", server=False))
    server = await proxy.serve("127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    async def dial(name: str | None, channel: str = "cu1.cls"):  # type: ignore[no-untyped-def]
        client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client.load_verify_locations(tmp_path / "root.pem")
        if name is not None:
            client.load_cert_chain(tmp_path / f"{name}.pem", tmp_path / f"{name}.key")
        return await asyncio.open_connection("127.0.0.1", port, ssl=client, server_hostname=channel)

    async with cu_server, server:
        yield proxy, unit, dial


async def _read_all(reader: asyncio.StreamReader) -> bytes:
    try:
        async with asyncio.timeout(10):
            return await reader.read()
    except (ConnectionError, ssl.SSLError):
        return b""


async def _wait_log(proxy: ClsProxy, count: int) -> None:
    for _ in range(500):
        if len(proxy.log) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"proxy logged {list(proxy.log)}")


async def test_configured_aemp_reaches_the_control_unit_transparently(world) -> None:  # type: ignore[no-untyped-def]
    proxy, unit, dial = world
    reader, writer = await dial("aemp")
    writer.write(b"LIMIT 4200 cmd-1\n")
    async with asyncio.timeout(10):
        assert await reader.readline() == b"OK cmd-1\n"
    writer.close()
    await _wait_log(proxy, 2)
    assert unit.applied == ["LIMIT 4200 cmd-1"]
    assert [(e.kind, e.channel_id, e.client) for e in proxy.log] == [("opened", "cu1.cls", "aEMP"),
                                                                       ("closed", "cu1.cls", "aEMP")]
    assert proxy.log[1].bytes_to_cls == 17 and proxy.log[1].bytes_to_aemp == 9


@pytest.mark.parametrize(("who", "channel", "reason"), [
    ("dso", "cu1.cls", "not-permitted"),
    (None, "cu1.cls", "no-client-certificate"),
    ("aemp", "cu2.cls", "unknown-channel"),
])
async def test_everyone_else_is_refused_and_logged(world, who, channel, reason) -> None:  # type: ignore[no-untyped-def]
    proxy, unit, dial = world
    reader, writer = await dial(who, channel)
    writer.write(b"LIMIT 0 evil\n")
    assert await _read_all(reader) == b""
    await _wait_log(proxy, 1)
    assert [(e.kind, e.reason) for e in proxy.log] == [("refused", reason)]
    assert unit.connections == 0 and unit.applied == []


async def test_certificate_of_another_pki_fails_the_handshake_and_is_logged(world) -> None:  # type: ignore[no-untyped-def]
    proxy, unit, dial = world
    with pytest.raises((ssl.SSLError, ConnectionError)):
        reader, writer = await dial("foreign")
        writer.write(b"LIMIT 0 evil\n")
        await writer.drain()
        if not await reader.read():
            raise ConnectionResetError("closed by the proxy")
    await _wait_log(proxy, 1)
    assert proxy.log[0].kind == "refused" and proxy.log[0].reason.startswith("tls-handshake-failed")
    assert unit.connections == 0


async def test_connection_dropped_mid_command_is_not_applied_and_the_proxy_stays_up(world) -> None:  # type: ignore[no-untyped-def]
    proxy, unit, dial = world
    reader, writer = await dial("aemp")
    writer.write(b"LIMIT 42")  # no end of line: the command is cut off
    await writer.drain()
    for _ in range(500):
        if unit.received_bytes == 8:  # the half command is at the control unit
            break
        await asyncio.sleep(0.01)
    writer.transport.abort()
    await _wait_log(proxy, 2)
    assert proxy.log[-1].kind == "closed" and proxy.log[-1].reason.startswith("aemp-closed")
    for _ in range(500):
        if unit.incomplete:
            break
        await asyncio.sleep(0.01)
    assert unit.applied == [] and unit.incomplete == [b"LIMIT 42"]
    reader, writer = await dial("aemp")
    writer.write(b"LIMIT 4200 cmd-2\n")
    async with asyncio.timeout(10):
        assert await reader.readline() == b"OK cmd-2\n"
    writer.close()
    assert unit.applied == ["LIMIT 4200 cmd-2"]
