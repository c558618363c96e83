"""Events the two station roles hand to their application (link events pass through)."""

from __future__ import annotations

from dataclasses import dataclass

from .codes import Cause, InitCause, Quality, TypeId
from .cp56time import Cp56Time2a
from .link import AsduReceived, DataTransferStarted, DataTransferStopped, LinkClosed

# --- controlled side ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandRequest:
    """A command (C_SC_*, C_SE_*) as handed to the controlled station's handler."""

    common_address: int
    ioa: int
    type_id: TypeId
    value: float | bool  # set-point value, or the single/double command's state (True = on)
    select: bool  # S/E: True = select only, False = execute
    qualifier: int  # QU of a single command, QL of a set-point
    time: Cp56Time2a | None
    originator: int
    test: bool = False  # T bit: sent under test conditions, the process must not change (101 7.2.3)


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandHandled:
    request: CommandRequest
    accepted: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ClockSyncReceived:
    """The controlling station sent its time; the application sets its clock."""

    common_address: int
    time: Cp56Time2a


@dataclass(frozen=True, slots=True, kw_only=True)
class InterrogationAnswered:
    common_address: int
    qualifier: int
    objects: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BadRequestAnswered:
    """The peer sent something we answered negatively (a mirror with P/N = 1) or dropped."""

    reason: str
    cause: Cause | None  # the cause of the negative mirror, None if nothing was answered


# --- controlling side -----------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PointReported:
    """A monitor value arrived (spontaneous, periodic, interrogated, return information)."""

    common_address: int
    ioa: int
    type_id: TypeId
    value: float | bool | int  # int: DoublePointState of a double point, reading of a counter
    quality: Quality
    time: Cp56Time2a | None
    cause: Cause


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivationConfirmed:
    """Cause 7 (or 9 for a deactivation): positive, or negative with P/N = 1."""

    common_address: int
    ioa: int
    type_id: TypeId
    positive: bool
    deactivation: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivationTerminated:
    """Cause 10: the command, interrogation or set-point has finished."""

    common_address: int
    ioa: int
    type_id: TypeId


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestRejected:
    """The controlled station mirrored our ASDU with cause 44..47."""

    common_address: int
    ioa: int
    type_id: TypeId
    cause: Cause


@dataclass(frozen=True, slots=True, kw_only=True)
class StationInitialised:
    """M_EI_NA_1: the controlled station (re)started; an interrogation follows."""

    common_address: int
    cause: InitCause


@dataclass(frozen=True, slots=True, kw_only=True)
class UnexpectedAsdu:
    """A monitor-direction ASDU we cannot use (unknown type, unsolicited answer)."""

    reason: str


LinkEvents = DataTransferStarted | DataTransferStopped | LinkClosed
ControlledEvent = LinkEvents | CommandHandled | ClockSyncReceived | InterrogationAnswered | BadRequestAnswered
ControllingEvent = (
    LinkEvents
    | PointReported
    | ActivationConfirmed
    | ActivationTerminated
    | RequestRejected
    | StationInitialised
    | UnexpectedAsdu
)

__all__ = [
    "ActivationConfirmed",
    "ActivationTerminated",
    "AsduReceived",
    "BadRequestAnswered",
    "ClockSyncReceived",
    "CommandHandled",
    "CommandRequest",
    "ControlledEvent",
    "ControllingEvent",
    "DataTransferStarted",
    "DataTransferStopped",
    "InterrogationAnswered",
    "LinkClosed",
    "PointReported",
    "RequestRejected",
    "StationInitialised",
    "UnexpectedAsdu",
]
