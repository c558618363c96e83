"""One-line descriptions of ASDUs for traces: ``("C_SE_NC_1 act", "CA=47 2001=3000.0")``.

Stations hand every ASDU they send or receive to an optional tracer as raw octets; this
turns them into the message type and the short decoded summary a trace record carries.
"""

from __future__ import annotations

from typing import Final

from .asdu import decode_asdu
from .codes import Cause
from .errors import RemoteProtocolError
from .objects import (
    ClockSync,
    CounterInterrogation,
    DoubleCommand,
    DoublePoint,
    EndOfInitialisation,
    InformationObject,
    IntegratedTotal,
    Interrogation,
    MeasuredFloat,
    MeasuredNormalized,
    MeasuredScaled,
    ReadCommand,
    SetpointFloat,
    SetpointNormalized,
    SetpointScaled,
    SingleCommand,
    SinglePoint,
)

SHOWN_OBJECTS: Final = 4

_CAUSE_ABBREVIATIONS: Final = {
    Cause.PERIODIC: "per",
    Cause.BACKGROUND_SCAN: "back",
    Cause.SPONTANEOUS: "spont",
    Cause.INITIALISED: "init",
    Cause.REQUEST: "req",
    Cause.ACTIVATION: "act",
    Cause.ACTIVATION_CON: "actcon",
    Cause.DEACTIVATION: "deact",
    Cause.DEACTIVATION_CON: "deactcon",
    Cause.ACTIVATION_TERMINATION: "actterm",
    Cause.RETURN_INFO_REMOTE: "retrem",
    Cause.RETURN_INFO_LOCAL: "retloc",
    Cause.INTERROGATED_BY_STATION: "inrogen",
    Cause.REQUESTED_BY_GENERAL_COUNTER: "reqcogen",
    Cause.UNKNOWN_TYPE_ID: "unknown type",
    Cause.UNKNOWN_CAUSE: "unknown cause",
    Cause.UNKNOWN_COMMON_ADDRESS: "unknown CA",
    Cause.UNKNOWN_IOA: "unknown IOA",
}


def _object(obj: InformationObject) -> str:
    if isinstance(obj, MeasuredFloat | SinglePoint):
        text = f"{obj.ioa}={obj.value:g}" if isinstance(obj.value, float) else f"{obj.ioa}={int(obj.value)}"
        return text + (f"[{obj.quality.name}]" if obj.quality else "")
    if isinstance(obj, MeasuredNormalized | MeasuredScaled):
        return f"{obj.ioa}={obj.value:g}" + (f"[{obj.quality.name}]" if obj.quality else "")
    if isinstance(obj, SetpointNormalized | SetpointScaled):
        return f"{obj.ioa}={obj.value:g}" + (" select" if obj.select else "")
    if isinstance(obj, SetpointFloat):
        return f"{obj.ioa}={obj.value:g}" + (" select" if obj.select else "")
    if isinstance(obj, SingleCommand):
        return f"{obj.ioa}={'on' if obj.on else 'off'}" + (" select" if obj.select else "")
    if isinstance(obj, DoublePoint):
        return f"{obj.ioa}={obj.state.name}" + (f"[{obj.quality.name}]" if obj.quality else "")
    if isinstance(obj, DoubleCommand):
        return f"{obj.ioa}={obj.state.name}" + (" select" if obj.select else "")
    if isinstance(obj, IntegratedTotal):
        return f"{obj.ioa}={obj.counter}" + ("[INVALID]" if obj.invalid else "")
    if isinstance(obj, CounterInterrogation):
        return f"RQT={obj.request} FRZ={obj.freeze}"
    if isinstance(obj, ReadCommand):
        return f"{obj.ioa}"
    if isinstance(obj, Interrogation):
        return f"QOI={obj.qualifier}"
    if isinstance(obj, ClockSync):
        return f"time={obj.time.year + 2000:04d}-{obj.time.month:02d}-{obj.time.day:02d}T{obj.time.hour:02d}:{obj.time.minute:02d}"
    assert isinstance(obj, EndOfInitialisation)
    return f"COI={obj.cause.name}"


def describe_asdu(raw: bytes) -> tuple[str, str]:
    """(message type, summary) of an ASDU; undecodable octets are shown as hex."""
    try:
        asdu = decode_asdu(raw)
    except RemoteProtocolError:
        type_code = raw[0] if raw else -1
        return f"type {type_code}", raw[:24].hex(" ")
    cause = _CAUSE_ABBREVIATIONS.get(asdu.cause, asdu.cause.name.lower())
    message = f"{asdu.type_id.name} {cause}" + (" negative" if asdu.negative else "")
    shown = " ".join(_object(obj) for obj in asdu.objects[:SHOWN_OBJECTS])
    more = len(asdu.objects) - SHOWN_OBJECTS
    return message, f"CA={asdu.common_address} {shown}" + (f" (+{more} more)" if more > 0 else "")
