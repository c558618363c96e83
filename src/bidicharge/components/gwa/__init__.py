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
`taf9_interval_s` adds TAF 9 (feed-in) for the pEMP. `taf14` grants TAF 14 (every reading of
the meter, forwarded each `send_interval_s`; TR-03109-1 "high-frequency values") to an EMT the
GWA authorises, on the gateways listed (all when none): only this EMT is put in the profile as
the TAF's receiver, encrypted for its certificate — an EMT the GWA did not name gets nothing,
and a profile that anyone but the GWA signed is refused by the gateway (`not-gwa`).
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from pydantic import BaseModel, ConfigDict, Field

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


class Taf14Grant(BaseModel):
    """TAF 14 for one authorised EMT (its component name is its SM-PKI identity and EMT id)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    emt: str = Field(..., min_length=1)
    send_interval_s: int = Field(1, ge=1, description="how often the gateway forwards the readings")
    gateways: tuple[str, ...] = Field((), description="gateway ids; none: every gateway of this GWA")


class GwaConfig(ComponentConfig):
    pemp: str = "pemp"  # EMT that receives TAF 7 and TAF 10
    aemp: str = "aemp"  # the only aEMP allowed on the CLS channels
    taf10_interval_s: int = Field(60, ge=1)
    taf7: bool = True
    taf9_interval_s: int | None = Field(None, ge=1)  # feed-in values (TAF 9) for the pEMP, when set
    taf14: tuple[Taf14Grant, ...] = ()
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
        emts = [self._endpoint(cfg.pemp)]
        for grant in cfg.taf14:
            if grant.gateways and inventory.gateway_id not in grant.gateways:
                continue
            if all(e.emt_id != grant.emt for e in emts):
                emts.append(self._endpoint(grant.emt))
            evaluations += [EvaluationProfile(profile_id=f"taf14-{grant.emt}-{meter}", taf=Taf.TAF14, meter_id=meter,
                                              emt_id=grant.emt, interval_s=0, send_interval_s=grant.send_interval_s)
                            for meter in inventory.meter_ids]
        return GatewayProfile(
            gateway_id=inventory.gateway_id,
            version=version,
            meters=inventory.meter_ids,
            emts=tuple(emts),
            evaluations=tuple(evaluations),
            cls=tuple(ClsPermission(channel_id=channel_of(cu), aemp_id=cfg.aemp,
                                    aemp_certificate_sha256=certificate_sha256(aemp_der), target_host=cu,
                                    target_port=4443) for cu in inventory.cls_devices),
        )

    def _endpoint(self, emt: str) -> EmtEndpoint:
        """An EMT as the profile names it: its encryption certificate and pinned TLS certificate."""
        der = self.world.identity(emt).certificate.public_bytes(serialization.Encoding.DER)
        return EmtEndpoint(emt_id=emt, host=emt, port=443, encryption_certificate_der=der,
                           tls_certificate_sha256=certificate_sha256(der))

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
