"""LPC and LPP: Limitation of Power Consumption / Production 1.0.0, both actors.

Energy Guard (control box behind the SMGW, or a HEMS towards its devices) limits a
Controllable System (HEMS, EVSE, heat pump, inverter). Scenarios (all mandatory):
1 the limit (LoadControl ``loadControlLimitListData``, category obligation, scope
activePowerLimit, W, optional duration ``timePeriod.endTime``); 2 the failsafe limit and
failsafe duration minimum (DeviceConfiguration keys ``failsafeConsumptionActivePowerLimit``
/ ``failsafeProductionActivePowerLimit``, ``failsafeDurationMinimum``: 2 h..24 h);
3 the heartbeat (DeviceDiagnosis, both ways; **more than 120 s without the Energy Guard's
heartbeat puts the Controllable System into failsafe**); 4 nominal maxima (ElectricalConnection
characteristics ``contractualConsumptionNominalMax``, ``powerConsumptionNominalMax`` and the
production twins).

LPC uses direction ``consume`` (limitId 0), LPP ``produce`` (limitId 1) on the same
LoadControl server, like the eebus-go demo. LPP on an EVSE entity is the standard place for a
V2G discharge *limit*.

Controllable-System states per direction, as a table (rules of the LPC state diagram):

=====================  ==================  ======================
state                  trigger             next
=====================  ==================  ======================
INIT                   heartbeat           UNLIMITED_CONTROLLED
INIT / UNLIMITED_*     limit active        LIMITED
INIT / controlled      heartbeat timeout   FAILSAFE
LIMITED                limit inactive      UNLIMITED_CONTROLLED
LIMITED                heartbeat timeout   FAILSAFE
FAILSAFE               limit active        LIMITED
FAILSAFE               limit inactive      UNLIMITED_CONTROLLED
FAILSAFE               failsafe elapsed    UNLIMITED_AUTONOMOUS
UNLIMITED_AUTONOMOUS   heartbeat           UNLIMITED_CONTROLLED
=====================  ==================  ======================

A pair not in the table leaves the state as it is (triggers are observations, not commands).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Final

from bidicharge.protocols.ship.eebus_json import JsonObject
from bidicharge.protocols.spine.device import (
    Entity,
    FeatureRole,
    FunctionSpec,
    WriteRequest,
)
from bidicharge.protocols.spine.errors import ErrorNumber, LocalProtocolError
from bidicharge.protocols.spine.node import (
    LocalDataWritten,
    PeerLost,
    RemoteDataUpdated,
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
    UseCaseName,
    items,
    next_heartbeat_counter,
    obj,
    remote_feature,
    scaled,
    unscaled,
)
from bidicharge.protocols.spine.values import format_duration_s, parse_duration_s

HEARTBEAT_TIMEOUT_S: Final = 120.0  # LPC scenario 3
FAILSAFE_DURATION_MIN_S: Final = 2 * 3600.0
FAILSAFE_DURATION_MAX_S: Final = 24 * 3600.0
LPC_VERSION: Final = "1.0.0"


class Direction(Enum):
    CONSUME = "consume"  # LPC
    PRODUCE = "produce"  # LPP


USE_CASE: Final = {Direction.CONSUME: UseCaseName.LPC, Direction.PRODUCE: UseCaseName.LPP}
LIMIT_ID: Final = {Direction.CONSUME: 0, Direction.PRODUCE: 1}
FAILSAFE_KEY: Final = {Direction.CONSUME: "failsafeConsumptionActivePowerLimit",
                       Direction.PRODUCE: "failsafeProductionActivePowerLimit"}
DURATION_KEY: Final = "failsafeDurationMinimum"
CONTRACTUAL_MAX: Final = {Direction.CONSUME: "contractualConsumptionNominalMax",
                          Direction.PRODUCE: "contractualProductionNominalMax"}
NOMINAL_MAX: Final = {Direction.CONSUME: "powerConsumptionNominalMax",
                      Direction.PRODUCE: "powerProductionNominalMax"}


class LimitState(Enum):
    INIT = "init"
    UNLIMITED_CONTROLLED = "unlimited/controlled"
    LIMITED = "limited"
    FAILSAFE = "failsafe"
    UNLIMITED_AUTONOMOUS = "unlimited/autonomous"


class Trigger(Enum):
    HEARTBEAT = "heartbeat"
    LIMIT_ACTIVE = "limit active"
    LIMIT_INACTIVE = "limit inactive"
    HEARTBEAT_TIMEOUT = "heartbeat timeout"
    FAILSAFE_ELAPSED = "failsafe elapsed"


L, T = LimitState, Trigger
TRANSITIONS: Final[dict[tuple[LimitState, Trigger], LimitState]] = {
    (L.INIT, T.HEARTBEAT): L.UNLIMITED_CONTROLLED,
    (L.INIT, T.LIMIT_ACTIVE): L.LIMITED,
    (L.INIT, T.LIMIT_INACTIVE): L.UNLIMITED_CONTROLLED,
    (L.INIT, T.HEARTBEAT_TIMEOUT): L.FAILSAFE,
    (L.UNLIMITED_CONTROLLED, T.LIMIT_ACTIVE): L.LIMITED,
    (L.UNLIMITED_CONTROLLED, T.HEARTBEAT_TIMEOUT): L.FAILSAFE,
    (L.LIMITED, T.LIMIT_INACTIVE): L.UNLIMITED_CONTROLLED,
    (L.LIMITED, T.HEARTBEAT_TIMEOUT): L.FAILSAFE,
    (L.FAILSAFE, T.LIMIT_ACTIVE): L.LIMITED,
    (L.FAILSAFE, T.LIMIT_INACTIVE): L.UNLIMITED_CONTROLLED,
    (L.FAILSAFE, T.FAILSAFE_ELAPSED): L.UNLIMITED_AUTONOMOUS,
    (L.UNLIMITED_AUTONOMOUS, T.HEARTBEAT): L.UNLIMITED_CONTROLLED,
    (L.UNLIMITED_AUTONOMOUS, T.LIMIT_ACTIVE): L.LIMITED,
}


def next_state(state: LimitState, trigger: Trigger) -> LimitState:
    return TRANSITIONS.get((state, trigger), state)


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerLimitConfig:
    """What the Controllable System announces for one direction."""

    nominal_max_W: float
    failsafe_limit_W: float
    failsafe_duration_s: float = FAILSAFE_DURATION_MIN_S
    contractual_nominal_max_W: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerLimitChanged:
    """The limit the Controllable System must now obey (``None``: unlimited)."""

    direction: Direction
    state: LimitState
    limit_W: float | None
    now: float


@dataclass(frozen=True, slots=True, kw_only=True)
class FailsafeChanged:
    direction: Direction
    failsafe_limit_W: float
    failsafe_duration_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteApprovalRequired:
    """A valid limit write waits for :meth:`ControllableSystem.decide` (``deferred_approval=True``)."""

    peer: str
    msg_counter: int
    requested_W: dict[Direction, float | None] = field(hash=False)  # None: limit deactivated
    now: float


LpcCsEvent = PowerLimitChanged | FailsafeChanged | WriteApprovalRequired
# (direction, requested limit in W or None when deactivated) -> accept?
Approval = Callable[[Direction, float | None], bool]


class ControllableSystem:
    """The LPC/LPP Controllable System on one entity (CEM of a HEMS, EVSE, inverter, …)."""

    def __init__(self, node: SpineNode, entity: Entity, *, now: float,
                 consumption: PowerLimitConfig | None = None, production: PowerLimitConfig | None = None,
                 approve: Approval | None = None, deferred_approval: bool = False,
                 heartbeat_period_s: float = 4.0) -> None:
        self.node = node
        self.entity = entity
        self.configs = {d: c for d, c in ((Direction.CONSUME, consumption), (Direction.PRODUCE, production))
                        if c is not None}
        if not self.configs:
            raise LocalProtocolError("a Controllable System needs at least one direction")
        self.approve = approve or (lambda direction, limit: True)
        self.deferred_approval = deferred_approval
        self.heartbeat_period_s = heartbeat_period_s
        self.state = {d: LimitState.INIT for d in self.configs}
        self.failsafe_W = {d: c.failsafe_limit_W for d, c in self.configs.items()}
        self.failsafe_duration_s = max(c.failsafe_duration_s for c in self.configs.values())
        self._started_at = now
        self._last_heartbeat: float | None = None
        self._failsafe_since: dict[Direction, float] = {}
        self._limit_until: dict[Direction, float | None] = {}
        self._heartbeat_counter = 0
        self._next_heartbeat = now
        self._guards: set[tuple[str, tuple[int, ...]]] = set()  # (peer, entity) of Energy Guards
        self._applied: dict[Direction, JsonObject] = {}
        self._queue: EventQueue[LpcCsEvent] = EventQueue()
        self._install(now)
        node.add_listener(self._on_event)

    # --- installation ----------------------------------------------------------------

    def _install(self, now: float) -> None:
        e = self.entity
        self.diagnosis_client = e.shared_feature("DeviceDiagnosis", FeatureRole.CLIENT)
        self.load_control = e.add_feature("LoadControl", FeatureRole.SERVER, (
            FunctionSpec(function=LIMIT_DESCRIPTIONS),
            FunctionSpec(function=LIMIT_LIST, write=True, partial_write=True)))
        self.configuration = e.add_feature("DeviceConfiguration", FeatureRole.SERVER, (
            FunctionSpec(function=KEY_VALUE_DESCRIPTIONS),
            FunctionSpec(function=KEY_VALUES, write=True, partial_write=True)))
        self.diagnosis = e.shared_feature("DeviceDiagnosis", FeatureRole.SERVER, (FunctionSpec(function=HEARTBEAT),))
        self.electrical = e.add_feature("ElectricalConnection", FeatureRole.SERVER,
                                        (FunctionSpec(function=CHARACTERISTICS),))
        self.load_control.data[LIMIT_DESCRIPTIONS] = {"loadControlLimitDescriptionData": [
            {"limitId": LIMIT_ID[d], "limitType": "signDependentAbsValueLimit", "limitCategory": "obligation",
             "limitDirection": d.value, "measurementId": 0, "unit": "W", "scopeType": "activePowerLimit"}
            for d in self.configs]}
        self.load_control.data[LIMIT_LIST] = {"loadControlLimitData": [
            {"limitId": LIMIT_ID[d], "isLimitChangeable": True, "isLimitActive": False,
             "value": scaled(c.nominal_max_W)} for d, c in self.configs.items()]}
        descriptions: list[JsonObject] = []
        values: list[JsonObject] = []
        for d, c in self.configs.items():
            key_id = 0 if d is Direction.CONSUME else 2
            descriptions.append({"keyId": key_id, "keyName": FAILSAFE_KEY[d], "valueType": "scaledNumber",
                                 "unit": "W"})
            values.append({"keyId": key_id, "value": {"scaledNumber": scaled(c.failsafe_limit_W)},
                           "isValueChangeable": True})
        descriptions.insert(1, {"keyId": 1, "keyName": DURATION_KEY, "valueType": "duration"})
        values.insert(1, {"keyId": 1, "value": {"duration": format_duration_s(self.failsafe_duration_s)},
                          "isValueChangeable": True})
        self.configuration.data[KEY_VALUE_DESCRIPTIONS] = {"deviceConfigurationKeyValueDescriptionData": descriptions}
        self.configuration.data[KEY_VALUES] = {"deviceConfigurationKeyValueData": values}
        characteristics: list[JsonObject] = []
        for d, c in self.configs.items():
            base = 0 if d is Direction.CONSUME else 2
            if c.contractual_nominal_max_W is not None:
                characteristics.append({"electricalConnectionId": 0, "parameterId": 0, "characteristicId": base,
                                        "characteristicContext": "entity", "characteristicType": CONTRACTUAL_MAX[d],
                                        "value": scaled(c.contractual_nominal_max_W), "unit": "W"})
            characteristics.append({"electricalConnectionId": 0, "parameterId": 0, "characteristicId": base + 1,
                                    "characteristicContext": "entity", "characteristicType": NOMINAL_MAX[d],
                                    "value": scaled(c.nominal_max_W), "unit": "W"})
        self.electrical.data[CHARACTERISTICS] = {"electricalConnectionCharacteristicData": characteristics}
        self.diagnosis.data.setdefault(HEARTBEAT, {"heartbeatCounter": 0, "heartbeatTimeout": "PT4S"})
        self.load_control.write_guards[LIMIT_LIST] = self._guard_limits
        self.configuration.write_guards[KEY_VALUES] = self._guard_failsafe
        for d in self.configs:
            self.node.add_use_case(UseCaseSupport(entity=self.entity.address, actor=Actor.CONTROLLABLE_SYSTEM.value,
                                                  name=USE_CASE[d].value, version=LPC_VERSION, scenarios=(1, 2, 3, 4)))

    # --- write checks (run before the node stores a write) ---------------------------

    def _from_energy_guard(self, request: WriteRequest) -> bool:
        """Only an entity that announced itself as LPC/LPP Energy Guard may limit us."""
        return (request.peer, request.origin.entity) in self._guards

    def _guard_limits(self, request: WriteRequest) -> ErrorNumber | None:
        if not self._from_energy_guard(request):
            return ErrorNumber.COMMAND_REJECTED
        old = {item.get("limitId"): item for item in items(self.load_control.data.get(LIMIT_LIST), "loadControlLimitData")}
        for item in items(request.new_data, "loadControlLimitData"):
            direction = next((d for d in self.configs if LIMIT_ID[d] == item.get("limitId")), None)
            if direction is None:
                return ErrorNumber.COMMAND_REJECTED
            before = old.get(item.get("limitId"), {})
            if item != before and before.get("isLimitChangeable") is False:
                return ErrorNumber.COMMAND_REJECTED
            value = unscaled(item.get("value"))
            if value is None or value < 0:
                return ErrorNumber.COMMAND_REJECTED
            end = obj(item.get("timePeriod")).get("endTime")
            if end is not None:
                try:
                    parse_duration_s(end)
                except ValueError:
                    return ErrorNumber.COMMAND_REJECTED
            if item != before and not self.approve(direction, value if item.get("isLimitActive") else None):
                return ErrorNumber.COMMAND_REJECTED  # eebus-go: "denied by application"
        if self.deferred_approval:
            mentioned = {i.get("limitId") for i in items(request.incoming, "loadControlLimitData")}
            requested = {d: (unscaled(i.get("value")) if i.get("isLimitActive") else None)
                         for i in items(request.new_data, "loadControlLimitData") if i.get("limitId") in mentioned
                         for d in self.configs if LIMIT_ID[d] == i.get("limitId")}
            self._queue.push(WriteApprovalRequired(peer=request.peer, msg_counter=request.msg_counter,
                                                   requested_W=requested, now=request.now))
            return None  # held until decide(); the result is the acknowledgement the guard waits for
        return ErrorNumber.NO_ERROR

    def decide(self, peer: str, msg_counter: int, accept: bool, now: float) -> bool:
        """Approve or deny a pending limit write (``deferred_approval=True``)."""
        verdict = ErrorNumber.NO_ERROR if accept else ErrorNumber.COMMAND_REJECTED
        return self.node.complete_write(peer, msg_counter, verdict, now)

    def _guard_failsafe(self, request: WriteRequest) -> ErrorNumber:
        if not self._from_energy_guard(request):
            return ErrorNumber.COMMAND_REJECTED
        for item in items(request.new_data, "deviceConfigurationKeyValueData"):
            value = obj(item.get("value"))
            if item.get("keyId") == 1:
                try:
                    duration = parse_duration_s(str(value.get("duration")))
                except ValueError:
                    return ErrorNumber.COMMAND_REJECTED
                if not FAILSAFE_DURATION_MIN_S <= duration <= FAILSAFE_DURATION_MAX_S:
                    return ErrorNumber.COMMAND_REJECTED
            elif "scaledNumber" in value:
                number = unscaled(value["scaledNumber"])
                if number is None or number < 0:
                    return ErrorNumber.COMMAND_REJECTED
        return ErrorNumber.NO_ERROR

    # --- node events -----------------------------------------------------------------

    def _on_event(self, event: SpineEvent) -> None:
        if isinstance(event, PeerLost):
            self._guards = {g for g in self._guards if g[0] != event.peer}
        elif isinstance(event, UseCasesReceived):
            self._follow_energy_guard(event)
        elif isinstance(event, RemoteDataUpdated) and event.function == HEARTBEAT \
                and (event.peer, event.source.entity) in self._guards:
            self._last_heartbeat = event.now
            self._fire_all(Trigger.HEARTBEAT, event.now)
        elif isinstance(event, LocalDataWritten) and event.feature == self.load_control.address:
            self._apply_limits(event.now, written={item.get("limitId") for item in
                                                   items(event.written, "loadControlLimitData")})
        elif isinstance(event, LocalDataWritten) and event.feature == self.configuration.address:
            self._apply_failsafe()

    def _follow_energy_guard(self, event: UseCasesReceived) -> None:
        remote = self.node.remote(event.peer)
        for uc in event.use_cases:
            if uc.actor == Actor.ENERGY_GUARD.value and uc.name in (USE_CASE[d].value for d in self.configs):
                heartbeat = remote_feature(remote, uc.entity.entity, "DeviceDiagnosis")
                self._guards.add((event.peer, uc.entity.entity))
                if heartbeat is not None:
                    now = self.node.now
                    self.node.subscribe(event.peer, self.diagnosis_client, heartbeat, now)
                    self.node.read(event.peer, self.diagnosis_client, heartbeat.address, HEARTBEAT, now)
                return

    def _apply_limits(self, now: float, *, written: set[object]) -> None:
        """Apply the limits a write named. A limit written again unchanged is applied again too:
        per LPC (scenario 1) its duration runs from this write, so a renewal with the same value
        and duration extends it. A limit the write did not name (partial write) keeps its timer."""
        for item in items(self.load_control.data.get(LIMIT_LIST), "loadControlLimitData"):
            direction = next((d for d in self.configs if LIMIT_ID[d] == item.get("limitId")), None)
            if direction is None or (self._applied.get(direction) == item and item.get("limitId") not in written):
                continue
            self._applied[direction] = dict(item)
            period = obj(item.get("timePeriod"))
            end = period.get("endTime")
            self._limit_until[direction] = now + parse_duration_s(end) if isinstance(end, str) else None
            trigger = Trigger.LIMIT_ACTIVE if item.get("isLimitActive") else Trigger.LIMIT_INACTIVE
            self._fire(direction, trigger, now, force_event=True)

    def _apply_failsafe(self) -> None:
        for item in items(self.configuration.data.get(KEY_VALUES), "deviceConfigurationKeyValueData"):
            value = obj(item.get("value"))
            if item.get("keyId") == 1 and isinstance(value.get("duration"), str):
                self.failsafe_duration_s = parse_duration_s(value["duration"])
            for d in self.configs:
                if item.get("keyId") == (0 if d is Direction.CONSUME else 2):
                    number = unscaled(value.get("scaledNumber"))
                    if number is not None:
                        self.failsafe_W[d] = number
        for d in self.configs:
            self._queue.push(FailsafeChanged(direction=d, failsafe_limit_W=self.failsafe_W[d],
                                             failsafe_duration_s=self.failsafe_duration_s))

    # --- driving ---------------------------------------------------------------------

    def step(self, now: float) -> None:
        """Advance time: heartbeat out, heartbeat watchdog, limit expiry, failsafe end."""
        if now >= self._next_heartbeat:
            self._heartbeat_counter = next_heartbeat_counter(self.diagnosis)
            self.node.set_data(self.diagnosis, HEARTBEAT, {"heartbeatCounter": self._heartbeat_counter,
                                                          "heartbeatTimeout": "PT4S"}, now)
            self._next_heartbeat = now + self.heartbeat_period_s
        reference = self._last_heartbeat if self._last_heartbeat is not None else self._started_at
        if now - reference > HEARTBEAT_TIMEOUT_S:
            self._fire_all(Trigger.HEARTBEAT_TIMEOUT, now)
        for d in self.configs:
            until = self._limit_until.get(d)
            if self.state[d] is LimitState.LIMITED and until is not None and now >= until:
                self._limit_until[d] = None
                self.node.update_data(self.load_control, LIMIT_LIST, {"loadControlLimitData": [
                    {"limitId": LIMIT_ID[d], "isLimitActive": False}]}, now)
                self._fire(d, Trigger.LIMIT_INACTIVE, now)
            since = self._failsafe_since.get(d)
            if self.state[d] is LimitState.FAILSAFE and since is not None \
                    and now - since >= self.failsafe_duration_s and now - reference > HEARTBEAT_TIMEOUT_S:
                self._fire(d, Trigger.FAILSAFE_ELAPSED, now)

    def _fire_all(self, trigger: Trigger, now: float) -> None:
        for d in self.configs:
            self._fire(d, trigger, now)

    def _fire(self, direction: Direction, trigger: Trigger, now: float, *, force_event: bool = False) -> None:
        before = self.state[direction]
        after = next_state(before, trigger)
        if after is LimitState.FAILSAFE and before is not LimitState.FAILSAFE:
            self._failsafe_since[direction] = now
        self.state[direction] = after
        if after is not before or (force_event and after is LimitState.LIMITED):
            self._queue.push(PowerLimitChanged(direction=direction, state=after, limit_W=self.limit_W(direction),
                                               now=now))

    # --- what the component reads ----------------------------------------------------

    def limit_W(self, direction: Direction = Direction.CONSUME) -> float | None:
        """The power limit to obey now; ``None`` when unlimited (nominal max applies)."""
        state = self.state[direction]
        if state is LimitState.FAILSAFE:
            return self.failsafe_W[direction]
        if state is LimitState.LIMITED:
            for item in items(self.load_control.data.get(LIMIT_LIST), "loadControlLimitData"):
                if item.get("limitId") == LIMIT_ID[direction]:
                    return unscaled(item.get("value"))
        return None

    def next_deadline(self) -> float:
        return self._next_heartbeat

    def events(self) -> Iterator[LpcCsEvent]:
        return self._queue.drain()
