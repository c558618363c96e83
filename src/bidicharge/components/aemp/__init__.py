"""Active external market participant (C-AEMP, kind ``aemp``): the one party that may open
the CLS channels of the gateways (the GWA names its certificate in their profiles).

It takes control orders from the CLS management (I-29) or directly from the DSO backend
(I-26) and sends the payload through the gateway that reaches the control unit (I-10),
showing its SM-PKI TLS client certificate and naming the channel. The answer carries the
gateway's verdict and the control unit's status.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from pydantic import Field

from bidicharge.components.interfaces.i10_cls import ClsRequest, ClsResponse
from bidicharge.components.interfaces.i15_lmn import Octets
from bidicharge.components.interfaces.i20_dso import ControlOrder, ControlOutcome
from bidicharge.components.smgw.world_pki import world_pki
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import Link, provides, requires


class AempConfig(ComponentConfig):
    pki_seed: int = Field(0, ge=0)
    identity: str | None = None  # SM-PKI identity to present (default: the component name)


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
        identity = world_pki(config.pki_seed, context.start_s).identity(config.identity or name)
        self.certificate_der = Octets(identity.certificate.public_bytes(serialization.Encoding.DER))
        self.sent = 0
        self.refused: list[tuple[float, str, str]] = []

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
