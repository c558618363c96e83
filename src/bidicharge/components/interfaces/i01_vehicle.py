"""I-01 BEV – EVSE, in memory until the ISO 15118-20 core lands.

The EVSE asks the vehicle for its state and limits (what ISO 15118-20 carries in
ChargeParameterDiscovery / ChargeLoop) and transfers energy; power is positive into the
vehicle, negative out of it (discharge, BPT).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class VehicleStatusRequest:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class VehicleStatus:
    plugged_in: bool
    soc: float
    capacity_Wh: float
    max_charge_W: float  # what the battery accepts now
    max_discharge_W: float  # what the battery gives now, respecting the owner's minimum SoC
    departure_s: float | None  # epoch of the next departure, if known
    target_soc: float | None
    min_soc: float  # the owner's minimum for discharging
    charge_efficiency: float
    discharge_efficiency: float


@dataclass(frozen=True, slots=True, kw_only=True)
class EnergyTransfer:
    power_W: float  # at the vehicle inlet; + into the vehicle
    duration_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class EnergyTransferResult:
    power_W: float  # what the vehicle actually accepted or gave
    soc: float
