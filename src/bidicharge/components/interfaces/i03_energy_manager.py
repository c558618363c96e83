"""I-03 EVSE – HEMS, in memory until the EEBUS core lands (EVCC/EVCEM/EVSOC/OPEV/LPC).

Power is positive into the vehicle; a negative setpoint asks the EVSE to discharge.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargerStatusRequest:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargerStatus:
    vehicle_connected: bool
    power_W: float  # at the vehicle side
    grid_power_W: float
    max_charge_W: float  # what the EVSE and vehicle allow now
    max_discharge_W: float
    min_power_W: float  # smallest non-zero power (6 A AC)
    soc: float | None
    capacity_Wh: float | None
    departure_s: float | None
    target_soc: float | None
    min_soc: float | None
    charge_efficiency: float  # grid → vehicle battery, stage and vehicle together
    discharge_efficiency: float
    stage_efficiency: float = 1.0  # the EVSE's own conversion, one way


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerSetpoint:
    power_W: float  # + charge, − discharge


@dataclass(frozen=True, slots=True, kw_only=True)
class SetpointAccepted:
    power_W: float  # the setpoint after the EVSE's own limits
