"""IEC 60870-5-104 telecontrol as a sans-I/O core: APCI link, ASDUs, both station roles.

* :mod:`.apci` frames (I/S/U), :mod:`.link` the APCI state machine (STARTDT/STOPDT/
  TESTFR, sequence numbers, k/w windows, t1-t3), :mod:`.asdu` the ASDU codec;
* :class:`ControllingStation` (TSO / DSO control centre side) and
  :class:`ControlledStation` (aggregator, power plant side) over one connection each;
* the asyncio TCP adapter is :mod:`bidicharge.transports.iec104_tcp`.
"""

from bidicharge.architecture.registry import ProtocolSpec

from .apci import ApduReader, IFrame, SFrame, UFrame, UFunction, decode_apdu, encode_apdu
from .asdu import Asdu, decode_asdu, encode_asdu, mirror
from .codes import GLOBAL_COMMON_ADDRESS, QOI_STATION, Cause, InitCause, Quality, TypeId
from .controlled import CommandHandler, ControlledStation
from .controlling import ControllingStation, SetpointKind
from .cp56time import Cp56Time2a
from .describe import describe_asdu
from .dialer import Dialer, DialState
from .errors import Iec104Error, LocalProtocolError, RemoteProtocolError
from .events import (
    ActivationConfirmed,
    ActivationTerminated,
    BadRequestAnswered,
    ClockSyncReceived,
    CommandHandled,
    CommandRequest,
    ControlledEvent,
    ControllingEvent,
    InterrogationAnswered,
    PointReported,
    RequestRejected,
    StationInitialised,
    UnexpectedAsdu,
)
from .link import (
    TRANSITIONS,
    ApciLink,
    ApciParameters,
    AsduReceived,
    DataTransferStarted,
    DataTransferStopped,
    LinkClosed,
    LinkState,
    Role,
)
from .memory import MemoryPair
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
from .points import CommandPoint, MonitorPoint, PointDatabase
from .station import Tracer

PROTOCOL = ProtocolSpec(
    name="IEC 60870-5-104",
    package=__name__,
    interfaces=("I-21", "I-24", "I-42", "I-51", "I-52", "I-53", "I-54"),
    standard="IEC 60870-5-104:2006 (transport profile) with IEC 60870-5-101:2003 ASDUs",
)

__all__ = [
    "GLOBAL_COMMON_ADDRESS",
    "PROTOCOL",
    "QOI_STATION",
    "TRANSITIONS",
    "Tracer",
    "ActivationConfirmed",
    "ActivationTerminated",
    "ApciLink",
    "ApciParameters",
    "ApduReader",
    "Asdu",
    "AsduReceived",
    "BadRequestAnswered",
    "Cause",
    "ClockSync",
    "ClockSyncReceived",
    "CommandHandled",
    "CommandHandler",
    "CommandPoint",
    "CommandRequest",
    "CounterInterrogation",
    "ControlledEvent",
    "ControlledStation",
    "ControllingEvent",
    "ControllingStation",
    "Cp56Time2a",
    "DataTransferStarted",
    "DataTransferStopped",
    "DialState",
    "DoubleCommand",
    "DoublePoint",
    "DoublePointState",
    "Dialer",
    "EndOfInitialisation",
    "IFrame",
    "Iec104Error",
    "InformationObject",
    "InitCause",
    "IntegratedTotal",
    "Interrogation",
    "InterrogationAnswered",
    "LinkClosed",
    "LinkState",
    "LocalProtocolError",
    "MeasuredFloat",
    "MeasuredNormalized",
    "MeasuredScaled",
    "MemoryPair",
    "MonitorPoint",
    "PointDatabase",
    "PointReported",
    "Quality",
    "ReadCommand",
    "RemoteProtocolError",
    "RequestRejected",
    "Role",
    "SFrame",
    "SetpointFloat",
    "SetpointKind",
    "SetpointNormalized",
    "SetpointScaled",
    "SingleCommand",
    "SinglePoint",
    "StationInitialised",
    "TypeId",
    "UFrame",
    "UFunction",
    "UnexpectedAsdu",
    "decode_apdu",
    "describe_asdu",
    "decode_asdu",
    "encode_apdu",
    "encode_asdu",
    "mirror",
]
