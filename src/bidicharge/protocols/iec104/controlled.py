"""The controlled station (outstation, TCP server side) of one IEC 104 connection.

It answers from point databases (one per common address):

* station and group interrogation C_IC_NA_1 (101 7.4.5) and counter interrogation
  C_CI_NA_1 (7.4.6): activation confirmation (cause 7), the points (see
  :mod:`.interrogation`), activation termination (cause 10);
* commands C_SC, C_DC, C_SE (with and without time tag, 101 7.4.4): the application's
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

from .asdu import PN_BIT, TEST_BIT, Asdu, decode_asdu, mirror
from .codes import (
    COMMAND_TYPES,
    GLOBAL_COMMON_ADDRESS,
    QOI_STATION,
    SYSTEM_COMMAND_TYPES,
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
from .interrogation import RQT_GENERAL, counter_answer, interrogation_answer, monitor_object, reported_type
from .link import ApciParameters, Role
from .objects import (
    ClockSync,
    CounterInterrogation,
    DoubleCommand,
    DoublePointState,
    EndOfInitialisation,
    Interrogation,
    SetpointFloat,
    SetpointNormalized,
    SetpointScaled,
    SingleCommand,
)
from .points import COMMAND_POINT_TYPES, MonitorPoint, PointDatabase
from .station import Station, Tracer

#: Decides a command: True executes (confirmation, return information, termination), False
#: refuses (negative confirmation). It runs inside the station's receive path: to report an
#: actual value, put it in the database with ``PointDatabase.set`` (a feedback point added
#: with ``autoreturn=False``), not through ``update``, so it follows the confirmation.
CommandHandler = Callable[[CommandRequest], bool]


def _refuse_all(request: CommandRequest) -> bool:
    return False


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
        self._request = b""  # octets of the ASDU being answered

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
            type_id = reported_type(point, with_time=True)
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
        self._request = raw
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
        if asdu.type_id is TypeId.C_RD_NA_1:
            self._read(asdu, raw, now)
            return
        if asdu.type_id not in COMMAND_TYPES and asdu.type_id not in SYSTEM_COMMAND_TYPES:
            raise self._reject(
                raw, Cause.UNKNOWN_TYPE_ID, f"{asdu.type_id.name} is not a control-direction type"
            )
        if asdu.cause not in (Cause.ACTIVATION, Cause.DEACTIVATION) or asdu.negative:
            raise self._reject(
                raw, Cause.UNKNOWN_CAUSE, f"cause {asdu.cause.name} not valid for {asdu.type_id.name}"
            )
        broadcast = asdu.common_address == GLOBAL_COMMON_ADDRESS and asdu.type_id in SYSTEM_COMMAND_TYPES
        if asdu.common_address not in self.databases and not broadcast:
            raise self._reject(
                raw, Cause.UNKNOWN_COMMON_ADDRESS, f"unknown common address {asdu.common_address}"
            )
        targets = list(self.databases) if broadcast else [asdu.common_address]
        if asdu.type_id is TypeId.C_IC_NA_1:
            for ca in targets:
                self._interrogate(asdu, ca, now)
        elif asdu.type_id is TypeId.C_CI_NA_1:
            for ca in targets:
                self._counter_interrogate(asdu, ca, now)
        elif asdu.type_id is TypeId.C_CS_NA_1:
            self._clock_sync(asdu, raw, targets, now)
        else:
            self._command(asdu, raw, now)

    def _read(self, asdu: Asdu, raw: bytes, now: float) -> None:
        """C_RD_NA_1 (101 7.4.7): cause 5 request; answered with the point, cause 5."""
        if asdu.cause is not Cause.REQUEST or asdu.negative:
            raise self._reject(raw, Cause.UNKNOWN_CAUSE, f"read with cause {asdu.cause.name}")
        database = self.databases.get(asdu.common_address)
        if database is None:
            raise self._reject(
                raw, Cause.UNKNOWN_COMMON_ADDRESS, f"unknown common address {asdu.common_address}"
            )
        point = database.monitor(asdu.objects[0].ioa)
        if point is None or len(asdu.objects) != 1:
            raise self._reject(raw, Cause.UNKNOWN_IOA, f"no monitor point {asdu.objects[0].ioa} to read")
        self.report(asdu.common_address, [point], now=now, cause=Cause.REQUEST)

    def _confirm(
        self, asdu: Asdu, ca: int, now: float, *, positive: bool, cause: Cause | None = None
    ) -> None:
        """Answer the request being handled: its own octets with a new cause, P/N and CA.

        Confirmations and terminations repeat the request's information objects (101
        7.4.4); echoing the received octets also echoes fields we would not encode
        ourselves (an invalid time tag, a forbidden DCS) instead of failing on them.
        """
        if cause is None:
            cause = Cause.ACTIVATION_CON if asdu.cause is Cause.ACTIVATION else Cause.DEACTIVATION_CON
        answer = bytearray(self._request)
        answer[2] = (self._request[2] & TEST_BIT) | (0 if positive else PN_BIT) | int(cause)
        answer[4:6] = ca.to_bytes(2, "little")
        self._send_raw(bytes(answer), now)

    def _interrogate(self, asdu: Asdu, ca: int, now: float) -> None:
        request = asdu.objects[0]
        assert isinstance(request, Interrogation)
        qoi = request.qualifier
        # QOI 20 station, 21..36 group 1..16 (101 7.2.6.22); answers carry cause = QOI.
        if asdu.cause is Cause.DEACTIVATION or not QOI_STATION <= qoi <= QOI_STATION + 16:
            self._confirm(asdu, ca, now, positive=False)
            return
        self._confirm(asdu, ca, now, positive=True)
        answer = interrogation_answer(
            self.databases[ca].monitor_points(),
            qoi=qoi,
            ca=ca,
            originator=asdu.originator,
            with_time=self.interrogation_with_time,
        )
        for data in answer:
            self._send(data, now)
        self._confirm(asdu, ca, now, positive=True, cause=Cause.ACTIVATION_TERMINATION)
        count = sum(len(data.objects) for data in answer)
        self._events.append(InterrogationAnswered(common_address=ca, qualifier=qoi, objects=count))

    def _counter_interrogate(self, asdu: Asdu, ca: int, now: float) -> None:
        request = asdu.objects[0]
        assert isinstance(request, CounterInterrogation)
        if asdu.cause is Cause.DEACTIVATION or not 1 <= request.request <= RQT_GENERAL:
            self._confirm(asdu, ca, now, positive=False)
            return
        self._confirm(asdu, ca, now, positive=True)
        answer: list[Asdu] = []
        if request.freeze == 0:  # read; freeze/reset commands get no data (module docstring)
            answer = counter_answer(
                self.databases[ca].monitor_points(),
                request=request.request,
                ca=ca,
                originator=asdu.originator,
            )
        for data in answer:
            self._send(data, now)
        self._confirm(asdu, ca, now, positive=True, cause=Cause.ACTIVATION_TERMINATION)

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
        assert isinstance(
            obj, SingleCommand | DoubleCommand | SetpointFloat | SetpointNormalized | SetpointScaled
        )
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
        value: float | bool
        if isinstance(obj, SingleCommand):
            value = obj.on
        elif isinstance(obj, DoubleCommand):
            if obj.state not in (DoublePointState.OFF, DoublePointState.ON):
                self._confirm(asdu, ca, now, positive=False)  # DCS 0 and 3 are not permitted (7.2.6.16)
                return
            value = obj.state is DoublePointState.ON
        else:
            value = obj.value
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
