"""Shared pieces of the use-case actors: wire names, scaled values, peer feature lookup.

Every actor is a plain object bound to a :class:`~bidicharge.protocols.spine.node.SpineNode`
and one local entity. It installs its features, announces its use cases, listens to node
events, and is driven by the component with ``step(now)``; what happened leaves through
``events()`` as frozen dataclasses. No clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Generic, TypeVar

from bidicharge.protocols.ship.eebus_json import JsonObject
from bidicharge.protocols.spine.device import Feature, FeatureRole, RemoteDevice, RemoteFeature
from bidicharge.protocols.spine.model import Address
from bidicharge.protocols.spine.values import float_to_scaled, scaled_to_float

E = TypeVar("E")


class UseCaseName(StrEnum):
    """Wire names (spine-go ``model/usecaseinformation.go``)."""

    LPC = "limitationOfPowerConsumption"
    LPP = "limitationOfPowerProduction"
    MGCP = "monitoringOfGridConnectionPoint"
    EVSECC = "evseCommissioningAndConfiguration"
    EVCC = "evCommissioningAndConfiguration"
    EVCEM = "measurementOfElectricityDuringEvCharging"
    EVSOC = "evStateOfCharge"
    OPEV = "overloadProtectionByEvChargingCurrentCurtailment"
    OSCEV = "optimizationOfSelfConsumptionDuringEvCharging"
    CEVC = "coordinatedEvCharging"
    # Not an EEBUS use case: see usecases/discharge.py (bidicharge extension).
    BIDICHARGE_DISCHARGE = "x-bidicharge-evDischargeSetpoint"


class Actor(StrEnum):
    ENERGY_GUARD = "EnergyGuard"
    CONTROLLABLE_SYSTEM = "ControllableSystem"
    MONITORING_APPLIANCE = "MonitoringAppliance"
    GRID_CONNECTION_POINT = "GridConnectionPoint"
    CEM = "CEM"
    EVSE = "EVSE"
    EV = "EV"
    ENERGY_BROKER = "EnergyBroker"


HEARTBEAT: Final = "deviceDiagnosisHeartbeatData"
LIMIT_LIST: Final = "loadControlLimitListData"
LIMIT_DESCRIPTIONS: Final = "loadControlLimitDescriptionListData"
KEY_VALUES: Final = "deviceConfigurationKeyValueListData"
KEY_VALUE_DESCRIPTIONS: Final = "deviceConfigurationKeyValueDescriptionListData"
CHARACTERISTICS: Final = "electricalConnectionCharacteristicListData"
MEASUREMENTS: Final = "measurementListData"
MEASUREMENT_DESCRIPTIONS: Final = "measurementDescriptionListData"
EC_DESCRIPTIONS: Final = "electricalConnectionDescriptionListData"
EC_PARAMETERS: Final = "electricalConnectionParameterDescriptionListData"
EC_PERMITTED: Final = "electricalConnectionPermittedValueSetListData"
IDENTIFICATIONS: Final = "identificationListData"
MANUFACTURER: Final = "deviceClassificationManufacturerData"
OPERATING_STATE: Final = "deviceDiagnosisStateData"
TIME_SERIES: Final = "timeSeriesListData"
TIME_SERIES_DESCRIPTIONS: Final = "timeSeriesDescriptionListData"
TIME_SERIES_CONSTRAINTS: Final = "timeSeriesConstraintsListData"
INCENTIVE_TABLE: Final = "incentiveTableData"
INCENTIVE_DESCRIPTIONS: Final = "incentiveTableDescriptionData"
INCENTIVE_CONSTRAINTS: Final = "incentiveTableConstraintsData"
SETPOINTS: Final = "setpointListData"
SETPOINT_DESCRIPTIONS: Final = "setpointDescriptionListData"


def scaled(value: float) -> JsonObject:
    return float_to_scaled(value)


def unscaled(value: Any) -> float | None:
    try:
        return scaled_to_float(value)
    except ValueError:
        return None


def obj(value: Any) -> JsonObject:
    """``value`` if it is an object, else an empty one (peers omit or garble optional parts)."""
    return value if isinstance(value, dict) else {}


def next_heartbeat_counter(feature: Feature) -> int:
    """Counters stay monotonic when two actors share one DeviceDiagnosis server."""
    current = feature.data.get(HEARTBEAT, {}).get("heartbeatCounter", 0)
    return (current if isinstance(current, int) else 0) + 1


def items(data: JsonObject | None, name: str) -> list[JsonObject]:
    """The list element ``name`` of a ``…ListData`` object (empty if absent or malformed)."""
    if not data:
        return []
    value = data.get(name, [])
    if isinstance(value, dict):
        return [value]
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def remote_feature(remote: RemoteDevice, entity: tuple[int, ...], feature_type: str,
                   role: FeatureRole = FeatureRole.SERVER) -> RemoteFeature | None:
    for (path, _), feature in sorted(remote.features.items()):
        if path == entity and feature.feature_type == feature_type and feature.role is role:
            return feature
    return None


def remote_data(remote: RemoteDevice, feature: RemoteFeature | None, function: str) -> JsonObject | None:
    if feature is None or feature.address.feature is None:
        return None
    return remote.data.get((feature.address.entity, feature.address.feature, function))


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerEntity:
    """A remote entity an actor works with: which connection, and where."""

    peer: str
    entity: tuple[int, ...]

    def address(self, device: str | None) -> Address:
        return Address(device=device, entity=self.entity)


class EventQueue(Generic[E]):
    """The ``events()`` half of an actor."""

    def __init__(self) -> None:
        self._queue: list[E] = []

    def push(self, event: E) -> None:
        self._queue.append(event)

    def drain(self) -> Iterator[E]:
        while self._queue:
            yield self._queue.pop(0)
