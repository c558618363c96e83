"""SPINE 1.3.0 (Smart Premises Interoperable Neutral-message Exchange, IEC 63380-3 side of EEBUS).

Datagrams, the device/entity/feature model, NodeManagement detailed and use-case discovery,
subscriptions, bindings, full/partial writes with result numbers (:mod:`.node`), and the
energy-management use cases as pure actor classes (:mod:`.usecases`). Carried by SHIP
(:mod:`bidicharge.protocols.ship`) on I-03 (HEMS-EVSE), I-08 (HEMS-plants), I-09 (control
unit-HEMS) and I-47 (meter side-HEMS).
"""

from bidicharge.architecture.registry import ProtocolSpec
from bidicharge.protocols.spine.device import (
    Entity,
    Feature,
    FeatureRole,
    FunctionSpec,
    LocalDevice,
    RemoteDevice,
    RemoteFeature,
    WriteRequest,
)
from bidicharge.protocols.spine.errors import ErrorNumber, LocalProtocolError, RemoteProtocolError
from bidicharge.protocols.spine.memory import MemoryLink
from bidicharge.protocols.spine.model import Address, Cmd, CmdClassifier, Datagram, Header, decode_datagram
from bidicharge.protocols.spine.node import (
    BindingChanged,
    CommandRefused,
    EntitiesChanged,
    LocalDataWritten,
    PeerDiscovered,
    PeerLost,
    RemoteDataUpdated,
    RequestTimedOut,
    ResultReceived,
    SpineEvent,
    SpineNode,
    SubscriptionChanged,
    UseCasesReceived,
)
from bidicharge.protocols.spine.stack import EebusStack, PeerConnected, PeerDisconnected, ShipMessageDropped
from bidicharge.protocols.spine.trace import TraceRecord, describe
from bidicharge.protocols.spine.usecase_info import UseCaseSupport

PROTOCOL = ProtocolSpec(
    name="SPINE 1.3.0",
    package=__name__,
    interfaces=("I-03", "I-08", "I-09", "I-47"),
    standard="EEBUS SPINE Protocol and Resource Specification 1.3.0 (IEC 63380-3)",
)

__all__ = [
    "PROTOCOL", "Address", "BindingChanged", "Cmd", "CmdClassifier", "CommandRefused", "Datagram",
    "EntitiesChanged", "Entity", "ErrorNumber", "Feature", "FeatureRole", "FunctionSpec", "Header",
    "LocalDataWritten", "LocalDevice", "LocalProtocolError", "PeerDiscovered", "PeerLost", "RemoteDataUpdated",
    "RemoteDevice", "RemoteFeature", "RemoteProtocolError", "RequestTimedOut", "ResultReceived",
    "SpineEvent", "SpineNode", "SubscriptionChanged", "UseCaseSupport", "UseCasesReceived",
    "WriteRequest", "decode_datagram", "EebusStack", "MemoryLink", "PeerConnected", "PeerDisconnected",
    "ShipMessageDropped", "TraceRecord", "describe",
]
