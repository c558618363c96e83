"""Passive external market participant (C-PEMP, kind ``pemp``): the DSO's meter-data
receiver. Takes the gateways' CMS-sealed TAF messages on I-16 (`tr03109.EmtInbox`:
decrypt with its key, verify the gateway's signature up to the SM-PKI root, drop
duplicates, note gaps), acknowledges what it stored, and forwards the values to the DSO
backend on I-35: TAF 10 grid-state power and TAF 7 15-minute energies.

A gateway's signature certificate comes from the SM-PKI directory (here: the world PKI by
gateway id), never from the message.

Live mode (`listen_port`): `transports.smgw_wan.serve_emt_inbox` on HTTPS with mutual TLS
(the pEMP's SM-PKI certificate, gateways' client certificates from the SM-PKI), for the
gateways wired to it; 204 when stored, 400 with the refusal code otherwise.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from pydantic import Field

from bidicharge.components.interfaces.i16_taf import (
    GridStateValue,
    IntervalValue,
    MeterDataAck,
    MeterDataPush,
    MeterValues,
)
from bidicharge.components.smgw.world_pki import world_pki
from bidicharge.protocols.tr03109 import EmtInbox, MeterDataDocument, Received, Taf, Tr03109Error
from bidicharge.protocols.tr03109.taf import OBIS_IMPORT, OBIS_POWER
from bidicharge.runtime.clock import Clock
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import Link, provides, requires
from bidicharge.transports.smgw_wan import mutual_tls_context, serve_emt_inbox

log = logging.getLogger(__name__)


class PempConfig(ComponentConfig):
    pki_seed: int = Field(0, ge=0)
    listen_port: int | None = Field(None, ge=0, le=65535)  # live: HTTPS (mutual TLS) endpoint (0: any free)
    listen_host: str = "127.0.0.1"


def _values(doc: MeterDataDocument) -> tuple[tuple[GridStateValue, ...], tuple[IntervalValue, ...]]:
    if doc.taf is Taf.TAF10:
        return tuple(GridStateValue(meter_id=doc.meter_id, captured_at_s=v.captured_at,
                                    power_W=None if v.value is None else float(v.value))
                     for v in doc.values if v.obis == OBIS_POWER), ()
    if doc.taf is Taf.TAF7:
        registers = [v for v in doc.values if v.obis == OBIS_IMPORT]
        return (), tuple(IntervalValue(meter_id=doc.meter_id, start_s=b.captured_at - 900.0,
                                       import_Wh=None if a.value is None or b.value is None else float(b.value - a.value))
                         for a, b in zip(registers, registers[1:], strict=False))
    return (), ()


@component_type
class Pemp(Component):
    kind = "pemp"
    catalogue_id = "C-PEMP"
    Config = PempConfig
    PORTS = (
        provides("meter_data", "I-16", "BSI TR-03109 CMS", wire_protocol="BSI TR-03109 (HTTPS, mutual TLS)"),
        requires("dso", "I-35", "in-memory", wire_protocol="AS4 (MaKo 2022)", optional=True),
    )
    phase = Phase.BACKEND

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.world = world_pki(config.pki_seed, context.start_s)
        self.identity = self.world.identity(name)
        self._inboxes: dict[str, EmtInbox] = {}
        self._last_register: dict[str, Any] = {}  # meter -> last TAF 7 import register value (for period energy)
        self.refused: list[tuple[float, str, str]] = []
        self.documents: list[MeterDataDocument] = []
        self.gaps: list[tuple[str, tuple[int, ...]]] = []
        self.bound_port: int | None = None  # live

    def _inbox(self, gateway_id: str) -> EmtInbox:
        inbox = self._inboxes.get(gateway_id)
        if inbox is None:
            inbox = EmtInbox(emt_id=self.name, recipient=self.identity.recipient, roots=(self.world.pki.root,),
                             gateways={gateway_id: self.world.identity(gateway_id).certificate})
            self._inboxes[gateway_id] = inbox
        return inbox

    def handle(self, port: str, message: object, link: Link) -> object:
        if self.context.clock is not None:
            self.now = max(self.now, self.context.clock.now())
        if isinstance(message, MeterDataPush):
            try:
                received = self._inbox(message.gateway_id).receive(bytes(message.cms), now=self.now)
            except Tr03109Error as exc:
                reason = getattr(exc, "reason", type(exc).__name__)
                self.refused.append((self.now, message.gateway_id, reason))
                log.warning("pEMP %s refused message %d of %s: %s", self.name, message.sequence_no,
                            message.gateway_id, exc)
                return MeterDataAck(sequence_no=message.sequence_no, stored=False, refused=reason)
            if not received.duplicate:
                self._forward(received.document)
                if received.missing_before:
                    self.gaps.append((message.gateway_id, received.missing_before))
            return MeterDataAck(sequence_no=message.sequence_no, stored=True, duplicate=received.duplicate)
        return super().handle(port, message, link)

    def _forward(self, doc: MeterDataDocument) -> None:
        self.documents.append(doc)
        if doc.taf is Taf.TAF7:
            # the first interval of a message starts at the previous message's last register
            previous = self._last_register.get(doc.meter_id)
            registers = [v for v in doc.values if v.obis == OBIS_IMPORT]
            if previous is not None:
                doc = _with_previous(doc, previous)
            if registers:
                self._last_register[doc.meter_id] = registers[-1]
        grid_state, intervals = _values(doc)
        dso = self.link("dso")
        if dso is not None and (grid_state or intervals):
            dso.request(MeterValues(gateway_id=doc.gateway_id, grid_state=grid_state, intervals=intervals))

    async def serve(self, clock: Clock) -> None:
        if self.config.listen_port is None:
            return
        gateways = {lk.local.config.gateway_id: self.world.identity(lk.local.config.gateway_id).certificate  # type: ignore[attr-defined]
                    for lk in self.inbound.get("meter_data", [])}
        inbox = EmtInbox(emt_id=self.name, recipient=self.identity.recipient, roots=(self.world.pki.root,),
                         gateways=gateways)
        with tempfile.TemporaryDirectory() as tmp:
            cert, key, ca = self.world.write_pem(self.name, Path(tmp))
            tls = mutual_tls_context(cert_file=cert, key_file=key, ca_file=ca, server=True)

        def received(r: Received) -> None:
            if self.context.clock is not None:
                self.now = max(self.now, self.context.clock.now())
            if not r.duplicate:
                self._forward(r.document)
                if r.missing_before:
                    self.gaps.append((r.document.gateway_id, r.missing_before))

        server = await serve_emt_inbox(inbox, clock=clock.now, host=self.config.listen_host,
                                       port=self.config.listen_port, ssl_context=tls, on_received=received)
        self.bound_port = server.sockets[0].getsockname()[1]
        async with server:
            await server.serve_forever()

    def report(self) -> dict[str, Any]:
        return {"documents": len(self.documents), "refused": list(self.refused), "gaps": list(self.gaps)}


def _with_previous(doc: MeterDataDocument, previous: Any) -> MeterDataDocument:
    from dataclasses import replace

    return replace(doc, values=(previous, *doc.values))
