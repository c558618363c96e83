"""The gateway's WAN over mutual TLS to an EMT, with an outage in the middle, and the HAN read API.

    [meter] --readings--> [SmgwCore] --SmgwWanClient (mTLS, HTTPS POST CMS)--> [EMT inbox]
                                  \\--serve_han (TLS, GET only)--> household
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import random
import socket
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from bidicharge.protocols.sml import MeterReading, server_id
from bidicharge.protocols.tr03109 import (
    DemoSmPki,
    EmtEndpoint,
    EmtInbox,
    EvaluationProfile,
    GatewayProfile,
    Identity,
    SmgwCore,
    Taf,
    sign_profile,
)
from bidicharge.transports.smgw_wan import SmgwWanClient, mutual_tls_context, serve_emt_inbox, serve_han

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC).timestamp()
METER = server_id(manufacturer="EMH", serial=4711)
GW = "EDNT0012345678"


class World:
    def __init__(self, tmp: Path, curve: str = "secp256r1") -> None:
        self.tmp = tmp
        self.pki = DemoSmPki(random_bytes=random.Random(5).randbytes, now=T0 - 86_400, curve=curve)
        self.ids = {n: self.pki.issue(n) for n in (GW, "GWA", "pEMP", "household", "impostor")}
        (tmp / "root.pem").write_bytes(self.pki.root_pem())
        for name, ident in self.ids.items():
            (tmp / f"{name}.pem").write_bytes(ident.certificate_pem())
            (tmp / f"{name}.key").write_bytes(ident.key_pem())
        self.ecdh_curve = curve if curve.startswith("brainpool") else None

    def ctx(self, name: str, *, server: bool):  # type: ignore[no-untyped-def]
        return mutual_tls_context(cert_file=self.tmp / f"{name}.pem", key_file=self.tmp / f"{name}.key",
                                  ca_file=self.tmp / "root.pem", server=server, ecdh_curve=self.ecdh_curve)

    def id(self, name: str) -> Identity:
        return self.ids[name]

    def core(self, port: int, *, pinned: str = "pEMP") -> SmgwCore:
        core = SmgwCore(gateway_id=GW, signer=self.id(GW).signer, gwa_certificate=self.id("GWA").certificate,
                        roots=(self.pki.root,), random_bytes=random.Random(9).randbytes)
        der = self.id("pEMP").certificate.public_bytes(serialization.Encoding.DER)
        pin = hashlib.sha256(self.id(pinned).certificate.public_bytes(serialization.Encoding.DER)).hexdigest()
        profile = GatewayProfile(
            gateway_id=GW, version=1, meters=(METER.hex(),),
            emts=(EmtEndpoint(emt_id="pemp", host="127.0.0.1", port=port, encryption_certificate_der=der,
                              tls_certificate_sha256=pin),),
            evaluations=(EvaluationProfile(profile_id="taf7", taf=Taf.TAF7, meter_id=METER.hex(), emt_id="pemp",
                                           interval_s=900, send_interval_s=900),))
        assert core.apply_profile_update(sign_profile(profile, self.id("GWA").signer, now=T0), now=T0)
        return core

    def inbox(self) -> EmtInbox:
        return EmtInbox(emt_id="pemp", recipient=self.id("pEMP").recipient, roots=(self.pki.root,),
                        gateways={GW: self.id(GW).certificate})


def _feed(core: SmgwCore, start: float, end: float, registers: dict[float, Decimal]) -> None:
    t = start
    while t <= end:
        registers[t] = Decimal(10_000) + Decimal(t - T0) / 10
        core.receive_reading(MeterReading(server_id=METER, import_energy_Wh=registers[t],
                                          export_energy_Wh=Decimal(0), active_power_W=360), now=t)
        core.poll(now=t)
        t += 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _until(predicate, what: str, limit_s: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(limit_s / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {what} within {limit_s} s")


@contextlib.asynccontextmanager
async def _running(client: SmgwWanClient):  # type: ignore[no-untyped-def]
    async with asyncio.TaskGroup() as group:
        task = group.create_task(client.run())
        try:
            yield
        finally:
            task.cancel()


@pytest.mark.parametrize("curve", ["secp256r1", "brainpoolP256r1"])
async def test_backlog_after_a_wan_outage_arrives_complete_and_in_order(tmp_path: Path, curve: str) -> None:
    world = World(tmp_path, curve)
    port = _free_port()
    core = world.core(port)
    inbox = world.inbox()
    registers: dict[float, Decimal] = {}
    traced: list[int] = []
    stored: list[int] = []
    client = SmgwWanClient(core, ssl_context=world.ctx(GW, server=False), backoff_initial_s=0.02,
                           backoff_max_s=0.1, idle_check_s=0.05,
                           on_delivered=lambda m: traced.append(m.sequence_no))
    async with _running(client):
        _feed(core, T0, T0 + 3 * 3600, registers)  # three hours, the EMT not reachable
        client.notify()
        await _until(lambda: client.failures >= 2, "failed attempts")
        assert core.backlog_size == 12
        server = await serve_emt_inbox(inbox, clock=lambda: T0 + 3 * 3600, host="127.0.0.1", port=port,
                                       ssl_context=world.ctx("pEMP", server=True),
                                       on_received=lambda r: stored.append(r.document.sequence_no))
        async with server:
            await _until(lambda: core.backlog_size == 0, "backlog delivered")
            _feed(core, T0 + 3 * 3600 + 60, T0 + 4 * 3600, registers)
            client.notify()
            await _until(lambda: core.backlog_size == 0 and len(inbox.documents) == 16, "live delivery")
    assert [d.sequence_no for d in inbox.documents] == list(range(1, 17)) == traced == stored
    series = [(v.captured_at, v.value) for d in inbox.documents for v in d.values if v.obis == "1-0:1.8.0*255"]
    assert [t for t, _ in series] == [T0 + 900 * k for k in range(1, 17)]
    assert all(value == registers[t] for t, value in series)


async def test_gateway_keeps_data_for_an_emt_whose_tls_certificate_is_not_the_pinned_one(tmp_path: Path) -> None:
    world = World(tmp_path)
    port = _free_port()
    core = world.core(port, pinned="impostor")
    inbox = world.inbox()
    client = SmgwWanClient(core, ssl_context=world.ctx(GW, server=False), backoff_initial_s=0.02,
                           backoff_max_s=0.05, idle_check_s=0.05)
    server = await serve_emt_inbox(inbox, clock=lambda: T0, host="127.0.0.1", port=port,
                                   ssl_context=world.ctx("pEMP", server=True))
    async with server, _running(client):
        _feed(core, T0, T0 + 1800, {})
        client.notify()
        await _until(lambda: client.failures >= 2, "refused attempts")
    assert inbox.documents == [] and core.backlog_size == 2


async def test_emt_inbox_answers_400_to_garbage_and_keeps_serving(tmp_path: Path) -> None:
    world = World(tmp_path)
    inbox = world.inbox()
    server = await serve_emt_inbox(inbox, clock=lambda: T0, host="127.0.0.1", port=0,
                                   ssl_context=world.ctx("pEMP", server=True))
    port = server.sockets[0].getsockname()[1]
    async with server, httpx.AsyncClient(verify=world.ctx("household", server=False)) as http:
        bad = await http.post(f"https://localhost:{port}/meterdata", content=b"\x30\x03garbage")
        assert (bad.status_code, bad.text) == (400, "bad-der")
        assert (await http.get(f"https://localhost:{port}/meterdata")).status_code == 405


async def test_household_reads_current_values_over_han_and_cannot_write(tmp_path: Path) -> None:
    world = World(tmp_path)
    core = world.core(1)
    _feed(core, T0, T0 + 120, {})
    server = await serve_han(core, host="127.0.0.1", port=0, ssl_context=world.ctx(GW, server=True))
    port = server.sockets[0].getsockname()[1]
    async with server, httpx.AsyncClient(verify=world.ctx("household", server=False)) as http:
        current = await http.get(f"https://localhost:{port}/v1/meters/{METER.hex()}/current")
        assert current.status_code == 200
        assert current.json()["active_power_W"] == 360 and current.json()["captured_at"] == T0 + 120
        for method in ("POST", "PUT", "DELETE"):
            refused = await http.request(method, f"https://localhost:{port}/v1/meters/{METER.hex()}/current",
                                         content=b'{"active_power_W":0}')
            assert refused.status_code == 405
