"""Information objects of IEC 60870-5-101 7.3: what one IOA carries in an ASDU.

Each class is one kind of information element (with an optional CP56Time2a where the
type has a time-tagged twin); :mod:`.asdu` maps type identifications onto them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from .codes import QOI_STATION, InitCause, Quality
from .cp56time import Cp56Time2a


class DoublePointState(IntEnum):
    """DPI of a double point, DCS of a double command (101 7.2.6.2, 7.2.6.16)."""

    INDETERMINATE = 0  # intermediate state (a breaker moving); not a valid DCS
    OFF = 1
    ON = 2
    FAULTY = 3  # indeterminate; not a valid DCS


@dataclass(frozen=True, slots=True, kw_only=True)
class SinglePoint:
    """Single-point information SIQ (7.3.1.1 / 7.3.1.22 with time)."""

    ioa: int
    value: bool
    quality: Quality = Quality.GOOD
    time: Cp56Time2a | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MeasuredFloat:
    """Measured value, IEEE 754 short float + QDS (7.3.1.13 / 7.3.1.28 with time)."""

    ioa: int
    value: float
    quality: Quality = Quality.GOOD
    time: Cp56Time2a | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SingleCommand:
    """Single command SCO: SCS bit 0, QU bits 2-6, S/E bit 7 (101 7.3.2.1; C_SC_TA_1 104 clause 8)."""

    ioa: int
    on: bool
    select: bool = False  # S/E = 1: select, 0: execute (7.2.6.15)
    qualifier: int = 0  # QU 0..31: 0 no additional definition, 1 short, 2 long pulse, 3 persistent
    time: Cp56Time2a | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SetpointFloat:
    """Set-point command, short float + QOS: QL bits 0-6, S/E bit 7 (101 7.3.2.6; C_SE_TC_1 104 clause 8)."""

    ioa: int
    value: float
    select: bool = False
    qualifier: int = 0  # QL 0..127, 0 = default
    time: Cp56Time2a | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Interrogation:
    """Interrogation command QOI (7.3.4.1): 20 = station, 21..36 = group 1..16."""

    ioa: int = 0
    qualifier: int = QOI_STATION


@dataclass(frozen=True, slots=True, kw_only=True)
class ClockSync:
    """Clock synchronisation command (7.3.4.4)."""

    ioa: int = 0
    time: Cp56Time2a


@dataclass(frozen=True, slots=True, kw_only=True)
class EndOfInitialisation:
    """End of initialisation COI (7.3.3.1): cause bits 0-6, bit 7 after parameter change."""

    ioa: int = 0
    cause: InitCause = InitCause.LOCAL_POWER_ON
    after_parameter_change: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DoublePoint:
    """Double-point information DIQ: DPI bits 0-1 + quality (7.3.1.3 / 7.3.1.23 with time)."""

    ioa: int
    state: DoublePointState
    quality: Quality = Quality.GOOD
    time: Cp56Time2a | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DoubleCommand:
    """Double command DCO: DCS bits 0-1 (1 off, 2 on), QU bits 2-6, S/E bit 7 (7.3.2.2)."""

    ioa: int
    state: DoublePointState
    select: bool = False
    qualifier: int = 0
    time: Cp56Time2a | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class IntegratedTotal:
    """Binary counter reading BCR (7.2.6.9): a signed 32-bit count, sequence 0..31, CY, CA, IV.

    Energy meters report ``counter`` in their own unit (Wh here, by project convention).
    """

    ioa: int
    counter: int
    sequence: int = 0
    carry: bool = False  # CY: the counter overflowed in this period
    adjusted: bool = False  # CA: the counter was adjusted in this period
    invalid: bool = False  # IV
    time: Cp56Time2a | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CounterInterrogation:
    """Counter interrogation QCC (7.2.6.23): RQT 1..4 group, 5 general; FRZ 0 read .. 3 reset."""

    ioa: int = 0
    request: int = 5
    freeze: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadCommand:
    """Read command (7.3.4.3): the address alone; the answer is the point with cause 5."""

    ioa: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MeasuredNormalized:
    """Measured value, normalised NVA + QDS (7.3.1.9 / 7.3.1.26): -1 <= value < 1 in steps of 2^-15."""

    ioa: int
    value: float
    quality: Quality = Quality.GOOD
    time: Cp56Time2a | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MeasuredScaled:
    """Measured value, scaled SVA + QDS (7.3.1.11 / 7.3.1.27): a 16-bit integer; the scale is agreed."""

    ioa: int
    value: int
    quality: Quality = Quality.GOOD
    time: Cp56Time2a | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SetpointNormalized:
    """Set-point command, normalised NVA + QOS (7.3.2.4, C_SE_TA_1 104 clause 8)."""

    ioa: int
    value: float
    select: bool = False
    qualifier: int = 0
    time: Cp56Time2a | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SetpointScaled:
    """Set-point command, scaled SVA + QOS (7.3.2.5, C_SE_TB_1 104 clause 8)."""

    ioa: int
    value: int
    select: bool = False
    qualifier: int = 0
    time: Cp56Time2a | None = None


InformationObject = (
    SinglePoint
    | MeasuredFloat
    | SingleCommand
    | SetpointFloat
    | Interrogation
    | ClockSync
    | EndOfInitialisation
    | DoublePoint
    | DoubleCommand
    | IntegratedTotal
    | CounterInterrogation
    | ReadCommand
    | MeasuredNormalized
    | MeasuredScaled
    | SetpointNormalized
    | SetpointScaled
)
