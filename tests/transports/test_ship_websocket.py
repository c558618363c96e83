"""SHIP over real loopback TLS 1.2 + websockets: our Energy Guard against our HEMS."""

from __future__ import annotations

import asyncio
import datetime
import ssl
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from bidicharge.protocols.spine import LocalDevice, SpineNode
from bidicharge.protocols.spine.stack import EebusStack
from bidicharge.protocols.spine.usecases.energy_guard import EnergyGuard, LimitWriteResult
from bidicharge.protocols.spine.usecases.lpc import (
    ControllableSystem,
    Direction,
    PowerLimitConfig,
)
from bidicharge.transports.ship_websocket import (
    PairingRequested,
    ShipIdentity,
    ShipTransport,
    TrustStore,
)

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


@pytest.fixture(scope="module")
def identities() -> tuple[ShipIdentity, ShipIdentity]:
    return ShipIdentity.generate("HEMS-1", now=NOW), ShipIdentity.generate("Box-1", now=NOW)


def hems_side(identity: ShipIdentity, trust: TrustStore) -> tuple[ShipTransport, ControllableSystem]:
    device = LocalDevice("d:_i:99999_HEMS-1", "EnergyManagementSystem")
    node = SpineNode(device)
    cs = ControllableSystem(node, device.add_entity("CEM"), now=0.0,
                            consumption=PowerLimitConfig(nominal_max_W=22_000, failsafe_limit_W=4_200))
    return ShipTransport(EebusStack(node, local_ship_id="HEMS-1"), identity, trust), cs


def box_side(identity: ShipIdentity) -> tuple[ShipTransport, EnergyGuard]:
    device = LocalDevice("d:_i:99999_Box-1", "ElectricitySupplySystem")
    node = SpineNode(device)
    eg = EnergyGuard(node, device.add_entity("GridGuard"), now=0.0)
    return ShipTransport(EebusStack(node, local_ship_id="Box-1"), identity, TrustStore()), eg


async def wait_for(predicate, timeout_s: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout_s):
        while not predicate():  # noqa: ASYNC110 - bounded poll of another component's state
            await asyncio.sleep(0.005)


