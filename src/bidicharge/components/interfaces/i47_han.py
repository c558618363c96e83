"""I-47 HEMS – iMSys: the meter's current values at the HAN (read-only), in memory until
the SMGW HAN interface lands."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterReadingRequest:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterReading:
    power_W: float  # + import, − export (OBIS 16.7.0 sign)
    import_Wh: float  # 1.8.0
    export_Wh: float  # 2.8.0
