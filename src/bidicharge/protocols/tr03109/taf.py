"""Tariff use cases (Tarifanwendungsfälle, BSI TR-03109-1 with the TAF list of
the BMWK/BSI roadmap; TRuDI enumeration) and the values they carry.

| TAF | what the gateway produces |
|---|---|
| 1  | one register reading (1.8.0, 2.8.0) per billing period (calendar month) |
| 2  | import/export registers per tariff stage, the stage switched by a time table |
| 7  | 15-minute register values (1.8.0, 2.8.0), the whole series pushed per send period |
| 9  | actual feed-in (2.8.0 and export power) periodically and on the EMT's request |
| 10 | grid-state data (active power 16.7.0) at the profile's interval to the DSO |
| 14 | every meter reading (seconds level) to an authorised EMT |
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum, IntEnum
from typing import Final


class Taf(IntEnum):
    TAF1 = 1
    TAF2 = 2
    TAF7 = 7
    TAF9 = 9
    TAF10 = 10
    TAF14 = 14


class ValueStatus(Enum):
    """Status of one value in a meter-data document."""

    VALID = "valid"
    MISSING = "missing"  # no meter reading fresh enough at the capture time (meter silent)


OBIS_IMPORT: Final = "1-0:1.8.0*255"
OBIS_EXPORT: Final = "1-0:2.8.0*255"
OBIS_POWER: Final = "1-0:16.7.0*255"
UNIT_WH: Final = "Wh"
UNIT_W: Final = "W"

# [TAF 7] the capture period of register series is 15 minutes (MsbG §60 / TR-03109-1 TAF 7)
TAF7_INTERVAL_S: Final = 900


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterValue:
    """One captured value; `value` is None exactly when `status` is MISSING."""

    obis: str
    captured_at: float  # UTC seconds of the capture (period end for registers)
    value: Decimal | None
    unit: str
    status: ValueStatus = ValueStatus.VALID
    tariff_stage: str | None = None  # TAF 2 only
    read_at: float | None = None  # when the gateway received the reading used (<= captured_at)


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterDataDocument:
    """What one sealed message carries to one EMT (the payload inside the CMS)."""

    gateway_id: str
    meter_id: str  # server id, hex
    emt_id: str
    taf: Taf
    profile_id: str
    sequence_no: int  # per gateway and EMT, from 1, without gaps
    created_at: float
    period_start: float
    period_end: float
    values: tuple[MeterValue, ...]
    on_request: bool = False
