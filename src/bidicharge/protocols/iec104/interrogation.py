"""What a controlled station answers to interrogations, as pure functions of its database.

* Station / group interrogation C_IC_NA_1 (101 7.4.5): QOI 20 every monitor point but
  the counters, QOI 21..36 the points of group 1..16; the answers carry cause = QOI and
  travel in the types without time tag unless the station is told otherwise.
* Counter interrogation C_CI_NA_1 (101 7.4.6): RQT 5 every integrated total with cause
  37, RQT 1..4 the counters of group 1..4 with cause 38..41. Only FRZ = 0 (read) returns
  readings; a freeze or reset is confirmed and terminated without data (the counters
  here are readings of meters, frozen by nobody).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from .asdu import Asdu
from .codes import QOI_STATION, Cause, Quality, TypeId
from .objects import (
    DoublePoint,
    DoublePointState,
    InformationObject,
    IntegratedTotal,
    MeasuredFloat,
    MeasuredNormalized,
    MeasuredScaled,
    SinglePoint,
)
from .points import (
    COUNTER_TYPES,
    DOUBLE_POINT_TYPES,
    MONITOR_POINT_TYPES,
    NORMALIZED_TYPES,
    SCALED_TYPES,
    SINGLE_POINT_TYPES,
    MonitorPoint,
)

#: Objects per answer ASDU: 15 of the largest (timed float or counter, 3 + 5 + 7 octets) fit 249.
OBJECTS_PER_ASDU: Final = 15
#: RQT of a general counter interrogation (101 7.2.6.23).
RQT_GENERAL: Final = 5


def monitor_object(point: MonitorPoint, type_id: TypeId) -> InformationObject:
    """The information object that reports ``point`` as ``type_id`` (timed or not)."""
    time = point.time if type_id not in MONITOR_POINT_TYPES.values() else None
    if type_id in SINGLE_POINT_TYPES:
        return SinglePoint(ioa=point.ioa, value=bool(point.value), quality=point.quality, time=time)
    if type_id in DOUBLE_POINT_TYPES:
        state = DoublePointState(int(point.value))
        return DoublePoint(ioa=point.ioa, state=state, quality=point.quality, time=time)
    if type_id in COUNTER_TYPES:
        invalid = bool(point.quality & Quality.INVALID)
        return IntegratedTotal(ioa=point.ioa, counter=int(point.value), invalid=invalid, time=time)
    if type_id in NORMALIZED_TYPES:
        return MeasuredNormalized(ioa=point.ioa, value=float(point.value), quality=point.quality, time=time)
    if type_id in SCALED_TYPES:
        return MeasuredScaled(ioa=point.ioa, value=int(point.value), quality=point.quality, time=time)
    return MeasuredFloat(ioa=point.ioa, value=float(point.value), quality=point.quality, time=time)


def reported_type(point: MonitorPoint, *, with_time: bool) -> TypeId:
    """The point's own type when it has a time to show and times are wanted, else the untimed twin."""
    return point.type_id if with_time and point.time is not None else MONITOR_POINT_TYPES[point.type_id]


def _pack(
    points: Iterable[MonitorPoint], cause: Cause, ca: int, originator: int, with_time: bool
) -> list[Asdu]:
    by_type: dict[TypeId, list[InformationObject]] = {}
    for point in points:
        type_id = reported_type(point, with_time=with_time)
        by_type.setdefault(type_id, []).append(monitor_object(point, type_id))
    return [
        Asdu(
            type_id=type_id,
            cause=cause,
            originator=originator,
            common_address=ca,
            objects=tuple(objects[start : start + OBJECTS_PER_ASDU]),
        )
        for type_id, objects in by_type.items()
        for start in range(0, len(objects), OBJECTS_PER_ASDU)
    ]


def interrogation_answer(
    points: Iterable[MonitorPoint], *, qoi: int, ca: int, originator: int, with_time: bool = False
) -> list[Asdu]:
    """The ASDUs between activation confirmation and termination of a (group) interrogation."""
    group = qoi - QOI_STATION
    chosen = [p for p in points if p.type_id not in COUNTER_TYPES and (not group or p.group == group)]
    return _pack(chosen, Cause(qoi), ca, originator, with_time)  # cause 20..36 = QOI 20..36


def counter_answer(
    points: Iterable[MonitorPoint], *, request: int, ca: int, originator: int, with_time: bool = False
) -> list[Asdu]:
    """The counter readings of a counter interrogation (RQT 1..5, read)."""
    chosen = [
        p for p in points if p.type_id in COUNTER_TYPES and (request == RQT_GENERAL or p.group == request)
    ]
    cause = Cause.REQUESTED_BY_GENERAL_COUNTER if request == RQT_GENERAL else Cause(37 + request)
    return _pack(chosen, cause, ca, originator, with_time)
