"""Active external market participant (C-AEMP, kind ``aemp``): the one party that may open
the CLS channels of the gateways (the GWA names its certificate in their profiles).

It takes control orders from the CLS management (I-29) or directly from the DSO backend
(I-26) and sends the payload through the gateway that reaches the control unit (I-10),
showing its SM-PKI TLS client certificate and naming the channel. The answer carries the
gateway's verdict and the control unit's status.

Live mode: `send_live` dials the gateway's CLS proxy over TLS (its SM-PKI client
certificate, the channel as SNI, the gateway pinned by its certificate) and speaks
`control_unit.wire` through it: one payload line, one status line back.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ssl
import tempfile
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from pydantic import Field

from bidicharge.components.control_unit.wire import WireError, decode_status, encode_payload
from bidicharge.components.interfaces.i10_cls import ClsRequest, ClsResponse
from bidicharge.components.interfaces.i15_lmn import Octets
from bidicharge.components.interfaces.i20_dso import ControlOrder, ControlOutcome
from bidicharge.components.smgw.world_pki import world_pki
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import Link, provides, requires


class AempConfig(ComponentConfig):
    pki_seed: int = Field(0, ge=0)
    identity: str | None = None  # SM-PKI identity to present (default: the component name)
    live_timeout_s: float = Field(10.0, gt=0)


@component_type
class Aemp(Component):
    kind = "aemp"
    catalogue_id = "C-AEMP"
    Config = AempConfig
    PORTS = (
        provides("orders", "I-29", "in-memory", wire_protocol="tbd (seed)"),
        provides("dso", "I-26", "in-memory", wire_protocol="via CLS"),
        requires("gateways", "I-10", "in-memory", wire_protocol="CLS channel (TLS through the SMGW)", many=True),
    )
    phase = Phase.BACKEND

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.world = world_pki(config.pki_seed, context.start_s)
        identity = self.world.identity(config.identity or name)
        self.certificate_der = Octets(identity.certificate.public_bytes(serialization.Encoding.DER))
        self.sent = 0
        self.refused: list[tuple[float, str, str]] = []
        self._tls: ssl.SSLContext | None = None

    def handle(self, port: str, message: object, link: Link) -> object:
        if self.context.clock is not None:
            self.now = max(self.now, self.context.clock.now())
        if isinstance(message, ControlOrder):
            return self.send(message)
        return super().handle(port, message, link)

    def send(self, order: ControlOrder) -> ControlOutcome:
        gateway = next((lk for lk in self.peers("gateways")
                        if getattr(lk.peer.config, "gateway_id", None) == order.gateway_id), None)
        if gateway is None:
            return ControlOutcome(order_id=order.order_id, unit_id=order.unit_id, delivered=False,
                                  reason="no-route-to-gateway")
        self.sent += 1
        answer: ClsResponse = gateway.request(ClsRequest(channel_id=order.channel_id,
                                                         client_certificate_der=self.certificate_der,
                                                         payload=order.payload))
        if not answer.allowed:
            self.refused.append((self.now, order.gateway_id, answer.reason))
        return ControlOutcome(order_id=order.order_id, unit_id=order.unit_id, delivered=answer.allowed,
                              reason=answer.reason, status=answer.status)

    def report(self) -> dict[str, Any]:
        return {"sent": self.sent, "refused": list(self.refused)}

    # -- live: through the gateway's CLS proxy over TLS ---------------------------------------
    def _client_tls(self) -> ssl.SSLContext:
        if self._tls is None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            with tempfile.TemporaryDirectory() as tmp:
                cert, key, ca = self.world.write_pem(self.config.identity or self.name, Path(tmp))
                ctx.load_cert_chain(cert, key)
                ctx.load_verify_locations(ca)
            ctx.check_hostname = False  # the SNI names the channel, not the gateway: pinned below instead
            self._tls = ctx
        return self._tls

    async def send_live(self, order: ControlOrder) -> ControlOutcome:
        """One order over a fresh TLS connection through the gateway's CLS proxy."""
        gateway = next((lk.peer for lk in self.peers("gateways")
                        if getattr(lk.peer.config, "gateway_id", None) == order.gateway_id), None)
        port = getattr(gateway, "cls_port", None)
        if gateway is None or port is None:
            return ControlOutcome(order_id=order.order_id, unit_id=order.unit_id, delivered=False,
                                  reason="no-route-to-gateway")
        self.sent += 1

        def refused(reason: str) -> ControlOutcome:
            self.refused.append((self.now, order.gateway_id, reason))
            return ControlOutcome(order_id=order.order_id, unit_id=order.unit_id, delivered=False, reason=reason)

        try:
            async with asyncio.timeout(self.config.live_timeout_s):
                reader, writer = await asyncio.open_connection(gateway.config.cls_listen_host, port,
                                                               ssl=self._client_tls(),
                                                               server_hostname=order.channel_id)
                try:
                    der = writer.get_extra_info("ssl_object").getpeercert(True)
                    pinned = self.world.identity(order.gateway_id).certificate.public_bytes(
                        serialization.Encoding.DER)
                    if hashlib.sha256(der).digest() != hashlib.sha256(pinned).digest():
                        return refused("gateway-not-pinned")
                    writer.write(encode_payload(order.payload))
                    await writer.drain()
                    line = await reader.readline()
                finally:
                    writer.close()
                    with contextlib.suppress(OSError, ssl.SSLError):
                        await writer.wait_closed()
        except (OSError, ssl.SSLError, TimeoutError) as exc:
            return refused(f"channel-failed: {type(exc).__name__}")
        if not line.endswith(b"\n"):
            return refused("channel-closed")  # the proxy refused us (or the control unit went away)
        try:
            status = decode_status(line)
        except WireError:
            return refused("bad-answer")
        return ControlOutcome(order_id=order.order_id, unit_id=order.unit_id, delivered=True, reason="allowed",
                              status=status)
