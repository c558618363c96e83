"""I-17 GWA – iMSys: gateway administration, and I-18 GWA – MPO: the state of that
administration for the metering point operator. The gateway reports what is bound to it
(meters on its LMN, CLS devices in its HAN); the GWA answers with a profile it signed
(CMS SignedData, `tr03109.sign_profile`), the only way a gateway is configured."""

from __future__ import annotations

from dataclasses import dataclass

from bidicharge.components.interfaces.i15_lmn import Octets


@dataclass(frozen=True, slots=True, kw_only=True)
class InventoryRequest:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayInventory:
    gateway_id: str
    meter_ids: tuple[str, ...]  # server ids, hex
    cls_devices: tuple[str, ...]  # control units in the HAN (addressed by name in study mode)
    profile_version: int  # 0 before the first profile


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileUpdate:
    cms: Octets  # SignedData over the profile JSON


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileUpdateResult:
    applied: bool
    version: int  # the profile running now
    reason: str  # "applied" or the refusal code (not-gwa, expired, replayed, bad-profile, ...)


# ---- I-18 GWA – MPO ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class AdministrationStatusRequest:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayAdministration:
    gateway_id: str
    profile_version: int  # the version the gateway runs (0: none)
    last_result: str  # "applied" or the gateway's refusal code
    meter_ids: tuple[str, ...]
    tafs: tuple[int, ...]  # the tariff use cases configured
    cls_channels: tuple[str, ...]  # CLS channels open to the aEMP (CLS-tunnel status)


@dataclass(frozen=True, slots=True, kw_only=True)
class AdministrationStatus:
    gateways: tuple[GatewayAdministration, ...]
