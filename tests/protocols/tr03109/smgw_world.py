"""A small metering world for the SMGW tests: one SM-PKI, a gateway, its GWA, two EMTs
(pEMP and DSO), an aEMP, one bidirectional meter — all from seeded randomness."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cache

from cryptography.hazmat.primitives import serialization

from bidicharge.protocols.sml import MeterReading, server_id
from bidicharge.protocols.tr03109 import (
    MONTH,
    ClsPermission,
    DemoSmPki,
    EmtEndpoint,
    EmtInbox,
    EvaluationProfile,
    GatewayProfile,
    Identity,
    SmgwCore,
    Taf,
    TariffSwitch,
    deliver_in_memory,
    sign_profile,
)

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC).timestamp()  # a Monday, 00:00 UTC
METER = server_id(manufacturer="EMH", serial=4711)
METER_ID = METER.hex()
GATEWAY_ID = "EDNT0012345678"


def seeded(seed: int):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    return rng.randbytes


def der(identity: Identity) -> bytes:
    return identity.certificate.public_bytes(serialization.Encoding.DER)


def fingerprint(identity: Identity) -> str:
    return hashlib.sha256(der(identity)).hexdigest()


@dataclass(frozen=True)
class Pki:
    pki: DemoSmPki
    gateway: Identity
    gwa: Identity
    pemp: Identity
    dso: Identity
    aemp: Identity
    control_unit: Identity


@cache
def make_pki(curve: str = "secp256r1", seed: int = 7) -> Pki:
    pki = DemoSmPki(random_bytes=seeded(seed), now=T0 - 30 * 86_400, curve=curve)
    return Pki(pki=pki, gateway=pki.issue(GATEWAY_ID), gwa=pki.issue("GWA"), pemp=pki.issue("pEMP"),
               dso=pki.issue("DSO"), aemp=pki.issue("aEMP"), control_unit=pki.issue("control-unit"))


def evaluation(profile_id: str, taf: Taf, emt_id: str = "pemp", **kw: object) -> EvaluationProfile:
    defaults: dict[Taf, tuple[int, int]] = {Taf.TAF1: (MONTH, MONTH), Taf.TAF2: (86_400, 86_400),
                                            Taf.TAF7: (900, 86_400), Taf.TAF9: (900, 900),
                                            Taf.TAF10: (60, 60), Taf.TAF14: (0, 10)}
    interval, send = defaults[taf]
    base = EvaluationProfile(profile_id=profile_id, taf=taf, meter_id=METER_ID, emt_id=emt_id,
                             interval_s=interval, send_interval_s=send)
    if taf is Taf.TAF2:
        base = replace(base, tariff_table=(TariffSwitch(start_minute=0, stage="NT"),
                                           TariffSwitch(start_minute=6 * 60, stage="HT"),
                                           TariffSwitch(start_minute=22 * 60, stage="NT")))
    return replace(base, **kw)  # type: ignore[arg-type]


def profile(*evaluations: EvaluationProfile, version: int = 1, pki: Pki | None = None,
            gateway_id: str = GATEWAY_ID) -> GatewayProfile:
    p = pki or make_pki()
    emts = tuple(EmtEndpoint(emt_id=name, host="127.0.0.1", port=0, encryption_certificate_der=der(ident),
                             tls_certificate_sha256=fingerprint(ident))
                 for name, ident in (("pemp", p.pemp), ("dso", p.dso)))
    cls = (ClsPermission(channel_id="cu1.cls", aemp_id="aemp", aemp_certificate_sha256=fingerprint(p.aemp),
                         target_host="127.0.0.1", target_port=0),)
    return GatewayProfile(gateway_id=gateway_id, version=version, meters=(METER_ID,), emts=emts,
                          evaluations=evaluations, cls=cls)


def gateway(*evaluations: EvaluationProfile, now: float = T0, pki: Pki | None = None) -> SmgwCore:
    p = pki or make_pki()
    core = SmgwCore(gateway_id=GATEWAY_ID, signer=p.gateway.signer, gwa_certificate=p.gwa.certificate,
                    roots=(p.pki.root,), random_bytes=seeded(99))
    assert core.apply_profile_update(sign_profile(profile(*evaluations, pki=p), p.gwa.signer, now=now), now=now)
    list(core.events())
    return core


def inbox(emt: str = "pemp", pki: Pki | None = None) -> EmtInbox:
    p = pki or make_pki()
    ident = p.pemp if emt == "pemp" else p.dso
    return EmtInbox(emt_id=emt, recipient=ident.recipient, roots=(p.pki.root,),
                    gateways={GATEWAY_ID: p.gateway.certificate})


@dataclass
class Household:
    """A meter whose registers follow a given power: positive imports, negative exports."""

    import_Wh: Decimal = Decimal("1000000.0")
    export_Wh: Decimal = Decimal("20000.0")
    power_W: int = 0
    readings: dict[float, MeterReading] = field(default_factory=dict)

    def step(self, dt_s: float, t: float) -> MeterReading:
        energy = Decimal(self.power_W) * Decimal(dt_s) / Decimal(3600)
        if energy >= 0:
            self.import_Wh += energy.quantize(Decimal("0.1"))
        else:
            self.export_Wh -= energy.quantize(Decimal("0.1"))
        reading = MeterReading(server_id=METER, import_energy_Wh=self.import_Wh, export_energy_Wh=self.export_Wh,
                               active_power_W=self.power_W)
        self.readings[t] = reading
        return reading


def drive(core: SmgwCore, house: Household, *, start: float, end: float, step_s: float,
          silent: tuple[float, float] | None = None) -> None:
    """Feed a reading every `step_s` in [start, end] and poll; no readings inside `silent`."""
    t = start
    while t <= end:
        reading = house.step(step_s, t)
        if silent is None or not silent[0] <= t < silent[1]:
            core.receive_reading(reading, now=t)
        core.poll(now=t)
        t += step_s


def deliver(core: SmgwCore, box: EmtInbox, *, now: float) -> int:
    """Two-peer delivery in memory: every pending message to the inbox, acknowledged in order."""
    return len(deliver_in_memory(core, box, now=now))
