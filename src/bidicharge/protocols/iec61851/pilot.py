"""Control pilot states A–F and the PWM duty cycle ↔ current rules (IEC 61851-1:2017 Annex A).

The EVSE drives ±12 V on the control pilot (CP) through 1 kΩ; the EV loads it with resistors
that pull the positive level down: 12 V (A, no EV), 9 V (B, EV connected), 6 V (C, charging),
3 V (D, charging with ventilation); 0 V (E) is a short or a dead EVSE and −12 V (F) means the
EVSE is not available (Annex A). Sub-state 1 = steady DC, 2 = 1 kHz PWM oscillating.

The duty cycle tells the EV the current it may draw (Tables A.7 and A.8); 5 % tells it to
use high-level communication (ISO 15118) instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final


class CpState(Enum):
    A = "A"  # vehicle not connected
    B = "B"  # connected, not ready
    C = "C"  # connected, ready, charging
    D = "D"  # ready, ventilation required
    E = "E"  # short circuit / EVSE without power
    F = "F"  # EVSE not available


NOMINAL_V: Final = {
    CpState.A: 12.0,
    CpState.B: 9.0,
    CpState.C: 6.0,
    CpState.D: 3.0,
    CpState.E: 0.0,
    CpState.F: -12.0,
}
# Positive-level detection bands (Annex A: nominal ± 1 V)
_BANDS: Final = (
    (11.0, 13.0, CpState.A),
    (8.0, 10.0, CpState.B),
    (5.0, 7.0, CpState.C),
    (2.0, 4.0, CpState.D),
    (-1.0, 1.0, CpState.E),
    (-13.0, -11.0, CpState.F),
)


def classify_voltage(positive_level_V: float) -> CpState | None:
    """The CP state a measured positive level means; None between bands (treat as an error)."""
    for low, high, state in _BANDS:
        if low <= positive_level_V <= high:
            return state
    return None


HLC_DUTY: Final = 0.05  # 5 %: digital communication required (Table A.8, 3 %…7 %)
MIN_CURRENT_A: Final = 6.0
MAX_CURRENT_A: Final = 80.0


def duty_from_current(current_A: float) -> float:
    """EVSE side (Table A.7): the duty cycle (0..1) that offers `current_A`.

    6 A ≤ I ≤ 51 A: duty = I / 0.6 %; 51 A < I ≤ 80 A: duty = I / 2.5 + 64 %."""
    if not MIN_CURRENT_A <= current_A <= MAX_CURRENT_A:
        raise ValueError(f"{current_A} A cannot be offered by PWM (6 A … 80 A)")
    percent = current_A / 0.6 if current_A <= 51.0 else current_A / 2.5 + 64.0
    return percent / 100.0


class DutyMeaning(Enum):
    NO_CHARGING = "no charging allowed"
    HIGH_LEVEL_COMMUNICATION = "digital communication required"
    CURRENT = "maximum current offered"
    ERROR = "not allowed"


@dataclass(frozen=True, slots=True, kw_only=True)
class DutyReading:
    meaning: DutyMeaning
    max_current_A: float | None = None


def current_from_duty(duty: float) -> DutyReading:
    """EV side (Table A.8): what a measured duty cycle (0..1) allows."""
    p = duty * 100.0
    if p < 3.0:
        return DutyReading(meaning=DutyMeaning.NO_CHARGING)
    if p <= 7.0:
        return DutyReading(meaning=DutyMeaning.HIGH_LEVEL_COMMUNICATION)
    if p < 8.0:
        return DutyReading(meaning=DutyMeaning.NO_CHARGING)
    if p < 10.0:
        return DutyReading(meaning=DutyMeaning.CURRENT, max_current_A=6.0)
    if p <= 85.0:
        return DutyReading(meaning=DutyMeaning.CURRENT, max_current_A=p * 0.6)
    if p <= 96.0:
        return DutyReading(meaning=DutyMeaning.CURRENT, max_current_A=(p - 64.0) * 2.5)
    if p <= 97.0:
        return DutyReading(meaning=DutyMeaning.CURRENT, max_current_A=80.0)
    return DutyReading(meaning=DutyMeaning.ERROR)
