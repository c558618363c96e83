"""I-01 BEV – EVSE in two forms.

* In memory (ports ``vehicle``/``charger``): the EVSE asks the vehicle for its state and limits
  (what ISO 15118-20 carries in ChargeParameterDiscovery / ChargeLoop) and transfers energy;
  power is positive into the vehicle, negative out of it (discharge, BPT). Kept for the
  year-long studies, where its speed matters.
* ISO 15118-20 / IEC 61851 (ports ``vehicle_iso15118``/``charger_iso15118``): the EVSE reaches
  the vehicle's :class:`Iso15118Inlet` — the charging cable in a study: the control pilot
  state the vehicle presents, the V2GTP byte stream of its EVCC, and the power that flows
  while the contactor is closed. Everything else the EVSE learns from the protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

from bidicharge.protocols.iec61851 import CpState

# The EV announces a departure this far ahead (or further) when it has no trip planned;
# the EVSE reports "departure unknown" for it. (DepartureTime is mandatory in Dynamic mode.)
NO_DEPARTURE_s: Final = 7 * 86_400


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


@dataclass(frozen=True, slots=True, kw_only=True)
class Iso15118InletRequest:
    """The EVSE plugs its cable into the vehicle (study mode): answered with the inlet."""


class Iso15118Inlet(Protocol):
    """The vehicle at the end of the cable, as the EVSE sees it in a study."""

    @property
    def cp_state(self) -> CpState: ...  # the control pilot state the vehicle presents

    @property
    def connection(self) -> int: ...  # counts the EVCC's (TCP) connections; a new one = a new SECC

    def data_to_send(self) -> bytes: ...  # V2GTP bytes from the EVCC

    def receive_data(self, data: bytes, now: float) -> None: ...  # V2GTP bytes to the EVCC

    def next_deadline(self) -> float | None: ...

    def handle_timeout(self, now: float) -> None: ...

    def conduct(self, power_W: float, duration_s: float) -> float:
        """Power offered at the inlet (+ into the vehicle) for `duration_s`; returns what the
        vehicle took (it follows its commanded target within its limits and minimum SoC)."""
        ...
