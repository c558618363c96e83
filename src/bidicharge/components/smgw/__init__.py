"""Smart meter gateway (C-SMGW, kind ``smgw``): the TR-03109 core (`protocols.tr03109`) as a
component of the simulated world.

* LMN (I-15): polls its meters each step and feeds the SML bytes to `SmgwCore.receive_sml`.
* Administration (I-17): reports its inventory, applies a profile only when the GWA signed it
  (`ProfileRefused` otherwise: not-gwa, expired, replayed, bad-profile — the old one stays).
* WAN (I-16): seals what the profile's TAFs capture (CMS signed + enveloped for each EMT) and
  delivers each EMT's backlog in order, acknowledging only what the EMT stored; during a
  configured WAN outage nothing is sent and nothing is lost.
* CLS channel (I-10): the proxy's decision `tr03109.cls.decide` (channel in the profile,
  client certificate from the SM-PKI with the permitted fingerprint); only then the payload
  reaches the control unit named by the permission. Refusals are logged and answered.

Live mode: with `cls_listen_port` the CLS channel is `transports.cls_proxy.ClsProxy` on a TLS
port (gateway certificate, client certificates from the SM-PKI, channel by SNI), deciding
with the same profile and opening TLS to the control units' live endpoints; with `wan_live`
the TAF messages go to each EMT's live endpoint (`pemp.listen_port`) over HTTPS with mutual
TLS (`transports.smgw_wan.SmgwWanClient`: in order, acknowledged only on 2xx, the EMT's TLS
certificate pinned by the profile, retried with back-off while it is unreachable).
"""

from __future__ import annotations

import asyncio
import logging
import random
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from bidicharge.components.interfaces.i10_cls import ClsRequest, ClsResponse
from bidicharge.components.interfaces.i15_lmn import SmlPoll
from bidicharge.components.interfaces.i16_taf import MeterDataAck, MeterDataPush, Octets
from bidicharge.components.interfaces.i17_gwa import (
    GatewayInventory,
    InventoryRequest,
    ProfileUpdate,
    ProfileUpdateResult,
)
from bidicharge.components.smgw.world_pki import world_pki
from bidicharge.protocols.tr03109 import (
    ChainCache,
    EmtEndpoint,
    GatewayProfile,
    MeterSilent,
    OutgoingMessage,
    ProfileRefused,
    SmgwCore,
    SmgwEvent,
    cls,
)
from bidicharge.runtime.clock import Clock
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import Link, provides, requires
from bidicharge.runtime.scenario import parse_time_s
from bidicharge.transports.cls_proxy import ClsLogEntry, ClsProxy, cls_server_context
from bidicharge.transports.smgw_wan import SmgwWanClient, mutual_tls_context

log = logging.getLogger(__name__)


class SmgwConfig(ComponentConfig):
    gateway_id: str = Field(..., min_length=1)
    gwa: str = "gwa"  # the GWA's identity in the SM-PKI (its component name)
    pki_seed: int = Field(0, ge=0)
    wan_outages: tuple[tuple[str, str], ...] = ()  # [from, to) ISO times without WAN
    cls_listen_port: int | None = Field(None, ge=0, le=65535)  # live: the CLS proxy's TLS port (0: any free)
    cls_listen_host: str = "127.0.0.1"
    wan_live: bool = False  # live: deliver TAF messages over HTTPS with mutual TLS (transports.smgw_wan)


