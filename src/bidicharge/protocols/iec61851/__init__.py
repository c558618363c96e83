"""IEC 61851-1 control pilot (Annex A): states A–F, PWM duty ↔ current, 5 % for ISO 15118,
and the order of CP state changes around PowerDelivery. Pure and synchronous."""

from bidicharge.architecture.registry import ProtocolSpec

from .pilot import (
    HLC_DUTY,
    NOMINAL_V,
    CpState,
    DutyMeaning,
    DutyReading,
    classify_voltage,
    current_from_duty,
    duty_from_current,
)
from .sequence import TRANSITIONS, Phase, PhaseChanged, PilotFault, PilotMonitor

PROTOCOL = ProtocolSpec(
    name="IEC 61851-1 control pilot",
    package=__name__,
    interfaces=("I-01",),
    standard="IEC 61851-1:2017 Annex A; ISO 15118-20 [V2G20-847], [V2G20-1617]",
)

__all__ = [
    "HLC_DUTY",
    "NOMINAL_V",
    "PROTOCOL",
    "TRANSITIONS",
    "CpState",
    "DutyMeaning",
    "DutyReading",
    "Phase",
    "PhaseChanged",
    "PilotFault",
    "PilotMonitor",
    "classify_voltage",
    "current_from_duty",
    "duty_from_current",
]