async def test_ship_tls_lpc_limit_between_our_energy_guard_and_our_hems(identities, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    hems_id, box_id = identities
    trust = TrustStore(path=tmp_path / "trusted.json")
    trust.add(box_id.ski, "Box-1")
    hems, cs = hems_side(hems_id, trust)
    box, eg = box_side(box_id)
    async with hems, box:
        port = await hems.listen()
        peer = await box.dial("127.0.0.1", port, hems_id.ski)
        assert peer == hems_id.ski
        await wait_for(lambda: peer in eg.systems)
        cipher, version = box.tls_parameters(peer)
        assert version == "TLSv1.2"
        assert cipher in ("ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256")  # SHIP 9.1
        await wait_for(lambda: len(box.stack.node.remote_bindings) >= 2)
        await wait_for(lambda: eg.state_of(peer).limits_W.get(Direction.CONSUME) is not None)
        eg.write_limit(peer, Direction.CONSUME, 4_200, box.now(), duration_s=7200)
        box.kick()
        await wait_for(lambda: cs.limit_W() == 4_200)
        results = [e for e in eg.events() if isinstance(e, LimitWriteResult)]
        await wait_for(lambda: results.extend(e for e in eg.events() if isinstance(e, LimitWriteResult)) or results)
        assert results[0].accepted
    assert TrustStore.load(tmp_path / "trusted.json").is_trusted(box_id.ski)


async def test_unknown_ski_waits_in_hello_pending_until_approved(identities) -> None:  # type: ignore[no-untyped-def]
    hems_id, box_id = identities
    requests: list[PairingRequested] = []
    hems, cs = hems_side(hems_id, TrustStore())
    hems.on_pairing_request = requests.append
    box, eg = box_side(box_id)
    async with hems, box:
        port = await hems.listen()
        peer = await box.dial("127.0.0.1", port, hems_id.ski)
        await wait_for(lambda: bool(requests))
        assert requests[0].ski == box_id.ski
        await asyncio.sleep(0.05)
        assert peer not in box.stack.node.peers() or not box.stack.node.remote(peer).discovered
        assert not eg.systems
        hems.approve(box_id.ski)
        await wait_for(lambda: peer in eg.systems)
        assert hems.trust.is_trusted(box_id.ski)


async def test_dialling_a_node_with_another_ski_fails(identities) -> None:  # type: ignore[no-untyped-def]
    hems_id, box_id = identities
    hems, _ = hems_side(hems_id, TrustStore(auto_accept=True))
    box, _ = box_side(box_id)
    async with hems, box:
        port = await hems.listen()
        with pytest.raises(ConnectionError):
            await box.dial("127.0.0.1", port, "00" * 20)


async def test_websocket_without_ship_subprotocol_is_refused(identities, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    hems_id, box_id = identities
    hems, _ = hems_side(hems_id, TrustStore(auto_accept=True))
    async with hems:
        port = await hems.listen()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        (tmp_path / "c.pem").write_bytes(box_id.certificate.public_bytes(serialization.Encoding.PEM))
        (tmp_path / "k.pem").write_bytes(box_id.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        ctx.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx)
        writer.write(b"GET /ship/ HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        await writer.drain()
        async with asyncio.timeout(5):
            status = await reader.readline()
        assert b" 400 " in status
        writer.close()
        assert not hems.stack.connections


async def test_identity_and_trust_store_persist(tmp_path: Path) -> None:
    first = ShipIdentity.load_or_create(tmp_path / "id", "Node", now=NOW)
    again = ShipIdentity.load_or_create(tmp_path / "id", "Node", now=NOW)
    assert first.ski == again.ski and len(first.ski) == 40
    store = TrustStore.load(tmp_path / "t.json")
    store.add(first.ski.upper())
    assert TrustStore.load(tmp_path / "t.json").is_trusted(first.ski)


async def test_ship_tls_cem_against_evse_ev_data_and_opev(identities) -> None:  # type: ignore[no-untyped-def]
    from bidicharge.protocols.spine.usecases import CemEvClient, EvProfile, EvseServer

    hems_id, wallbox_id = identities
    wb_dev = LocalDevice("d:_i:99999_Wallbox-1", "ChargingStation")
    wb_node = SpineNode(wb_dev)
    evse = EvseServer(wb_node, wb_dev.add_entity("EVSE"))
    hems_dev = LocalDevice("d:_i:99999_HEMS-1", "EnergyManagementSystem")
    hems_node = SpineNode(hems_dev)
    cem = CemEvClient(hems_node, hems_dev.add_entity("CEM"))
    wb_trust = TrustStore()
    wb_trust.add(hems_id.ski)
    wallbox = ShipTransport(EebusStack(wb_node, local_ship_id="Wallbox-1"), wallbox_id, wb_trust)
    hems = ShipTransport(EebusStack(hems_node, local_ship_id="HEMS-1"), hems_id, TrustStore())
    async with wallbox, hems:
        port = await wallbox.listen()
        peer = await hems.dial("127.0.0.1", port, wallbox_id.ski)
        await wait_for(lambda: peer in cem.evses)
        evse.plug_in(EvProfile(max_current_A=16), wallbox.now())
        wallbox.kick()
        await wait_for(lambda: cem.ev(peer).current_max_A == (16, 16, 16))
        cem.write_current_limits(peer, (10, 10, 10), hems.now())
        hems.kick()
        await wait_for(lambda: evse.current_limits_A()[0] == (10, 10, 10))


def test_pairing_helper_prints_our_ski_and_stores_theirs(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from bidicharge.transports.ship_websocket import main

    assert main(["--state", str(tmp_path), "ski"]) == 0
    ours = capsys.readouterr().out.strip()
    assert len(ours) == 40
    main(["--state", str(tmp_path), "trust", "DB:0F:66:CD:BA:DB:2E:CA:24:BC:C1:DA:60:BA:49:4D:80:CC:17:73"])
    assert TrustStore.load(tmp_path / "trusted.json").is_trusted("db0f66cdbadb2eca24bcc1da60ba494d80cc1773")  # type: ignore[arg-type]
    main(["--state", str(tmp_path), "ski"])
    assert capsys.readouterr().out.strip().endswith(ours)  # the identity persists


@pytest.mark.parametrize(("now", "last_received", "ping_sent", "expected"), [
    (10.0, 0.0, None, None),  # recently active
    (51.0, 0.0, None, "ping"),  # idle for more than 50 s
    (100.0, 0.0, 51.0, None),  # ping out, still waiting
    (112.0, 0.0, 51.0, "close"),  # nothing back within 60 s: the peer stopped answering
    (100.0, 60.0, None, None),  # something came back after the ping (which cleared it)
])
def test_keepalive_decision(now: float, last_received: float, ping_sent: float | None, expected: str | None) -> None:
    from bidicharge.transports.ship_websocket import keepalive_action

    assert keepalive_action(now, last_received, ping_sent) == expected


async def test_idle_connection_is_kept_alive_by_ping(identities) -> None:  # type: ignore[no-untyped-def]
    hems_id, box_id = identities
    clock = [1000.0]
    hems, cs = hems_side(hems_id, TrustStore(auto_accept=True))
    hems._clock = lambda: clock[0]
    box, eg = box_side(box_id)
    async with hems, box:
        port = await hems.listen()
        peer = await box.dial("127.0.0.1", port, hems_id.ski)
        await wait_for(lambda: peer in eg.systems)
        clock[0] += 55  # idle: the HEMS pings, the box's websocket answers with a pong
        hems.kick()
        await wait_for(lambda: all(link.ping_sent is None and link.last_received == clock[0]
                                   for link in hems._links.values()))
        clock[0] += 70
        hems.kick()
        await asyncio.sleep(0.05)
        assert box_id.ski in hems._links


async def test_double_connection_keeps_the_one_the_higher_ski_initiated(identities) -> None:  # type: ignore[no-untyped-def]
    hems_id, box_id = identities
    hems, _ = hems_side(hems_id, TrustStore(auto_accept=True))
    box, _ = box_side(box_id)
    box.trust.add(hems_id.ski)
    async with hems, box:
        hems_port = await hems.listen()
        box_port = await box.listen()
        await box.dial("127.0.0.1", hems_port, hems_id.ski)
        await hems.dial("127.0.0.1", box_port, box_id.ski)
        higher_is_hems = hems_id.ski > box_id.ski
        await wait_for(lambda: len(hems._links) == 1 and len(box._links) == 1
                       and hems._links[box_id.ski].initiated_by_us is higher_is_hems
                       and box._links[hems_id.ski].initiated_by_us is (not higher_is_hems))
        await wait_for(lambda: box_id.ski in hems.stack.node.peers() and hems_id.ski in box.stack.node.peers())


async def test_garbage_peer_is_dropped_while_a_good_peer_keeps_working(identities, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    hems_id, box_id = identities
    hems, cs = hems_side(hems_id, TrustStore(auto_accept=True))
    box, eg = box_side(box_id)
    rogue_id = ShipIdentity.generate("Rogue", now=NOW)
    (tmp_path / "c.pem").write_bytes(rogue_id.certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "k.pem").write_bytes(rogue_id.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
    async with hems, box:
        port = await hems.listen()
        peer = await box.dial("127.0.0.1", port, hems_id.ski)
        await wait_for(lambda: peer in eg.systems and eg.ready(peer))
        for garbage in ("text frames are not SHIP", b"\x00\x00", b"\x01{not json at all"):
            async with connect(f"wss://127.0.0.1:{port}/ship/", ssl=ctx, subprotocols=["ship"]) as ws:  # type: ignore[list-item]
                with pytest.raises(ConnectionClosed):
                    await ws.send(garbage)
                    if garbage == b"\x00\x00":
                        assert await ws.recv() == b"\x00\x00"
                        await ws.recv()  # our hello
                        await ws.send(b"\x01{not json at all")
                    async with asyncio.timeout(5):
                        while True:
                            await ws.recv()
        eg.write_limit(peer, Direction.CONSUME, 3_000, box.now())
        box.kick()
        await wait_for(lambda: cs.limit_W() == 3_000)


async def test_dial_paired_uses_the_static_fallback_address(identities) -> None:  # type: ignore[no-untyped-def]
    from bidicharge.transports.ship_mdns import ShipDirectory

    hems_id, box_id = identities
    hems, _ = hems_side(hems_id, TrustStore(auto_accept=True))
    box, eg = box_side(box_id)
    async with hems, box:
        port = await hems.listen()
        directory = ShipDirectory(static=[f"{hems_id.ski}@127.0.0.1:{port}"])
        assert await box.dial_paired(directory) == []  # nothing paired yet: never dial strangers
        box.trust.add(hems_id.ski)
        assert await box.dial_paired(directory) == [hems_id.ski]
        await wait_for(lambda: hems_id.ski in eg.systems)
        assert await box.dial_paired(directory) == []  # already connected
