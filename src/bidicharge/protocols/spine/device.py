"""The SPINE device model: device -> entities -> features -> functions (SPINE 1.3.0 §7).

A device (``d:_i:<PEN>_<model>-<serial>``) holds entities addressed by a path of integers
(``[0]`` is DeviceInformation with NodeManagement and DeviceClassification; ``[1]``, ``[2]``…
the functional entities; ``[1,1]`` a sub-entity such as the EV under an EVSE). Each entity has
features of a type (LoadControl, Measurement, …) in a role (``client``, ``server`` or
``special`` for NodeManagement), and each server feature announces its functions with the
operations it allows (``read``, ``write``, ``write.partial``).

:class:`LocalDevice` is ours (it holds the data); :class:`RemoteDevice` is what detailed
discovery told us about a peer. Both are built from and into
``nodeManagementDetailedDiscoveryData``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final

from bidicharge.protocols.ship.eebus_json import JsonObject
from bidicharge.protocols.spine.errors import ErrorNumber, LocalProtocolError, RemoteProtocolError
from bidicharge.protocols.spine.model import SPECIFICATION_VERSION, Address

NODE_MANAGEMENT_FUNCTIONS: Final = (
    ("nodeManagementDetailedDiscoveryData", True),
    ("nodeManagementUseCaseData", True),
    ("nodeManagementSubscriptionData", True),
    ("nodeManagementSubscriptionRequestCall", False),
    ("nodeManagementSubscriptionDeleteCall", False),
    ("nodeManagementBindingData", True),
    ("nodeManagementBindingRequestCall", False),
    ("nodeManagementBindingDeleteCall", False),
    ("nodeManagementDestinationListData", True),
)


class FeatureRole(Enum):
    CLIENT = "client"
    SERVER = "server"
    SPECIAL = "special"


@dataclass(frozen=True, slots=True, kw_only=True)
class FunctionSpec:
    """A supported function and its possible operations."""

    function: str
    read: bool = True
    write: bool = False
    partial_write: bool = False

    def to_json(self) -> JsonObject:
        ops: JsonObject = {}
        if self.read:
            ops["read"] = {}
        if self.write:
            ops["write"] = {"partial": {}} if self.partial_write else {}
        return {"function": self.function, "possibleOperations": ops}


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteRequest:
    """A write that passed the protocol checks, offered to the application for approval."""

    peer: str  # the connection it came over (the peer's SKI)
    msg_counter: int  # the write's msgCounter: the key for a deferred decision
    origin: Address  # the remote client feature
    feature: Address  # our server feature
    function: str
    new_data: JsonObject = field(hash=False)  # the data as it would be after the write
    incoming: JsonObject = field(hash=False)  # what the peer sent
    partial: bool
    now: float


# Returns NO_ERROR to accept, another number (usually COMMAND_REJECTED) to refuse, or None to
# hold the write pending until the application calls SpineNode.complete_write (eebus-go's
# "write approval": the result that then goes back is the acknowledgement the writer waits for).
WriteGuard = Callable[[WriteRequest], ErrorNumber | None]


class Feature:
    """One local feature: its address, type, role, functions, and the data it serves."""

    def __init__(self, address: Address, feature_type: str, role: FeatureRole,
                 functions: tuple[FunctionSpec, ...] = (), description: str | None = None) -> None:
        self.address = address
        self.feature_type = feature_type
        self.role = role
        self.functions = {spec.function: spec for spec in functions}
        self.description = description
        self.data: dict[str, JsonObject] = {}
        self.write_guards: dict[str, WriteGuard] = {}

    def discovery_json(self) -> JsonObject:
        desc: JsonObject = {"featureAddress": self.address.to_json(), "featureType": self.feature_type,
                            "role": self.role.value}
        if self.functions:
            desc["supportedFunction"] = [spec.to_json() for spec in self.functions.values()]
        if self.description is not None:
            desc["description"] = self.description
        return {"description": desc}


class Entity:
    def __init__(self, device: str, path: tuple[int, ...], entity_type: str) -> None:
        self.address = Address(device=device, entity=path)
        self.entity_type = entity_type
        self.features: list[Feature] = []

    def add_feature(self, feature_type: str, role: FeatureRole, functions: tuple[FunctionSpec, ...] = (),
                    description: str | None = None) -> Feature:
        # spine-go numbers features per entity: from 0 on entity [0], from 1 elsewhere
        number = len(self.features) + (0 if self.address.entity == (0,) else 1)
        address = Address(device=self.address.device, entity=self.address.entity, feature=number)
        feature = Feature(address, feature_type, role, functions, description)
        self.features.append(feature)
        return feature

    def shared_feature(self, feature_type: str, role: FeatureRole,
                       functions: tuple[FunctionSpec, ...] = ()) -> Feature:
        """The entity's feature of this type and role, created if missing; several actors on one
        entity share it (SPINE has one feature per type and role on an entity: a CEM entity that is
        LPC Controllable System, Energy Guard and CEM has one DeviceDiagnosis server, one LoadControl
        client). Function specs are merged."""
        for feature in self.features:
            if feature.feature_type == feature_type and feature.role is role:
                for spec in functions:
                    feature.functions.setdefault(spec.function, spec)
                return feature
        return self.add_feature(feature_type, role, functions)

    def discovery_json(self, last_state_change: str | None = None) -> JsonObject:
        desc: JsonObject = {"entityAddress": self.address.entity_json(), "entityType": self.entity_type}
        if last_state_change is not None:
            desc["lastStateChange"] = last_state_change
        return {"description": desc}


class LocalDevice:
    """Our device: entity ``[0]`` with NodeManagement (feature 0) and DeviceClassification."""

    def __init__(self, address: str, device_type: str) -> None:
        self.address = address
        self.device_type = device_type
        self.entities: list[Entity] = []
        root = Entity(address, (0,), "DeviceInformation")
        self.entities.append(root)
        self.node_management = root.add_feature(
            "NodeManagement", FeatureRole.SPECIAL,
            tuple(FunctionSpec(function=name, read=read) for name, read in NODE_MANAGEMENT_FUNCTIONS))
        self.device_classification = root.add_feature(
            "DeviceClassification", FeatureRole.SERVER,
            (FunctionSpec(function="deviceClassificationManufacturerData"),))

    def add_entity(self, entity_type: str, *, parent: Entity | None = None) -> Entity:
        base = parent.address.entity if parent else ()
        siblings = [e for e in self.entities if len(e.address.entity) == len(base) + 1
                    and e.address.entity[:-1] == base]
        index = max((e.address.entity[-1] for e in siblings), default=0) + 1
        entity = Entity(self.address, (*base, index), entity_type)
        self.entities.append(entity)
        return entity

    def remove_entity(self, entity: Entity) -> None:
        prefix = entity.address.entity
        self.entities = [e for e in self.entities if e.address.entity[:len(prefix)] != prefix]

    def features(self) -> Iterator[Feature]:
        for entity in self.entities:
            yield from entity.features

    def feature_at(self, address: Address) -> Feature | None:
        for feature in self.features():
            if feature.address.entity == address.entity and feature.address.feature == address.feature:
                return feature
        return None

    def feature_or_none(self, entity: Entity, feature_type: str, role: FeatureRole) -> Feature | None:
        return next((f for f in entity.features if f.feature_type == feature_type and f.role is role), None)

    def feature(self, entity: Entity, feature_type: str, role: FeatureRole) -> Feature:
        for feature in entity.features:
            if feature.feature_type == feature_type and feature.role is role:
                return feature
        raise LocalProtocolError(f"entity {entity.address.entity} has no {feature_type} {role.value}")

    def detailed_discovery_json(self) -> JsonObject:
        return {
            "specificationVersionList": {"specificationVersion": [SPECIFICATION_VERSION]},
            "deviceInformation": {"description": {"deviceAddress": {"device": self.address},
                                                  "deviceType": self.device_type,
                                                  "networkFeatureSet": "smart"}},
            "entityInformation": [entity.discovery_json() for entity in self.entities],
            "featureInformation": [f.discovery_json() for f in self.features()],
        }

    def entity_change_json(self, entity: Entity, change: str) -> JsonObject:
        """Partial discovery notify for an added/removed entity (SPINE §7.1.2)."""
        info: JsonObject = {"entityInformation": [entity.discovery_json(change)]}
        if change == "added":
            info["featureInformation"] = [f.discovery_json() for f in entity.features]
        return {"deviceInformation": {"description": {"deviceAddress": {"device": self.address}}}, **info}


# --- what we know about a peer -------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class RemoteFeature:
    address: Address
    feature_type: str
    role: FeatureRole
    functions: dict[str, FunctionSpec] = field(hash=False)


@dataclass(slots=True, kw_only=True)
class RemoteDevice:
    address: str | None = None
    device_type: str | None = None
    entity_types: dict[tuple[int, ...], str] = field(default_factory=dict)
    features: dict[tuple[tuple[int, ...], int], RemoteFeature] = field(default_factory=dict)
    data: dict[tuple[tuple[int, ...], int, str], JsonObject] = field(default_factory=dict)
    use_cases: list[JsonObject] = field(default_factory=list)
    discovered: bool = False

    def feature_at(self, address: Address) -> RemoteFeature | None:
        if address.feature is None:
            return None
        return self.features.get((address.entity, address.feature))

    def find(self, feature_type: str, role: FeatureRole, *, entity_type: str | None = None) -> list[RemoteFeature]:
        return [f for (path, _), f in sorted(self.features.items())
                if f.feature_type == feature_type and f.role is role
                and (entity_type is None or self.entity_types.get(path) == entity_type)]

    def apply_discovery(self, data: JsonObject, *, partial: bool) -> list[tuple[tuple[int, ...], str]]:
        """Merge detailed-discovery data; returns (entity path, change) for added/removed entities."""
        changes: list[tuple[tuple[int, ...], str]] = []
        info = data.get("deviceInformation", {}).get("description", {})
        if isinstance(info, dict):
            device = info.get("deviceAddress", {}).get("device")
            if isinstance(device, str):
                self.address = device
            if isinstance(info.get("deviceType"), str):
                self.device_type = info["deviceType"]
        before = dict(self.entity_types)
        if not partial:
            self.entity_types.clear()
            self.features.clear()
        for raw in _as_list(data.get("entityInformation")):
            desc = _description(raw)
            path = Address.from_json(desc.get("entityAddress", {})).entity
            change = desc.get("lastStateChange")
            if change == "removed":
                self.entity_types.pop(path, None)
                for key in [k for k in self.features if k[0][:len(path)] == path]:
                    del self.features[key]
                for dkey in [k for k in self.data if k[0][:len(path)] == path]:
                    del self.data[dkey]
                changes.append((path, "removed"))
                continue
            if path not in (self.entity_types if partial else before):
                changes.append((path, "added"))
            self.entity_types[path] = str(desc.get("entityType", ""))
        if not partial:  # a full update: what is gone was removed
            for path in sorted(set(before) - set(self.entity_types)):
                changes.append((path, "removed"))
                for dkey in [k for k in self.data if k[0][:len(path)] == path]:
                    del self.data[dkey]
        for raw in _as_list(data.get("featureInformation")):
            desc = _description(raw)
            address = Address.from_json(desc.get("featureAddress", {}))
            if address.feature is None:
                raise RemoteProtocolError("featureAddress without feature")
            try:
                role = FeatureRole(desc.get("role"))
            except ValueError:
                raise RemoteProtocolError(f"unknown feature role {desc.get('role')!r}") from None
            functions = {}
            for fn in _as_list(desc.get("supportedFunction")):
                if not isinstance(fn, dict) or not isinstance(fn.get("function"), str):
                    raise RemoteProtocolError("supportedFunction without function")
                ops = fn.get("possibleOperations") or {}
                write = ops.get("write") if isinstance(ops, dict) else None
                functions[fn["function"]] = FunctionSpec(
                    function=fn["function"], read="read" in ops, write=write is not None,
                    partial_write=isinstance(write, dict) and "partial" in write)
            self.features[(address.entity, address.feature)] = RemoteFeature(
                address=address, feature_type=str(desc.get("featureType", "")), role=role, functions=functions)
        self.discovered = True
        return changes


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return value
    raise RemoteProtocolError("expected a list")


def _description(raw: Any) -> JsonObject:
    if not isinstance(raw, dict) or not isinstance(raw.get("description"), dict):
        raise RemoteProtocolError("discovery item without description")
    desc: JsonObject = raw["description"]
    return desc