@component_type
class Smgw(Component):
    kind = "smgw"
    catalogue_id = "C-SMGW"
    Config = SmgwConfig
    PORTS = (
        requires("meters", "I-15", "SML 1.04", many=True),
        provides("admin", "I-17", "in-memory", wire_protocol="BSI TR-03109 (CMS-signed profiles)"),
        requires("emts", "I-16", "BSI TR-03109 CMS", wire_protocol="BSI TR-03109 (HTTPS, mutual TLS)",
                 many=True, optional=True),
        provides("cls", "I-10", "in-memory", wire_protocol="CLS channel (TLS proxy, BSI TR-03109 HKS4)"),
        requires("cls_devices", "I-10", "in-memory", wire_protocol="CLS channel (TLS)", many=True, optional=True),
    )
    phase = Phase.BACKEND
    OBSERVABLES: ClassVar[tuple[str, ...]] = ("backlog",)

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.world = world_pki(config.pki_seed, context.start_s)
        identity = self.world.identity(config.gateway_id)
        # CMS needs many small random strings (ECDH keys, IVs): a stdlib generator seeded from the run's
        self._random = random.Random(int(context.rng.integers(2**63)))
        self.core = SmgwCore(gateway_id=config.gateway_id, signer=identity.signer,
                             gwa_certificate=self.world.identity(config.gwa).certificate,
                             roots=(self.world.pki.root,), random_bytes=self._random.randbytes)
        self._outages = [(parse_time_s(a), parse_time_s(b)) for a, b in config.wan_outages]
        self.events: list[tuple[float, SmgwEvent]] = []
        self.cls_log: list[tuple[float, str, str, str]] = []  # (time, channel, client, reason)
        self.delivered = 0
        self.cls_port: int | None = None  # live: where the aEMP dials the CLS proxy
        self.open_channels = 0  # live: CLS channels opened and not yet closed
        self.wan: SmgwWanClient | None = None
        self._cls_chains = ChainCache()  # the aEMP's certificate path, checked once (validity every command)

    def _sync(self) -> float:
        if self.context.clock is not None:
            self.now = max(self.now, self.context.clock.now())
        return self.now

    def _drain(self) -> list[SmgwEvent]:
        new = list(self.core.events())
        for event in new:
            self.events.append((self.now, event))
            if isinstance(event, ProfileRefused | MeterSilent):
                log.warning("%s: %s", self.config.gateway_id, event)
        return new

    # -- each step: LMN in, captures, WAN out ---------------------------------------------
    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        for link in self.peers("meters"):
            telegram = link.request(SmlPoll())
            if telegram.data:
                self.core.receive_sml(bytes(telegram.data), now=now)
        if self.core.profile is not None:
            self.core.poll(now=now)
        self._drain()
        if self.wan is not None:
            self.wan.notify()  # live: the WAN client delivers
        elif not any(a <= now < b for a, b in self._outages):
            self._deliver()

    def _deliver(self) -> None:
        emts = {link.peer.name: link for link in self.peers("emts")}
        for emt_id in self.core.emts_with_backlog():
            link = emts.get(emt_id)
            if link is None:
                continue  # no route to this EMT (yet): the messages wait
            for message in self.core.pending(emt_id):
                ack = link.request(MeterDataPush(gateway_id=self.config.gateway_id, emt_id=emt_id,
                                                 sequence_no=message.sequence_no, cms=Octets(message.cms)))
                if not isinstance(ack, MeterDataAck) or not ack.stored:
                    break  # refused: keep it and everything after it, try again next step
                self.core.acknowledge(emt_id, message.sequence_no)
                self.delivered += 1

    def observe(self) -> tuple[float, ...]:
        return (float(self.core.backlog_size),)

    # -- administration and CLS -------------------------------------------------------------
    def handle(self, port: str, message: object, link: Link) -> object:
        now = self._sync()
        if isinstance(message, InventoryRequest):
            profile = self.core.profile
            return GatewayInventory(
                gateway_id=self.config.gateway_id,
                meter_ids=tuple(link.peer.meter_id for link in self.peers("meters")),  # type: ignore[attr-defined]
                cls_devices=tuple(link.peer.name for link in self.peers("cls_devices")),
                profile_version=0 if profile is None else profile.version,
            )
        if isinstance(message, ProfileUpdate):
            applied = self.core.apply_profile_update(bytes(message.cms), now=now)
            refused = [e for e in self._drain() if isinstance(e, ProfileRefused)]
            profile = self.core.profile
            return ProfileUpdateResult(applied=applied, version=0 if profile is None else profile.version,
                                       reason="applied" if applied else (refused[-1].reason if refused else "refused"))
        if isinstance(message, ClsRequest):
            return self._proxy(message, now)
        return super().handle(port, message, link)

    def _proxy(self, request: ClsRequest, now: float) -> ClsResponse:
        decision = cls.decide(self.core.profile, channel_id=request.channel_id,
                              client_certificate_der=bytes(request.client_certificate_der),
                              roots=(self.world.pki.root,), intermediates=(self.world.pki.sub_ca,), now=now,
                              chain_cache=self._cls_chains)
        if not decision.allowed or decision.permission is None:
            return self._refuse(now, request.channel_id, decision.client, decision.reason)
        target = next((lk for lk in self.peers("cls_devices") if lk.peer.name == decision.permission.target_host), None)
        if target is None or getattr(target.peer, "offline", lambda t: False)(now):
            return self._refuse(now, request.channel_id, decision.client, "cls-unreachable")
        self.cls_log.append((now, request.channel_id, decision.client, "opened"))
        return ClsResponse(allowed=True, reason="allowed", status=target.request(request.payload))

    def _refuse(self, now: float, channel: str, client: str, reason: str) -> ClsResponse:
        self.cls_log.append((now, channel, client, reason))
        log.warning("%s: CLS refused channel=%s client=%s reason=%s", self.config.gateway_id, channel, client, reason)
        return ClsResponse(allowed=False, reason=reason)

    # -- live: the CLS proxy on a TLS port ----------------------------------------------------
    def live_profile(self) -> GatewayProfile | None:
        """The profile with each permission's target at the control unit's live endpoint."""
        profile = self.core.profile
        if profile is None:
            return None
        ports = {lk.peer.name: getattr(lk.peer, "bound_port", None) for lk in self.peers("cls_devices")}
        return replace(profile, cls=tuple(
            replace(p, target_host="127.0.0.1", target_port=ports[p.target_host])
            if ports.get(p.target_host) is not None else p for p in profile.cls))

    def _on_cls_entry(self, entry: ClsLogEntry) -> None:
        now = self._sync()
        self.open_channels += {"opened": 1, "closed": -1}.get(entry.kind, 0)
        self.cls_log.append((now, entry.channel_id or "", entry.client, entry.reason if entry.kind != "opened"
                             else "opened"))
        self.context.trace.record(time_s=now, interface="I-10", source=entry.client, target=self.name,
                                  protocol="CLS channel (TLS)", message=f"ClsChannel{entry.kind.capitalize()}",
                                  payload=entry)

    async def serve(self, clock: Clock) -> None:
        if self.config.cls_listen_port is None and not self.config.wan_live:
            return
        with tempfile.TemporaryDirectory() as tmp:
            cert, key, ca = self.world.write_pem(self.config.gateway_id, Path(tmp))
            tls_server = cls_server_context(cert_file=cert, key_file=key, ca_file=ca)
            tls_client = mutual_tls_context(cert_file=cert, key_file=key, ca_file=ca, server=False)
        async with asyncio.TaskGroup() as group:
            if self.config.wan_live:
                self.wan = SmgwWanClient(self.core, ssl_context=tls_client, resolve=self._emt_address,
                                         on_delivered=self._on_delivered)
                group.create_task(self.wan.run())
                self.wan.notify()
            if self.config.cls_listen_port is not None:
                proxy = ClsProxy(profile=self.live_profile, roots=(self.world.pki.root,),
                                 intermediates=(self.world.pki.sub_ca,), clock=clock.now, tls_server=tls_server,
                                 tls_to_cls=tls_client, cls_server_hostname="localhost", on_entry=self._on_cls_entry)
                server = await proxy.serve(self.config.cls_listen_host, self.config.cls_listen_port)
                self.cls_port = server.sockets[0].getsockname()[1]
                group.create_task(_serve_until_cancelled(server))

    def _emt_address(self, endpoint: EmtEndpoint) -> tuple[str, int]:
        """The live address of the EMT wired on `emts` (its component name is the EMT id)."""
        peer = next((lk.peer for lk in self.peers("emts") if lk.peer.name == endpoint.emt_id), None)
        port = getattr(peer, "bound_port", None)
        if port is None:
            raise OSError(f"EMT {endpoint.emt_id} does not listen (yet)")
        return "127.0.0.1", port

    def _on_delivered(self, message: OutgoingMessage) -> None:
        self.delivered += 1
        now = self._sync()
        self.context.trace.record(time_s=now, interface="I-16", source=self.name, target=message.emt_id,
                                  protocol="BSI TR-03109 (HTTPS, mutual TLS)", message="MeterDataPush",
                                  summary=f'{{"sequence_no":{message.sequence_no},"taf":{int(message.document.taf)},'
                                          f'"cms":"<{len(message.cms)} bytes>"}}')

    def report(self) -> dict[str, Any]:
        return {
            "delivered": self.delivered,
            "backlog": self.core.backlog_size,
            "events": [(t, type(e).__name__, getattr(e, "reason", "")) for t, e in self.events],
            "cls_log": list(self.cls_log),
        }


async def _serve_until_cancelled(server: asyncio.Server) -> None:
    async with server:  # closes the listening socket when cancelled
        await server.serve_forever()
