"""Gateway administrator (C-GWA, kind ``gwa``): provisions the gateways wired to it (I-17).

At start it asks each gateway for its inventory (meters on the LMN, control units in the
HAN) and sends it a profile signed with the GWA's SM-PKI key (`tr03109.sign_profile`):

* TAF 10 (active power, every `taf10_interval_s`) and TAF 7 (15-minute registers) for the
  DSO's metering receiver `pemp`, encrypted for its certificate, its TLS peer pinned;
* one CLS permission per control unit: channel ``cls.<control unit>``, usable only by the
  aEMP `aemp` (its certificate's fingerprint), leading to that control unit.

`provision` is also the administrative API (authenticated by the GWA's signature, which the
gateway checks); each update raises the profile version. The metering point operator asks
for the state of the administration on I-18 (versions, refusals, TAFs, CLS channels).
`taf9_interval_s` adds TAF 9 (feed-in) for the pEMP.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from pydantic import Field

from bidicharge.components.interfaces.i15_lmn import Octets
from bidicharge.components.interfaces.i17_gwa import (
    AdministrationStatus,
    AdministrationStatusRequest,
    GatewayAdministration,
    GatewayInventory,
    InventoryRequest,
    ProfileUpdate,
    ProfileUpdateResult,
)
from bidicharge.components.smgw.world_pki import world_pki
from bidicharge.protocols.tr03109 import (
    ClsPermission,
    EmtEndpoint,
    EvaluationProfile,
    GatewayProfile,
    Taf,
    sign_profile,
)
from bidicharge.protocols.tr03109.cls import certificate_sha256
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import Link, provides, requires


def channel_of(control_unit: str) -> str:
    """The CLS channel (TLS SNI) of a control unit, as the GWA names it."""
    return f"cls.{control_unit}"


class GwaConfig(ComponentConfig):
    pemp: str = "pemp"  # EMT that receives TAF 7 and TAF 10
    aemp: str = "aemp"  # the only aEMP allowed on the CLS channels
    taf10_interval_s: int = Field(60, ge=1)
    taf7: bool = True
    taf9_interval_s: int | None = Field(None, ge=1)  # feed-in values (TAF 9) for the pEMP, when set
    pki_seed: int = Field(0, ge=0)


@component_type
class Gwa(Component):
    kind = "gwa"
    catalogue_id = "C-GWA"
    Config = GwaConfig
    PORTS = (
        requires("gateways", "I-17", "in-memory", wire_protocol="BSI TR-03109 (CMS-signed profiles)", many=True),
        provides("mpo", "I-18", "in-memory", wire_protocol="BSI TR-03109, DIN VDE V 0418-63-8"),
    )
    phase = Phase.BACKEND

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.world = world_pki(config.pki_seed, context.start_s)
        self.identity = self.world.identity(name)
        self.versions: dict[str, int] = {}
        self.results: dict[str, ProfileUpdateResult] = {}
        self.profiles: dict[str, GatewayProfile] = {}

    def start(self, now: float) -> None:
        super().start(now)
        for link in self.peers("gateways"):
            self.provision(link, now)

    def profile_for(self, inventory: GatewayInventory, version: int) -> GatewayProfile:
        cfg = self.config
        pemp_der = self.world.identity(cfg.pemp).certificate.public_bytes(serialization.Encoding.DER)
        aemp_der = self.world.identity(cfg.aemp).certificate.public_bytes(serialization.Encoding.DER)
        evaluations: list[EvaluationProfile] = []
        for meter in inventory.meter_ids:
            evaluations.append(EvaluationProfile(profile_id=f"taf10-{meter}", taf=Taf.TAF10, meter_id=meter,
                                                 emt_id=cfg.pemp, interval_s=cfg.taf10_interval_s,
                                                 send_interval_s=cfg.taf10_interval_s))
            if cfg.taf9_interval_s is not None:
                evaluations.append(EvaluationProfile(profile_id=f"taf9-{meter}", taf=Taf.TAF9, meter_id=meter,
                                                     emt_id=cfg.pemp, interval_s=cfg.taf9_interval_s,
                                                     send_interval_s=cfg.taf9_interval_s))
            if cfg.taf7:
                evaluations.append(EvaluationProfile(profile_id=f"taf7-{meter}", taf=Taf.TAF7, meter_id=meter,
                                                     emt_id=cfg.pemp, interval_s=900, send_interval_s=900))
        return GatewayProfile(
            gateway_id=inventory.gateway_id,
            version=version,
            meters=inventory.meter_ids,
            emts=(EmtEndpoint(emt_id=cfg.pemp, host=cfg.pemp, port=443, encryption_certificate_der=pemp_der,
                              tls_certificate_sha256=certificate_sha256(pemp_der)),),
            evaluations=tuple(evaluations),
            cls=tuple(ClsPermission(channel_id=channel_of(cu), aemp_id=cfg.aemp,
                                    aemp_certificate_sha256=certificate_sha256(aemp_der), target_host=cu,
                                    target_port=4443) for cu in inventory.cls_devices),
        )

    def provision(self, link: Link, now: float) -> ProfileUpdateResult:
        """Inventory, then a freshly signed profile one version above the gateway's."""
        self.now = now
        inventory = link.request(InventoryRequest())
        version = max(inventory.profile_version, self.versions.get(inventory.gateway_id, 0)) + 1
        profile = self.profile_for(inventory, version)
        cms = sign_profile(profile, self.identity.signer, now=now)
        result: ProfileUpdateResult = link.request(ProfileUpdate(cms=Octets(cms)))
        if result.applied:
            self.profiles[inventory.gateway_id] = profile
        self.versions[inventory.gateway_id] = version
        self.results[inventory.gateway_id] = result
        return result

    def handle(self, port: str, message: object, link: Link) -> object:
        if isinstance(message, AdministrationStatusRequest):
            return AdministrationStatus(gateways=tuple(
                GatewayAdministration(gateway_id=g, profile_version=r.version, last_result=r.reason,
                                      meter_ids=() if g not in self.profiles else self.profiles[g].meters,
                                      tafs=() if g not in self.profiles else tuple(sorted(
                                          {int(e.taf) for e in self.profiles[g].evaluations})),
                                      cls_channels=() if g not in self.profiles else tuple(
                                          c.channel_id for c in self.profiles[g].cls))
                for g, r in sorted(self.results.items())))
        return super().handle(port, message, link)

    def report(self) -> dict[str, Any]:
        return {"provisioned": sum(r.applied for r in self.results.values()),
                "refused": {g: r.reason for g, r in self.results.items() if not r.applied}}
