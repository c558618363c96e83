"""The gateway's configuration as the GWA sets it (BSI TR-03109-1: evaluation profiles,
communication profiles, meter profiles, CLS proxy permissions — "only the GWA
configures the SMGW").

* `EmtEndpoint` — communication profile: where an EMT is reached and the certificate
  its meter data is encrypted for.
* `EvaluationProfile` — which meter, which TAF, which EMT, capture and send intervals,
  the tariff time table of TAF 2.
* `ClsPermission` — which aEMP (by certificate fingerprint) may use which CLS channel to
  reach which control unit in the HAN.
* `GatewayProfile` — all of it, with a version that only ever increases.

`check_profile` refuses a profile the gateway could not run (``bad-profile``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .errors import RemoteProtocolError
from .taf import TAF7_INTERVAL_S, Taf

MONTH: Final = -1  # interval marker: calendar month (TAF 1 billing period)


@dataclass(frozen=True, slots=True, kw_only=True)
class EmtEndpoint:
    emt_id: str
    host: str
    port: int
    path: str = "/meterdata"
    encryption_certificate_der: bytes  # the EMT's ENC certificate (CMS recipient)
    tls_certificate_sha256: str  # hex fingerprint the gateway pins for the TLS peer


@dataclass(frozen=True, slots=True, kw_only=True)
class TariffSwitch:
    """TAF 2 time table entry: from `start_minute` of the (UTC) day on, `stage` applies."""

    start_minute: int
    stage: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EvaluationProfile:
    profile_id: str
    taf: Taf
    meter_id: str  # server id, hex
    emt_id: str
    interval_s: int  # capture interval; MONTH for TAF 1; 0 for TAF 14 (every reading)
    send_interval_s: int  # push period; MONTH for TAF 1
    tariff_table: tuple[TariffSwitch, ...] = ()
    max_reading_age_s: int = 60  # an older reading at capture time counts as missing


@dataclass(frozen=True, slots=True, kw_only=True)
class ClsPermission:
    channel_id: str  # the TLS SNI name the aEMP asks for
    aemp_id: str
    aemp_certificate_sha256: str  # hex fingerprint of the aEMP's TLS client certificate
    target_host: str  # control unit behind the gateway (HAN)
    target_port: int


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayProfile:
    gateway_id: str
    version: int
    meters: tuple[str, ...]
    emts: tuple[EmtEndpoint, ...] = ()
    evaluations: tuple[EvaluationProfile, ...] = ()
    cls: tuple[ClsPermission, ...] = ()

    def emt(self, emt_id: str) -> EmtEndpoint:
        return next(e for e in self.emts if e.emt_id == emt_id)


def _refuse(message: str) -> RemoteProtocolError:
    return RemoteProtocolError(message, reason="bad-profile")


def _check_evaluation(ev: EvaluationProfile) -> None:
    if ev.taf is Taf.TAF1:
        if ev.interval_s != MONTH or ev.send_interval_s != MONTH:
            raise _refuse(f"{ev.profile_id}: TAF 1 reads once per billing month")
        return
    if ev.taf is Taf.TAF14:
        if ev.interval_s != 0 or ev.send_interval_s < 1:
            raise _refuse(f"{ev.profile_id}: TAF 14 forwards every reading (interval 0) at a send period >= 1 s")
        return
    if ev.taf is Taf.TAF7 and ev.interval_s != TAF7_INTERVAL_S:
        raise _refuse(f"{ev.profile_id}: TAF 7 captures every {TAF7_INTERVAL_S} s")
    if ev.taf is Taf.TAF2:
        minutes = [s.start_minute for s in ev.tariff_table]
        if not minutes or minutes[0] != 0 or minutes != sorted(set(minutes)) or minutes[-1] >= 1440:
            raise _refuse(f"{ev.profile_id}: TAF 2 needs a time table starting at minute 0, ascending, within a day")
        if ev.interval_s != ev.send_interval_s:
            raise _refuse(f"{ev.profile_id}: TAF 2 reports its stage registers once per send period")
    if ev.interval_s < 1 or ev.send_interval_s < ev.interval_s or ev.send_interval_s % ev.interval_s:
        raise _refuse(f"{ev.profile_id}: send period must be a multiple of the capture interval")


def check_profile(profile: GatewayProfile, *, gateway_id: str) -> None:
    """Refuse a profile addressed to another gateway or inconsistent in itself."""
    if profile.gateway_id != gateway_id:
        raise _refuse(f"profile is for gateway {profile.gateway_id!r}, not {gateway_id!r}")
    emts = {e.emt_id for e in profile.emts}
    ids = [ev.profile_id for ev in profile.evaluations]
    if len(set(ids)) != len(ids) or len(emts) != len(profile.emts):
        raise _refuse("duplicate profile or EMT id")
    for ev in profile.evaluations:
        if ev.emt_id not in emts:
            raise _refuse(f"{ev.profile_id}: no communication profile for EMT {ev.emt_id!r}")
        if ev.meter_id not in profile.meters:
            raise _refuse(f"{ev.profile_id}: meter {ev.meter_id} is not bound to this gateway")
        _check_evaluation(ev)
    channels = [c.channel_id for c in profile.cls]
    if len(set(channels)) != len(channels):
        raise _refuse("duplicate CLS channel id")
