"""I-08 HEMS – Customer Plants, in memory until the SunSpec/Modbus core is wired.

Power with the common sign: positive = drawing from the house grid (battery charging),
negative = feeding in (PV, battery discharging).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantStatusRequest:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class PvStatus:
    power_W: float  # AC, negative = generation
    peak_power_W: float
    limit_pct: float  # active power limit (WMaxLimPct)


@dataclass(frozen=True, slots=True, kw_only=True)
class BatteryStatus:
    power_W: float
    soc: float
    capacity_Wh: float
    max_charge_W: float
    max_discharge_W: float
    min_soc: float


@dataclass(frozen=True, slots=True, kw_only=True)
class BatterySetpoint:
    power_W: float  # + charge, − discharge


@dataclass(frozen=True, slots=True, kw_only=True)
class PvLimit:
    limit_pct: float  # 0..100 of peak power


@dataclass(frozen=True, slots=True, kw_only=True)
class Accepted:
    value: float
