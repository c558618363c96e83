"""The controlling station (master, TCP client side) of one IEC 104 connection.

It starts data transfer (STARTDT act, 104 5.3), interrogates the whole station once
data transfer is confirmed and again whenever the controlled station reports end of
initialisation (101 7.4.1, 7.4.5: the image of the process must be rebuilt after a
restart), sends commands and set-points, and turns what comes back into events:
monitor values, activation confirmations (positive or negative), terminations, and
the negative mirrors 44..47 of requests the other side could not use.

Nothing is retried here: a command whose confirmation never comes is the
application's call (IEC 104 has no command timeout of its own; t1 guards the link).
"""

from __future__ import annotations

from enum import Enum
from typing import Final

from .asdu import Asdu, decode_asdu
from .codes import GLOBAL_COMMON_ADDRESS, MONITOR_TYPES, QOI_STATION, Cause, Quality, TypeId
from .cp56time import Cp56Time2a
from .errors import RemoteProtocolError
from .events import (
    ActivationConfirmed,
    ActivationTerminated,
    ControllingEvent,
    DataTransferStarted,
    DataTransferStopped,
    LinkClosed,
    PointReported,
    RequestRejected,
    StationInitialised,
    UnexpectedAsdu,
)
from .link import ApciParameters, Role
from .objects import (
    ClockSync,
    CounterInterrogation,
    DoubleCommand,
    DoublePoint,
    DoublePointState,
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
from .station import Station, Tracer

_REJECTIONS = frozenset(
    {Cause.UNKNOWN_TYPE_ID, Cause.UNKNOWN_CAUSE, Cause.UNKNOWN_COMMON_ADDRESS, Cause.UNKNOWN_IOA}
)


class SetpointKind(Enum):
    """Which set-point ASDU carries the value (101 7.3.2.4-7.3.2.6)."""

    NORMALIZED = "normalized"  # C_SE_NA_1 / C_SE_TA_1, -1 .. 1
    SCALED = "scaled"  # C_SE_NB_1 / C_SE_TB_1, 16-bit integer
    FLOAT = "float"  # C_SE_NC_1 / C_SE_TC_1, IEEE 754 short


_SETPOINT_TYPES: Final = {
    (SetpointKind.NORMALIZED, False): TypeId.C_SE_NA_1,
    (SetpointKind.NORMALIZED, True): TypeId.C_SE_TA_1,
    (SetpointKind.SCALED, False): TypeId.C_SE_NB_1,
    (SetpointKind.SCALED, True): TypeId.C_SE_TB_1,
    (SetpointKind.FLOAT, False): TypeId.C_SE_NC_1,
    (SetpointKind.FLOAT, True): TypeId.C_SE_TC_1,
}


def setpoint_type(kind: SetpointKind, *, timed: bool) -> TypeId:
    return _SETPOINT_TYPES[kind, timed]


class ControllingStation(Station[ControllingEvent]):
    role = Role.CONTROLLING

    def __init__(
        self,
        *,
        now: float,
        parameters: ApciParameters | None = None,
        interrogate_on_start: int | None = GLOBAL_COMMON_ADDRESS,
        originator: int = 0,
        tracer: Tracer | None = None,
    ) -> None:
        """``interrogate_on_start``: common address to interrogate after STARTDT, None for none."""
        super().__init__(now=now, parameters=parameters, tracer=tracer)
        self.interrogate_on_start = interrogate_on_start
        self.originator = originator
        self._interrogations: set[int] = set()  # common addresses with a station interrogation under way

    # --- intents ---------------------------------------------------------------------

    def start(self, *, now: float) -> None:
        """Send STARTDT act; call once the TCP connection is up."""
        self.link.start_data_transfer(now=now)

    def stop(self, *, now: float) -> None:
        self.link.stop_data_transfer(now=now)

    def interrogate(self, common_address: int, *, now: float, qualifier: int = QOI_STATION) -> None:
        if qualifier == QOI_STATION:
            self._interrogations.add(common_address)
        self._command(TypeId.C_IC_NA_1, common_address, Interrogation(qualifier=qualifier), now)

    def clock_sync(self, common_address: int, time: Cp56Time2a, *, now: float) -> None:
        self._command(TypeId.C_CS_NA_1, common_address, ClockSync(time=time), now)

    def send_setpoint(
        self,
        common_address: int,
        ioa: int,
        value: float,
        *,
        now: float,
        time: Cp56Time2a | None = None,
        select: bool = False,
        qualifier: int = 0,
        kind: SetpointKind = SetpointKind.FLOAT,
    ) -> None:
        """C_SE_NC_1 (``kind`` NORMALIZED: C_SE_NA_1, SCALED: C_SE_NB_1), time-tagged twin with ``time``."""
        obj: InformationObject
        if kind is SetpointKind.NORMALIZED:
            obj = SetpointNormalized(ioa=ioa, value=value, select=select, qualifier=qualifier, time=time)
        elif kind is SetpointKind.SCALED:
            obj = SetpointScaled(ioa=ioa, value=int(value), select=select, qualifier=qualifier, time=time)
        else:
            obj = SetpointFloat(ioa=ioa, value=value, select=select, qualifier=qualifier, time=time)
        self._command(setpoint_type(kind, timed=time is not None), common_address, obj, now)

    def send_single_command(
        self,
        common_address: int,
        ioa: int,
        on: bool,
        *,
        now: float,
        time: Cp56Time2a | None = None,
        select: bool = False,
        qualifier: int = 0,
    ) -> None:
        """C_SC_NA_1, or C_SC_TA_1 when ``time`` is given."""
        obj = SingleCommand(ioa=ioa, on=on, select=select, qualifier=qualifier, time=time)
        self._command(TypeId.C_SC_NA_1 if time is None else TypeId.C_SC_TA_1, common_address, obj, now)

    def send_double_command(
        self,
        common_address: int,
        ioa: int,
        on: bool,
        *,
        now: float,
        time: Cp56Time2a | None = None,
        select: bool = False,
        qualifier: int = 0,
    ) -> None:
        """C_DC_NA_1 (DCS 2 on, 1 off), or C_DC_TA_1 when ``time`` is given."""
        state = DoublePointState.ON if on else DoublePointState.OFF
        obj = DoubleCommand(ioa=ioa, state=state, select=select, qualifier=qualifier, time=time)
        self._command(TypeId.C_DC_NA_1 if time is None else TypeId.C_DC_TA_1, common_address, obj, now)

    def counter_interrogate(
        self, common_address: int, *, now: float, request: int = 5, freeze: int = 0
    ) -> None:
        """C_CI_NA_1: RQT 5 general or 1..4 group, FRZ 0 read (101 7.4.6)."""
        self._command(
            TypeId.C_CI_NA_1, common_address, CounterInterrogation(request=request, freeze=freeze), now
        )

    def read(self, common_address: int, ioa: int, *, now: float) -> None:
        """C_RD_NA_1: the point comes back as PointReported with cause 5 (request)."""
        self._command(TypeId.C_RD_NA_1, common_address, ReadCommand(ioa=ioa), now, cause=Cause.REQUEST)

    def _command(
        self, type_id: TypeId, ca: int, obj: InformationObject, now: float, *, cause: Cause = Cause.ACTIVATION
    ) -> None:
        asdu = Asdu(
            type_id=type_id,
            cause=cause,
            originator=self.originator,
            common_address=ca,
            objects=(obj,),
        )
        self._send(asdu, now)

    # --- incoming --------------------------------------------------------------------

    def _on_link_event(
        self, event: DataTransferStarted | DataTransferStopped | LinkClosed, now: float
    ) -> None:
        if isinstance(event, DataTransferStarted) and self.interrogate_on_start is not None:
            self.interrogate(self.interrogate_on_start, now=now)

    def _on_asdu(self, raw: bytes, now: float) -> None:
        try:
            asdu = decode_asdu(raw)
        except RemoteProtocolError as exc:
            # Monitor direction: nothing is mirrored back (101 7.2.3 mirrors requests only).
            self._events.append(UnexpectedAsdu(reason=str(exc)))
            if exc.close_connection:
                self.link.close(str(exc))
                self._drain_link(now)
            return
        ca = asdu.common_address
        if asdu.type_id is TypeId.M_EI_NA_1:
            eoi = asdu.objects[0]
            assert isinstance(eoi, EndOfInitialisation)
            self._events.append(StationInitialised(common_address=ca, cause=eoi.cause))
            # An interrogation already under way (the one after STARTDT) covers the restart.
            if not self._interrogations & {ca, GLOBAL_COMMON_ADDRESS}:
                self.interrogate(ca, now=now)
        elif asdu.type_id in MONITOR_TYPES:
            for obj in asdu.objects:
                self._events.append(_report(obj, asdu))
        elif asdu.cause in _REJECTIONS:
            ioa = asdu.objects[0].ioa
            if asdu.type_id is TypeId.C_IC_NA_1:
                self._interrogations -= {ca, GLOBAL_COMMON_ADDRESS}
            self._events.append(
                RequestRejected(common_address=ca, ioa=ioa, type_id=asdu.type_id, cause=asdu.cause)
            )
        elif asdu.cause in (Cause.ACTIVATION_CON, Cause.DEACTIVATION_CON):
            if asdu.type_id is TypeId.C_IC_NA_1 and asdu.negative:
                self._interrogations -= {ca, GLOBAL_COMMON_ADDRESS}
            self._events.append(
                ActivationConfirmed(
                    common_address=ca,
                    ioa=asdu.objects[0].ioa,
                    type_id=asdu.type_id,
                    positive=not asdu.negative,
                    deactivation=asdu.cause is Cause.DEACTIVATION_CON,
                )
            )
        elif asdu.cause is Cause.ACTIVATION_TERMINATION:
            if asdu.type_id is TypeId.C_IC_NA_1:
                self._interrogations -= {ca, GLOBAL_COMMON_ADDRESS}
            self._events.append(
                ActivationTerminated(common_address=ca, ioa=asdu.objects[0].ioa, type_id=asdu.type_id)
            )
        else:
            self._events.append(UnexpectedAsdu(reason=f"{asdu.type_id.name} with cause {asdu.cause.name}"))


def _report(obj: InformationObject, asdu: Asdu) -> PointReported:
    value: float | bool | int
    quality = Quality.GOOD
    if isinstance(obj, SinglePoint | MeasuredFloat | MeasuredNormalized | MeasuredScaled):
        value, quality = obj.value, obj.quality
    elif isinstance(obj, DoublePoint):
        value, quality = obj.state, obj.quality
    else:
        assert isinstance(obj, IntegratedTotal)
        value, quality = obj.counter, (Quality.INVALID if obj.invalid else Quality.GOOD)
    return PointReported(
        common_address=asdu.common_address,
        ioa=obj.ioa,
        type_id=asdu.type_id,
        value=value,
        quality=quality,
        time=getattr(obj, "time", None),
        cause=asdu.cause,
    )
