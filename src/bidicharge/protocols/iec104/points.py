"""The point database of a controlled station (one common address, IEC 60870-5-101 7.2.4).

Monitor points hold the last value of an information object (a measured value, a
single or double point, a counter reading); command points say which commands the station executes, and which
monitor point returns the result with cause 11 (101 7.4.4: "return information caused
by a remote command"). The database is plain data: setting a value reports nothing,
the station (:class:`~.controlled.ControlledStation`) decides what goes on the wire.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Final

from .codes import Quality, TypeId
from .cp56time import Cp56Time2a
from .errors import LocalProtocolError
from .objects import DoublePointState

#: Monitor types a point may have, and the type used for it in an interrogation
#: answer (interrogated data travels without time tag, 101 7.4.5 / 104 clause 8).
MONITOR_POINT_TYPES: Final = {
    TypeId.M_SP_NA_1: TypeId.M_SP_NA_1,
    TypeId.M_SP_TB_1: TypeId.M_SP_NA_1,
    TypeId.M_DP_NA_1: TypeId.M_DP_NA_1,
    TypeId.M_DP_TB_1: TypeId.M_DP_NA_1,
    TypeId.M_ME_NA_1: TypeId.M_ME_NA_1,
    TypeId.M_ME_TD_1: TypeId.M_ME_NA_1,
    TypeId.M_ME_NB_1: TypeId.M_ME_NB_1,
    TypeId.M_ME_TE_1: TypeId.M_ME_NB_1,
    TypeId.M_ME_NC_1: TypeId.M_ME_NC_1,
    TypeId.M_ME_TF_1: TypeId.M_ME_NC_1,
    TypeId.M_IT_NA_1: TypeId.M_IT_NA_1,
    TypeId.M_IT_TB_1: TypeId.M_IT_NA_1,
}
#: Integrated totals answer counter interrogations (101 7.4.6), not station interrogations.
COUNTER_TYPES: Final = frozenset({TypeId.M_IT_NA_1, TypeId.M_IT_TB_1})
SINGLE_POINT_TYPES: Final = frozenset({TypeId.M_SP_NA_1, TypeId.M_SP_TB_1})
DOUBLE_POINT_TYPES: Final = frozenset({TypeId.M_DP_NA_1, TypeId.M_DP_TB_1})
NORMALIZED_TYPES: Final = frozenset({TypeId.M_ME_NA_1, TypeId.M_ME_TD_1})
SCALED_TYPES: Final = frozenset({TypeId.M_ME_NB_1, TypeId.M_ME_TE_1})
#: Command types a command point may have, and the twin type it also accepts.
COMMAND_POINT_TYPES: Final = {
    TypeId.C_SC_NA_1: frozenset({TypeId.C_SC_NA_1, TypeId.C_SC_TA_1}),
    TypeId.C_SC_TA_1: frozenset({TypeId.C_SC_NA_1, TypeId.C_SC_TA_1}),
    TypeId.C_SE_NC_1: frozenset({TypeId.C_SE_NC_1, TypeId.C_SE_TC_1}),
    TypeId.C_SE_TC_1: frozenset({TypeId.C_SE_NC_1, TypeId.C_SE_TC_1}),
    TypeId.C_DC_NA_1: frozenset({TypeId.C_DC_NA_1, TypeId.C_DC_TA_1}),
    TypeId.C_DC_TA_1: frozenset({TypeId.C_DC_NA_1, TypeId.C_DC_TA_1}),
    TypeId.C_SE_NA_1: frozenset({TypeId.C_SE_NA_1, TypeId.C_SE_TA_1}),
    TypeId.C_SE_TA_1: frozenset({TypeId.C_SE_NA_1, TypeId.C_SE_TA_1}),
    TypeId.C_SE_NB_1: frozenset({TypeId.C_SE_NB_1, TypeId.C_SE_TB_1}),
    TypeId.C_SE_TB_1: frozenset({TypeId.C_SE_NB_1, TypeId.C_SE_TB_1}),
}
TIMED_TYPES: Final = frozenset(
    {
        TypeId.M_SP_TB_1,
        TypeId.M_DP_TB_1,
        TypeId.M_ME_TD_1,
        TypeId.M_ME_TE_1,
        TypeId.M_ME_TF_1,
        TypeId.M_IT_TB_1,
    }
)

#: A monitor value: bool (single point), DoublePointState (double point; a bool means
#: on/off), int (integrated total, scaled value), float (normalised or float value).
PointValue = float | bool | int


def coerce_value(type_id: TypeId, value: PointValue) -> PointValue:
    """The value as a point of ``type_id`` holds it."""
    if type_id in SINGLE_POINT_TYPES:
        return bool(value)
    if type_id in DOUBLE_POINT_TYPES:
        if isinstance(value, bool):
            return DoublePointState.ON if value else DoublePointState.OFF
        return DoublePointState(int(value))
    if type_id in COUNTER_TYPES or type_id in SCALED_TYPES:
        return int(value)
    return float(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitorPoint:
    ioa: int
    type_id: TypeId
    value: PointValue
    quality: Quality = Quality.GOOD
    time: Cp56Time2a | None = None  # time tag of the last change, for the timed types
    # interrogation group 1..16 (QOI 21..36) besides the station interrogation; for
    # integrated totals the counter group 1..4 (RQT 1..4) besides the general request
    group: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandPoint:
    ioa: int
    type_id: TypeId
    feedback_ioa: int | None = None  # monitor point reported with cause 11 after execution
    autoreturn: bool = True  # copy the command's value into the feedback point
    select_before_operate: bool = False  # execute only after a confirmed select (101 7.4.4)


class PointDatabase:
    """Points of one common address, by information object address."""

    def __init__(self, common_address: int) -> None:
        if not 1 <= common_address <= 0xFFFE:
            raise ValueError("common address must be 1..65534 (0 unused, 65535 is global)")
        self.common_address = common_address
        self._monitor: dict[int, MonitorPoint] = {}
        self._command: dict[int, CommandPoint] = {}

    def add_monitor(
        self,
        ioa: int,
        type_id: TypeId,
        *,
        value: PointValue = 0,
        quality: Quality = Quality.GOOD,
        group: int | None = None,
    ) -> MonitorPoint:
        if type_id not in MONITOR_POINT_TYPES:
            raise LocalProtocolError(f"{type_id.name} is not a monitor point type")
        if group is not None and not 1 <= group <= 16:
            raise LocalProtocolError(f"interrogation group {group} out of 1..16")
        self._check_free(ioa)
        point = MonitorPoint(
            ioa=ioa, type_id=type_id, value=coerce_value(type_id, value), quality=quality, group=group
        )
        self._monitor[ioa] = point
        return point

    def add_command(
        self,
        ioa: int,
        type_id: TypeId,
        *,
        feedback_ioa: int | None = None,
        autoreturn: bool = True,
        select_before_operate: bool = False,
    ) -> CommandPoint:
        if type_id not in COMMAND_POINT_TYPES:
            raise LocalProtocolError(f"{type_id.name} is not a command point type")
        if feedback_ioa is not None and feedback_ioa not in self._monitor:
            raise LocalProtocolError(f"feedback point {feedback_ioa} must be added as a monitor point first")
        if feedback_ioa is not None and autoreturn and self._monitor[feedback_ioa].type_id in TIMED_TYPES:
            raise LocalProtocolError("autoreturn needs an untimed feedback point (no time tag to copy)")
        self._check_free(ioa)
        point = CommandPoint(
            ioa=ioa,
            type_id=type_id,
            feedback_ioa=feedback_ioa,
            autoreturn=autoreturn,
            select_before_operate=select_before_operate,
        )
        self._command[ioa] = point
        return point

    def set(
        self,
        ioa: int,
        value: PointValue,
        *,
        quality: Quality = Quality.GOOD,
        time: Cp56Time2a | None = None,
    ) -> MonitorPoint:
        """Store a new value without reporting it; timed types need ``time``."""
        try:
            point = self._monitor[ioa]
        except KeyError:
            raise LocalProtocolError(
                f"no monitor point {ioa} at common address {self.common_address}"
            ) from None
        if point.type_id in TIMED_TYPES and time is None:
            raise LocalProtocolError(f"{point.type_id.name} point {ioa} needs a time tag")
        updated = replace(point, value=coerce_value(point.type_id, value), quality=quality, time=time)
        self._monitor[ioa] = updated
        return updated

    def monitor(self, ioa: int) -> MonitorPoint | None:
        return self._monitor.get(ioa)

    def command(self, ioa: int) -> CommandPoint | None:
        return self._command.get(ioa)

    def monitor_points(self) -> Iterator[MonitorPoint]:
        """Monitor points in address order (the order of an interrogation answer)."""
        for ioa in sorted(self._monitor):
            yield self._monitor[ioa]

    def _check_free(self, ioa: int) -> None:
        if not 0 < ioa <= 0xFFFFFF:
            raise LocalProtocolError(f"IOA {ioa} out of 1..16777215")
        if ioa in self._monitor or ioa in self._command:
            raise LocalProtocolError(f"IOA {ioa} already used at common address {self.common_address}")
