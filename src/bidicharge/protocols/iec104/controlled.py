"""The controlled station (outstation, TCP server side) of one IEC 104 connection.

It answers from point databases (one per common address):

* station interrogation C_IC_NA_1 (101 7.4.5): activation confirmation (cause 7), every
  monitor point with cause 20, activation termination (cause 10);
* commands C_SC_NA_1/C_SC_TA_1/C_SE_NC_1/C_SE_TC_1 (101 7.4.4): the application's
  handler decides; accepted -> cause 7, the feedback point with cause 11, cause 10;
  refused -> cause 7 with P/N = 1. A select (S/E = 1) is confirmed, not executed;
* clock synchronisation C_CS_NA_1 (101 7.4.3): confirmed, handed to the application;
* bad requests are mirrored with P/N = 1 and cause 44 unknown type id, 45 unknown
  cause, 46 unknown common address, 47 unknown IOA (101 7.2.3); the link stays up.

After the first STARTDT of a (re)started station it can send end of initialisation
M_EI_NA_1 (101 7.4.1), after which the controlling station interrogates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

from .asdu import Asdu, decode_asdu, mirror
from .codes import (
    COMMAND_TYPES,
    GLOBAL_COMMON_ADDRESS,
    QOI_STATION,
    Cause,
    InitCause,
    Quality,
    TypeId,
)
from .cp56time import Cp56Time2a
from .errors import LocalProtocolError, RemoteProtocolError
from .events import (
    BadRequestAnswered,
    ClockSyncReceived,
    CommandHandled,
    CommandRequest,
    ControlledEvent,
    DataTransferStarted,
    DataTransferStopped,
    InterrogationAnswered,
    LinkClosed,
)
from .link import ApciParameters, Role
from .objects import (
    ClockSync,
    EndOfInitialisation,
    InformationObject,
    Interrogation,
    MeasuredFloat,
    SetpointFloat,
    SingleCommand,
    SinglePoint,
)
from .points import COMMAND_POINT_TYPES, MONITOR_POINT_TYPES, MonitorPoint, PointDatabase
from .station import Station, Tracer

#: Decides a command: True executes (confirmation, return information, termination), False
#: refuses (negative confirmation). It runs inside the station's receive path: to report an
#: actual value, put it in the database with ``PointDatabase.set`` (a feedback point added
#: with ``autoreturn=False``), not through ``update``, so it follows the confirmation.
CommandHandler = Callable[[CommandRequest], bool]
#: Objects per interrogation ASDU: 15 floats (3 + 5 octets each) fit the 249 octets.
GI_OBJECTS_PER_ASDU: Final = 15


def _refuse_all(request: CommandRequest) -> bool:
    return False


def monitor_object(point: MonitorPoint, type_id: TypeId) -> InformationObject:
    """The information object that reports ``point`` as ``type_id``."""
    time = point.time if type_id in (TypeId.M_SP_TB_1, TypeId.M_ME_TF_1) else None
    if type_id in (TypeId.M_SP_NA_1, TypeId.M_SP_TB_1):
        return SinglePoint(ioa=point.ioa, value=bool(point.value), quality=point.quality, time=time)
    return MeasuredFloat(ioa=point.ioa, value=float(point.value), quality=point.quality, time=time)


class ControlledStation(Station[ControlledEvent]):
    role = Role.CONTROLLED

    def __init__(
        self,
        databases: Iterable[PointDatabase],
        *,
        now: float,
        parameters: ApciParameters | None = None,
        on_command: CommandHandler = _refuse_all,
        end_of_initialisation: InitCause | None = None,
        tracer: Tracer | None = None,
        interrogation_with_time: bool = False,
        select_timeout_s: float = 10.0,
    ) -> None:
        """``interrogation_with_time``: answer an interrogation for time-tagged points in their
        own type (M_ME_TF_1, M_SP_TB_1), as lib60870-based stations do and expect. The
        default follows the cause-of-transmission table of 101 7.2.3: cause 20 travels in the
        types without time tag."""
        super().__init__(now=now, parameters=parameters, tracer=tracer)
        self.databases = {db.common_address: db for db in databases}
        self.on_command = on_command
        self._end_of_initialisation = end_of_initialisation
        self.interrogation_with_time = interrogation_with_time
        # Select-before-operate: a confirmed select is good for select_timeout_s (a station
        # parameter; 101 leaves its value to the system) on this connection only.
        self.select_timeout_s = select_timeout_s
        self._selections: dict[tuple[int, int], float] = {}  # (CA, IOA) -> selected at

    # --- intents ---------------------------------------------------------------------

    def update(
        self,
        common_address: int,
        ioa: int,
        value: float | bool,
        *,
        now: float,
        quality: Quality = Quality.GOOD,
        time: Cp56Time2a | None = None,
        cause: Cause = Cause.SPONTANEOUS,
    ) -> None:
        """Store a new value and report it (spontaneous by default)."""
        point = self._database(common_address).set(ioa, value, quality=quality, time=time)
        self.report(common_address, [point], now=now, cause=cause)

    def report(
        self,
        common_address: int,
        points: Iterable[MonitorPoint],
        *,
        now: float,
        cause: Cause = Cause.PERIODIC,
    ) -> None:
        """Send points as they are in the database, in their own type (periodic by default)."""
        for point in points:
            # A time-tagged point that never got a time travels without one.
            type_id = MONITOR_POINT_TYPES[point.type_id] if point.time is None else point.type_id
            asdu = Asdu(
                type_id=type_id,
                cause=cause,
                common_address=common_address,
                objects=(monitor_object(point, type_id),),
            )
            self._send(asdu, now)

    def report_all(self, common_address: int, *, now: float, cause: Cause = Cause.PERIODIC) -> None:
        """Every monitor point of a station, in its own type: the cyclic transmission (101 7.2.3 cause 1)."""
        self.report(common_address, self._database(common_address).monitor_points(), now=now, cause=cause)

    # --- incoming ASDUs --------------------------------------------------------------

    def _on_link_event(
        self, event: DataTransferStarted | DataTransferStopped | LinkClosed, now: float
    ) -> None:
        if isinstance(event, DataTransferStarted) and self._end_of_initialisation is not None:
            for ca in self.databases:
                eoi = EndOfInitialisation(cause=self._end_of_initialisation)
                self._send(
                    Asdu(
                        type_id=TypeId.M_EI_NA_1, cause=Cause.INITIALISED, common_address=ca, objects=(eoi,)
                    ),
                    now,
                )
            self._end_of_initialisation = None

    def _on_asdu(self, raw: bytes, now: float) -> None:
        try:
            asdu = decode_asdu(raw)
            self._dispatch(asdu, raw, now)
        except RemoteProtocolError as exc:
            cause = Cause(exc.wire_answer[2] & 0x3F) if exc.wire_answer else None
            if exc.wire_answer is not None:
                self._send_raw(exc.wire_answer, now)
            self._events.append(BadRequestAnswered(reason=str(exc), cause=cause))
            if exc.close_connection:
                self.link.close(str(exc))
                self._drain_link(now)

    def _reject(self, raw: bytes, cause: Cause, reason: str) -> RemoteProtocolError:
        return RemoteProtocolError(reason, wire_answer=mirror(raw, cause))

    def _dispatch(self, asdu: Asdu, raw: bytes, now: float) -> None:
        if asdu.type_id not in COMMAND_TYPES and asdu.type_id not in (TypeId.C_IC_NA_1, TypeId.C_CS_NA_1):
            raise self._reject(
                raw, Cause.UNKNOWN_TYPE_ID, f"{asdu.type_id.name} is not a control-direction type"
            )
        if asdu.cause not in (Cause.ACTIVATION, Cause.DEACTIVATION) or asdu.negative:
            raise self._reject(
                raw, Cause.UNKNOWN_CAUSE, f"cause {asdu.cause.name} not valid for {asdu.type_id.name}"
            )
        broadcast = asdu.common_address == GLOBAL_COMMON_ADDRESS and asdu.type_id in (
            TypeId.C_IC_NA_1,
            TypeId.C_CS_NA_1,
        )
        if asdu.common_address not in self.databases and not broadcast:
            raise self._reject(
                raw, Cause.UNKNOWN_COMMON_ADDRESS, f"unknown common address {asdu.common_address}"
            )
        targets = list(self.databases) if broadcast else [asdu.common_address]
        if asdu.type_id is TypeId.C_IC_NA_1:
            for ca in targets:
                self._interrogate(asdu, ca, now)
        elif asdu.type_id is TypeId.C_CS_NA_1:
            self._clock_sync(asdu, raw, targets, now)
        else:
            self._command(asdu, raw, now)

    def _confirm(
        self, asdu: Asdu, ca: int, now: float, *, positive: bool, cause: Cause | None = None
    ) -> None:
        if cause is None:
            cause = Cause.ACTIVATION_CON if asdu.cause is Cause.ACTIVATION else Cause.DEACTIVATION_CON
        self._send(
            Asdu(
                type_id=asdu.type_id,
                cause=cause,
                negative=not positive,
                test=asdu.test,  # answers keep the T bit of the request (101 7.2.3)
                originator=asdu.originator,
                common_address=ca,
                objects=asdu.objects,
            ),
            now,
        )

    def _interrogate(self, asdu: Asdu, ca: int, now: float) -> None:
        request = asdu.objects[0]
        assert isinstance(request, Interrogation)
        qoi = request.qualifier
        # QOI 20 station, 21..36 group 1..16 (101 7.2.6.22); answers carry cause = QOI.
        if asdu.cause is Cause.DEACTIVATION or not QOI_STATION <= qoi <= QOI_STATION + 16:
            self._confirm(asdu, ca, now, positive=False)
            return
        self._confirm(asdu, ca, now, positive=True)
        count = self._send_interrogated(ca, qoi, asdu.originator, now)
        self._confirm(asdu, ca, now, positive=True, cause=Cause.ACTIVATION_TERMINATION)
        self._events.append(InterrogationAnswered(common_address=ca, qualifier=qoi, objects=count))

    def _send_interrogated(self, ca: int, qoi: int, originator: int, now: float) -> int:
        group = qoi - QOI_STATION
        by_type: dict[TypeId, list[InformationObject]] = {}
        for point in self.databases[ca].monitor_points():
            if group and point.group != group:
                continue
            with_time = self.interrogation_with_time and point.time is not None
            gi_type = point.type_id if with_time else MONITOR_POINT_TYPES[point.type_id]
            by_type.setdefault(gi_type, []).append(monitor_object(point, gi_type))
        count = 0
        for type_id, objects in by_type.items():
            for start in range(0, len(objects), GI_OBJECTS_PER_ASDU):
                chunk = tuple(objects[start : start + GI_OBJECTS_PER_ASDU])
                self._send(
                    Asdu(
                        type_id=type_id,
                        cause=Cause(qoi),  # 20 station, 21..36 group 1..16: the same numbers
                        originator=originator,
                        common_address=ca,
                        objects=chunk,
                    ),
                    now,
                )
                count += len(chunk)
        return count

    def _clock_sync(self, asdu: Asdu, raw: bytes, targets: list[int], now: float) -> None:
        request = asdu.objects[0]
        assert isinstance(request, ClockSync)
        if asdu.cause is not Cause.ACTIVATION:
            raise self._reject(raw, Cause.UNKNOWN_CAUSE, "clock synchronisation cannot be deactivated")
        for ca in targets:
            self._confirm(asdu, ca, now, positive=True)
            self._events.append(ClockSyncReceived(common_address=ca, time=request.time))

    def _command(self, asdu: Asdu, raw: bytes, now: float) -> None:
        ca = asdu.common_address
        if len(asdu.objects) != 1 or asdu.sequence:
            raise self._reject(raw, Cause.UNKNOWN_IOA, "a command carries exactly one information object")
        obj = asdu.objects[0]
        assert isinstance(obj, SingleCommand | SetpointFloat)
        point = self.databases[ca].command(obj.ioa)
        if point is None:
            raise self._reject(raw, Cause.UNKNOWN_IOA, f"no command point {obj.ioa} at common address {ca}")
        if asdu.type_id not in COMMAND_POINT_TYPES[point.type_id]:
            raise self._reject(raw, Cause.UNKNOWN_TYPE_ID, f"point {obj.ioa} takes {point.type_id.name}")
        if asdu.cause is Cause.DEACTIVATION:  # break off a selection (101 7.4.4)
            self._selections.pop((ca, obj.ioa), None)
            self._confirm(asdu, ca, now, positive=True)
            return
        if point.select_before_operate and not obj.select and not self._take_selection(ca, obj.ioa, now):
            self._events.append(
                BadRequestAnswered(reason=f"execute on {obj.ioa} without a valid select", cause=None)
            )
            self._confirm(asdu, ca, now, positive=False)
            return
        value: float | bool = obj.on if isinstance(obj, SingleCommand) else obj.value
        request = CommandRequest(
            common_address=ca,
            ioa=obj.ioa,
            type_id=asdu.type_id,
            value=value,
            select=obj.select,
            qualifier=obj.qualifier,
            time=obj.time,
            originator=asdu.originator,
            test=asdu.test,
        )
        accepted = bool(self.on_command(request))
        self._events.append(CommandHandled(request=request, accepted=accepted))
        self._confirm(asdu, ca, now, positive=accepted)
        if accepted and obj.select:
            self._selections[ca, obj.ioa] = now
        if not accepted or obj.select:
            return
        if point.feedback_ioa is not None:
            db = self.databases[ca]
            feedback = db.monitor(point.feedback_ioa)
            assert feedback is not None
            if point.autoreturn:
                feedback = db.set(feedback.ioa, value)
            self.report(ca, [feedback], now=now, cause=Cause.RETURN_INFO_REMOTE)
        self._confirm(asdu, ca, now, positive=True, cause=Cause.ACTIVATION_TERMINATION)

    def _take_selection(self, ca: int, ioa: int, now: float) -> bool:
        selected_at = self._selections.pop((ca, ioa), None)
        return selected_at is not None and now - selected_at <= self.select_timeout_s

    def _database(self, common_address: int) -> PointDatabase:
        try:
            return self.databases[common_address]
        except KeyError:
            raise LocalProtocolError(f"no station with common address {common_address}") from None
