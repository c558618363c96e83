"""LPC/LPP Energy Guard: limits a Controllable System (see :mod:`.lpc` for the use case).

The Energy Guard (control box behind the SMGW, or a HEMS towards its devices) finds
Controllable Systems by their use-case data, subscribes and binds before writing (interop
rule learnt against eebus-go), writes limits and failsafe values *partially*, and sends its
heartbeat (DeviceDiagnosis notify) every ``heartbeat_period_s`` while enabled.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from bidicharge.protocols.ship.eebus_json import JsonObject
from bidicharge.protocols.spine.device import Entity, FeatureRole, FunctionSpec, RemoteDevice, RemoteFeature
from bidicharge.protocols.spine.errors import LocalProtocolError
from bidicharge.protocols.spine.node import (
    PeerDiscovered,
    PeerLost,
    ResultReceived,
    SpineEvent,
    SpineNode,
    UseCasesReceived,
)
from bidicharge.protocols.spine.usecase_info import UseCaseSupport
from bidicharge.protocols.spine.usecases.common import (
    CHARACTERISTICS,
    HEARTBEAT,
    KEY_VALUE_DESCRIPTIONS,
    KEY_VALUES,
    LIMIT_DESCRIPTIONS,
    LIMIT_LIST,
    Actor,
    EventQueue,
    items,
    next_heartbeat_counter,
    obj,
    remote_data,
    remote_feature,
    scaled,
    unscaled,
)
from bidicharge.protocols.spine.usecases.lpc import (
    CONTRACTUAL_MAX,
    DURATION_KEY,
    FAILSAFE_KEY,
    LPC_VERSION,
    USE_CASE,
    Direction,
)
from bidicharge.protocols.spine.values import format_duration_s


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlledSystemFound:
    peer: str
    entity: tuple[int, ...]
    directions: tuple[Direction, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class LimitWriteResult:
    peer: str
    msg_counter: int
    accepted: bool
    error_number: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlledSystemState:
    """What the Energy Guard knows of one Controllable System (from its notifies)."""

    limits_W: dict[Direction, float | None]
    active: dict[Direction, bool]
    failsafe_W: dict[Direction, float]
    contractual_max_W: dict[Direction, float]


LpcEgEvent = ControlledSystemFound | LimitWriteResult


class EnergyGuard:
    """The LPC/LPP Energy Guard on one entity (GridGuard of a control box, or a HEMS's CEM)."""

    def __init__(self, node: SpineNode, entity: Entity, *, now: float,
                 directions: tuple[Direction, ...] = (Direction.CONSUME,), heartbeat_period_s: float = 4.0) -> None:
        self.node = node
        self.entity = entity
        self.directions = directions
        self.heartbeat_period_s = heartbeat_period_s
        self.heartbeat_enabled = True
        self._counter = 0
        self._next_heartbeat = now
        self._writes: set[int] = set()
        self._queue: EventQueue[LpcEgEvent] = EventQueue()
        self.systems: dict[str, tuple[int, ...]] = {}  # peer -> Controllable System entity
        # Feature order matches the recorded interop trace: LoadControl client [1]/1, heartbeat server [1]/3.
        self.load_control = entity.shared_feature("LoadControl", FeatureRole.CLIENT)
        self.configuration = entity.shared_feature("DeviceConfiguration", FeatureRole.CLIENT)
        self.diagnosis = entity.shared_feature("DeviceDiagnosis", FeatureRole.SERVER, (FunctionSpec(function=HEARTBEAT),))
        self.electrical = entity.shared_feature("ElectricalConnection", FeatureRole.CLIENT)
        self.diagnosis_client = entity.shared_feature("DeviceDiagnosis", FeatureRole.CLIENT)
        self.diagnosis.data.setdefault(HEARTBEAT, {"heartbeatCounter": 0, "heartbeatTimeout": "PT4S"})
        for d in directions:
            node.add_use_case(UseCaseSupport(entity=entity.address, actor=Actor.ENERGY_GUARD.value,
                                             name=USE_CASE[d].value, version=LPC_VERSION, scenarios=(1, 2, 3, 4)))
        node.add_listener(self._on_event)

    def _on_event(self, event: SpineEvent) -> None:
        if isinstance(event, UseCasesReceived):
            for uc in event.use_cases:
                if uc.actor == Actor.CONTROLLABLE_SYSTEM.value and uc.name in (USE_CASE[d].value for d in self.directions):
                    if event.peer not in self.systems:
                        self._attach(event.peer, uc.entity.entity)
        elif isinstance(event, ResultReceived) and event.msg_counter_reference in self._writes:
            self._writes.discard(event.msg_counter_reference)
            self._queue.push(LimitWriteResult(peer=event.peer, msg_counter=event.msg_counter_reference,
                                              accepted=event.error_number == 0, error_number=int(event.error_number)))
        elif isinstance(event, PeerDiscovered | PeerLost):
            self.systems.pop(event.peer, None)

    def _attach(self, peer: str, entity: tuple[int, ...]) -> None:
        """Subscribe and bind before writing (interop rule 2), then read what we need."""
        remote = self.node.remote(peer)
        self.systems[peer] = entity
        now = self.node.now
        plan = ((self.load_control, "LoadControl", True, (LIMIT_LIST, LIMIT_DESCRIPTIONS)),
                (self.configuration, "DeviceConfiguration", True, (KEY_VALUES, KEY_VALUE_DESCRIPTIONS)),
                (self.electrical, "ElectricalConnection", False, (CHARACTERISTICS,)),
                (self.diagnosis_client, "DeviceDiagnosis", False, (HEARTBEAT,)))
        for local, feature_type, bind, functions in plan:
            server = remote_feature(remote, entity, feature_type)
            if server is None:
                continue
            self.node.subscribe(peer, local, server, now)
            if bind:
                self.node.bind(peer, local, server, now)
            for function in functions:
                if function in server.functions:
                    self.node.read(peer, local, server.address, function, now)
        directions = tuple(d for d in self.directions)
        self._queue.push(ControlledSystemFound(peer=peer, entity=entity, directions=directions))

    def _server(self, peer: str, feature_type: str) -> tuple[RemoteDevice, RemoteFeature]:
        entity = self.systems.get(peer)
        if entity is None:
            raise LocalProtocolError(f"peer {peer!r} is no known LPC/LPP Controllable System")
        remote = self.node.remote(peer)
        server = remote_feature(remote, entity, feature_type)
        if server is None:
            raise LocalProtocolError(f"peer {peer!r} has no {feature_type} server")
        return remote, server

    def ready(self, peer: str, direction: Direction = Direction.CONSUME) -> bool:
        """True once the system is attached and its limit of ``direction`` is described (writable)."""
        try:
            self._limit_id(peer, direction)
        except LocalProtocolError:
            return False
        return True

    def write_limit(self, peer: str, direction: Direction, limit_W: float, now: float, *,
                    active: bool = True, duration_s: float | None = None) -> int:
        """Partial write of one limit (interop rule 3: a full write would drop the others)."""
        remote, server = self._server(peer, "LoadControl")
        item: JsonObject = {"limitId": self._limit_id(peer, direction), "isLimitActive": active}
        if duration_s is not None:
            item["timePeriod"] = {"endTime": format_duration_s(duration_s)}
        item["value"] = scaled(limit_W)
        counter = self.node.write(peer, self.load_control, server.address, LIMIT_LIST,
                                  {"loadControlLimitData": [item]}, now, partial=True)
        self._writes.add(counter)
        return counter

    def write_failsafe(self, peer: str, now: float, *, direction: Direction = Direction.CONSUME,
                       limit_W: float | None = None, duration_s: float | None = None) -> int:
        remote, server = self._server(peer, "DeviceConfiguration")
        values: list[JsonObject] = []
        if limit_W is not None:
            values.append({"keyId": self._key_id(peer, FAILSAFE_KEY[direction]),
                           "value": {"scaledNumber": scaled(limit_W)}})
        if duration_s is not None:
            values.append({"keyId": self._key_id(peer, DURATION_KEY),
                           "value": {"duration": format_duration_s(duration_s)}})
        counter = self.node.write(peer, self.configuration, server.address, KEY_VALUES,
                                  {"deviceConfigurationKeyValueData": values}, now, partial=True)
        self._writes.add(counter)
        return counter

    def _limit_id(self, peer: str, direction: Direction) -> int:
        remote, server = self._server(peer, "LoadControl")
        data = remote_data(remote, server, LIMIT_DESCRIPTIONS)
        for item in items(data, "loadControlLimitDescriptionData"):
            if item.get("limitDirection") == direction.value and item.get("scopeType") == "activePowerLimit":
                limit_id = item.get("limitId")
                if isinstance(limit_id, int):
                    return limit_id
        raise LocalProtocolError(f"no {direction.value} limit described by {peer!r} (read descriptions first)")

    def _key_id(self, peer: str, key_name: str) -> int:
        remote, server = self._server(peer, "DeviceConfiguration")
        data = remote_data(remote, server, KEY_VALUE_DESCRIPTIONS)
        for item in items(data, "deviceConfigurationKeyValueDescriptionData"):
            if item.get("keyName") == key_name and isinstance(item.get("keyId"), int):
                key_id: int = item["keyId"]
                return key_id
        raise LocalProtocolError(f"{peer!r} has no key {key_name}")

    def state_of(self, peer: str) -> ControlledSystemState:
        remote, lc = self._server(peer, "LoadControl")
        descriptions = {item.get("limitId"): item.get("limitDirection") for item in
                        items(remote_data(remote, lc, LIMIT_DESCRIPTIONS), "loadControlLimitDescriptionData")}
        limits: dict[Direction, float | None] = {}
        active: dict[Direction, bool] = {}
        for item in items(remote_data(remote, lc, LIMIT_LIST), "loadControlLimitData"):
            direction = Direction(descriptions.get(item.get("limitId"), "consume"))
            limits[direction] = unscaled(item.get("value"))
            active[direction] = bool(item.get("isLimitActive"))
        failsafe: dict[Direction, float] = {}
        contractual: dict[Direction, float] = {}
        try:
            _, dc = self._server(peer, "DeviceConfiguration")
            names = {i.get("keyId"): i.get("keyName") for i in
                     items(remote_data(remote, dc, KEY_VALUE_DESCRIPTIONS), "deviceConfigurationKeyValueDescriptionData")}
            for item in items(remote_data(remote, dc, KEY_VALUES), "deviceConfigurationKeyValueData"):
                for d in Direction:
                    if names.get(item.get("keyId")) == FAILSAFE_KEY[d]:
                        number = unscaled(obj(item.get("value")).get("scaledNumber"))
                        if number is not None:
                            failsafe[d] = number
            _, ec = self._server(peer, "ElectricalConnection")
            for item in items(remote_data(remote, ec, CHARACTERISTICS), "electricalConnectionCharacteristicData"):
                for d in Direction:
                    number = unscaled(item.get("value"))
                    if item.get("characteristicType") == CONTRACTUAL_MAX[d] and number is not None:
                        contractual[d] = number
        except LocalProtocolError:
            pass
        return ControlledSystemState(limits_W=limits, active=active, failsafe_W=failsafe,
                                     contractual_max_W=contractual)

    def step(self, now: float) -> None:
        """Send the heartbeat (DeviceDiagnosis notify) while enabled."""
        if self.heartbeat_enabled and now >= self._next_heartbeat:
            self._counter = next_heartbeat_counter(self.diagnosis)
            self.node.set_data(self.diagnosis, HEARTBEAT, {"heartbeatCounter": self._counter,
                                                          "heartbeatTimeout": "PT4S"}, now)
            self._next_heartbeat = now + self.heartbeat_period_s

    def stop_heartbeat(self) -> None:
        self.heartbeat_enabled = False

    def events(self) -> Iterator[LpcEgEvent]:
        return self._queue.drain()
