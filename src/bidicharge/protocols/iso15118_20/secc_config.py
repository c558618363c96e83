"""What an SECC offers and the limits of its power stage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .cert_install import InstallationProvider
from .services import ControlMode, ServiceId, ServiceOffer, bpt_offer


@dataclass(frozen=True, slots=True, kw_only=True)
class AcEvseLimits:
    max_charge_power_W: float = 11_000.0
    min_charge_power_W: float = 0.0
    max_discharge_power_W: float = 11_000.0
    min_discharge_power_W: float = 0.0
    nominal_frequency_Hz: float = 50.0


@dataclass(frozen=True, slots=True, kw_only=True)
class DcEvseLimits:
    max_charge_power_W: float = 50_000.0
    min_charge_power_W: float = 0.0
    max_charge_current_A: float = 125.0
    min_charge_current_A: float = 0.0
    max_voltage_V: float = 500.0
    min_voltage_V: float = 150.0
    max_discharge_power_W: float = 50_000.0
    min_discharge_power_W: float = 0.0
    max_discharge_current_A: float = 125.0
    min_discharge_current_A: float = 0.0


def _default_offers() -> tuple[ServiceOffer, ...]:
    modes = (ControlMode.DYNAMIC, ControlMode.SCHEDULED)
    return (
        bpt_offer(ServiceId.AC_BPT, control_modes=modes),
        bpt_offer(ServiceId.DC_BPT, control_modes=modes),
    )


def _counter_session_ids() -> Callable[[], bytes]:
    n = 0

    def next_id() -> bytes:
        nonlocal n
        n += 1
        return n.to_bytes(8, "big")

    return next_id


@dataclass(frozen=True, slots=True, kw_only=True)
class SeccConfig:
    """`negative_discharge_limits`: whether discharge *limits* (DC CPD/loop, discharging
    schedules) travel as negative numbers. The standard leaves this unclear (EVerest has the
    same option); a discharge *target* (EVSETargetActivePower) is always negative."""

    evse_id: str = "DE*BDC*E00001"
    offers: tuple[ServiceOffer, ...] = field(default_factory=_default_offers)
    ac: AcEvseLimits = field(default_factory=AcEvseLimits)
    dc: DcEvseLimits = field(default_factory=DcEvseLimits)
    negative_discharge_limits: bool = False
    auto_authorize: bool = True
    isolation_ok: bool | None = True  # DC cable check result until the owner reports one
    new_session_id: Callable[[], bytes] = field(default_factory=_counter_session_ids)
    paused_session_ids: frozenset[bytes] = frozenset()
    notification_max_delay_s: int = 0
    # Plug & Charge is offered when both are given: the roots (DER) contract certificate
    # chains must lead to, and the source of the 16-byte GenChallenge (a CSPRNG in the field,
    # e.g. ``lambda: os.urandom(16)``; injected so that tests are deterministic).
    pnc_trust_anchors: tuple[bytes, ...] = ()
    new_challenge: Callable[[], bytes] | None = None
    pnc_allow_sha256: bool = False  # also accept ISO 15118-2's ECDSA-SHA-256 signatures
    # CertificateInstallation is offered when given: it answers for the CPS (the SECC passes the
    # EV's request on; in the field over OCPP Get15118EVCertificate, in tests a ContractIssuer)
    certificate_installer: InstallationProvider | None = None
