"""Events a :class:`~bidicharge.protocols.spine.node.SpineNode` reports (results leave through these)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bidicharge.protocols.ship.eebus_json import JsonObject
from bidicharge.protocols.spine.errors import ErrorNumber
from bidicharge.protocols.spine.model import Address, CmdClassifier
from bidicharge.protocols.spine.usecase_info import UseCaseSupport


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerDiscovered:
    peer: str
    device: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerLost:
    """The SHIP connection to ``peer`` is gone; everything learnt from it is forgotten."""

    peer: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EntitiesChanged:
    peer: str
    changes: tuple[tuple[tuple[int, ...], str], ...]  # (entity path, "added"|"removed")


@dataclass(frozen=True, slots=True, kw_only=True)
class UseCasesReceived:
    peer: str
    use_cases: tuple[UseCaseSupport, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoteDataUpdated:
    """Our copy of a peer's function data changed (reply or notify)."""

    peer: str
    source: Address
    function: str
    data: JsonObject = field(hash=False)
    classifier: CmdClassifier
    now: float


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalDataWritten:
    """A peer's write to one of our server features was accepted and stored: `data` is the
    function's data now, `written` what the write carried (a partial write: only its items)."""

    peer: str
    origin: Address
    feature: Address
    function: str
    data: JsonObject = field(hash=False)
    now: float
    written: JsonObject = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResultReceived:
    peer: str
    msg_counter_reference: int
    function: str | None
    error_number: ErrorNumber | int
    description: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionChanged:
    peer: str
    client: Address
    server: Address
    added: bool
    ours: bool  # True: we subscribed at the peer; False: the peer subscribed at us


@dataclass(frozen=True, slots=True, kw_only=True)
class BindingChanged:
    peer: str
    client: Address
    server: Address
    added: bool
    ours: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandRefused:
    """We answered a peer's command with an error (also logged by the component)."""

    peer: str
    error_number: ErrorNumber
    description: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestTimedOut:
    peer: str
    msg_counter: int
    function: str


SpineEvent = (PeerDiscovered | PeerLost | EntitiesChanged | UseCasesReceived | RemoteDataUpdated | LocalDataWritten
              | ResultReceived | SubscriptionChanged | BindingChanged | CommandRefused | RequestTimedOut)
Listener = Callable[[SpineEvent], None]
