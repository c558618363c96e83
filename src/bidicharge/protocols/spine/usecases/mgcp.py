"""MGCP: Monitoring of Grid Connection Point 1.0.0, both actors.

The Grid Connection Point (SMGW, control box or meter; entity ``GridConnectionPointOfPremises``)
serves Measurement data; the Monitoring Appliance (HEMS) subscribes and reads. Scenarios:
1 PV curtailment limit factor (DeviceConfiguration ``pvCurtailmentLimitFactor``, %),
2 momentary power (``acPowerTotal``), 3 feed-in energy (``gridFeedIn``), 4 consumed energy
(``gridConsumption``), 5 phase currents (``acCurrent``), 6 phase voltages (``acVoltage``),
7 frequency (``acFrequency``).

Sign convention (ElectricalConnection ``positiveEnergyDirection: consume``, as the MGCP use case
prescribes): ``power_W`` and the phase currents are positive when the premises *import* from
the grid and negative when they feed in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from bidicharge.protocols.ship.eebus_json import JsonObject
from bidicharge.protocols.spine.device import Entity, FeatureRole, FunctionSpec
from bidicharge.protocols.spine.node import (
    PeerLost,
    RemoteDataUpdated,
    SpineEvent,
    SpineNode,
    UseCasesReceived,
)
from bidicharge.protocols.spine.usecase_info import UseCaseSupport
from bidicharge.protocols.spine.usecases.common import (
    EC_DESCRIPTIONS,
    EC_PARAMETERS,
    KEY_VALUE_DESCRIPTIONS,
    KEY_VALUES,
    MEASUREMENT_DESCRIPTIONS,
    MEASUREMENTS,
    Actor,
    EventQueue,
    UseCaseName,
    items,
    obj,
    remote_data,
    remote_feature,
    scaled,
    unscaled,
)

MGCP_VERSION: Final = "1.0.0"
PHASES: Final = ("a", "b", "c")
# measurementId -> (type, unit, scope, phase)
MEASUREMENT_LAYOUT: Final = (
    (0, "power", "W", "acPowerTotal", "abc"),
    (1, "energy", "Wh", "gridFeedIn", None),
    (2, "energy", "Wh", "gridConsumption", None),
    (3, "current", "A", "acCurrent", "a"), (4, "current", "A", "acCurrent", "b"),
    (5, "current", "A", "acCurrent", "c"),
    (6, "voltage", "V", "acVoltage", "a"), (7, "voltage", "V", "acVoltage", "b"),
    (8, "voltage", "V", "acVoltage", "c"),
    (9, "frequency", "Hz", "acFrequency", None),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class GridReading:
    power_W: float | None = None  # + import, - feed-in
    feed_in_energy_Wh: float | None = None
    consumed_energy_Wh: float | None = None
    current_A: tuple[float | None, float | None, float | None] = (None, None, None)
    voltage_V: tuple[float | None, float | None, float | None] = (None, None, None)
    frequency_Hz: float | None = None
    pv_curtailment_limit_factor_pct: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GridReadingUpdated:
    peer: str
    reading: GridReading
    now: float


class GridConnectionPoint:
    """The MGCP server side (meter side, I-47)."""

    def __init__(self, node: SpineNode, entity: Entity, *, pv_curtailment_limit_factor_pct: float | None = None) -> None:
        self.node = node
        self.measurement = entity.add_feature("Measurement", FeatureRole.SERVER, (
            FunctionSpec(function=MEASUREMENT_DESCRIPTIONS), FunctionSpec(function=MEASUREMENTS)))
        self.electrical = entity.add_feature("ElectricalConnection", FeatureRole.SERVER, (
            FunctionSpec(function=EC_DESCRIPTIONS), FunctionSpec(function=EC_PARAMETERS)))
        self.configuration = entity.add_feature("DeviceConfiguration", FeatureRole.SERVER, (
            FunctionSpec(function=KEY_VALUE_DESCRIPTIONS), FunctionSpec(function=KEY_VALUES)))
        self.measurement.data[MEASUREMENT_DESCRIPTIONS] = {"measurementDescriptionData": [
            {"measurementId": mid, "measurementType": kind, "commodityType": "electricity", "unit": unit,
             "scopeType": scope} for mid, kind, unit, scope, _ in MEASUREMENT_LAYOUT]}
        self.measurement.data[MEASUREMENTS] = {"measurementData": []}
        self.electrical.data[EC_DESCRIPTIONS] = {"electricalConnectionDescriptionData": [
            {"electricalConnectionId": 0, "powerSupplyType": "ac", "acConnectedPhases": 3,
             "positiveEnergyDirection": "consume"}]}
        self.electrical.data[EC_PARAMETERS] = {"electricalConnectionParameterDescriptionData": [
            {"electricalConnectionId": 0, "parameterId": mid, "measurementId": mid,
             **({"acMeasuredPhases": phase} if phase else {})} for mid, _, _, _, phase in MEASUREMENT_LAYOUT]}
        self.configuration.data[KEY_VALUE_DESCRIPTIONS] = {"deviceConfigurationKeyValueDescriptionData": [
            {"keyId": 0, "keyName": "pvCurtailmentLimitFactor", "valueType": "scaledNumber", "unit": "pct"}]}
        self.configuration.data[KEY_VALUES] = {"deviceConfigurationKeyValueData": (
            [] if pv_curtailment_limit_factor_pct is None else
            [{"keyId": 0, "value": {"scaledNumber": scaled(pv_curtailment_limit_factor_pct)}}])}
        node.add_use_case(UseCaseSupport(entity=entity.address, actor=Actor.GRID_CONNECTION_POINT.value,
                                         name=UseCaseName.MGCP.value, version=MGCP_VERSION,
                                         scenarios=(1, 2, 3, 4, 5, 6, 7)))

    def publish(self, reading: GridReading, now: float) -> None:
        """New meter values: replace the measurement list and notify subscribers."""
        values: dict[int, float | None] = {0: reading.power_W, 1: reading.feed_in_energy_Wh,
                                           2: reading.consumed_energy_Wh, 9: reading.frequency_Hz}
        for i in range(3):
            values[3 + i] = reading.current_A[i]
            values[6 + i] = reading.voltage_V[i]
        data: list[JsonObject] = [{"measurementId": mid, "valueType": "value", "value": scaled(value),
                                   "valueSource": "measuredValue"}
                                  for mid, value in sorted(values.items()) if value is not None]
        self.node.set_data(self.measurement, MEASUREMENTS, {"measurementData": data}, now)


class MonitoringAppliance:
    """The MGCP client side (HEMS): follows every Grid Connection Point it discovers."""

    def __init__(self, node: SpineNode, entity: Entity) -> None:
        self.node = node
        self.measurement = entity.shared_feature("Measurement", FeatureRole.CLIENT)
        self.electrical = entity.shared_feature("ElectricalConnection", FeatureRole.CLIENT)
        self.configuration = entity.shared_feature("DeviceConfiguration", FeatureRole.CLIENT)
        self.points: dict[str, tuple[int, ...]] = {}
        self._queue: EventQueue[GridReadingUpdated] = EventQueue()
        node.add_use_case(UseCaseSupport(entity=entity.address, actor=Actor.MONITORING_APPLIANCE.value,
                                         name=UseCaseName.MGCP.value, version=MGCP_VERSION,
                                         scenarios=(1, 2, 3, 4, 5, 6, 7)))
        node.add_listener(self._on_event)

    def _on_event(self, event: SpineEvent) -> None:
        if isinstance(event, PeerLost):
            self.points.pop(event.peer, None)
        elif isinstance(event, UseCasesReceived):
            for uc in event.use_cases:
                if uc.name == UseCaseName.MGCP.value and uc.actor == Actor.GRID_CONNECTION_POINT.value:
                    self._attach(event.peer, uc.entity.entity)
        elif isinstance(event, RemoteDataUpdated) and event.peer in self.points \
                and event.source.entity == self.points[event.peer] \
                and event.function in (MEASUREMENTS, KEY_VALUES, MEASUREMENT_DESCRIPTIONS):
            self._queue.push(GridReadingUpdated(peer=event.peer, reading=self.reading(event.peer), now=event.now))

    def _attach(self, peer: str, entity: tuple[int, ...]) -> None:
        remote = self.node.remote(peer)
        self.points[peer] = entity
        for local, feature_type, functions in (
                (self.measurement, "Measurement", (MEASUREMENT_DESCRIPTIONS, MEASUREMENTS)),
                (self.electrical, "ElectricalConnection", (EC_DESCRIPTIONS, EC_PARAMETERS)),
                (self.configuration, "DeviceConfiguration", (KEY_VALUE_DESCRIPTIONS, KEY_VALUES))):
            server = remote_feature(remote, entity, feature_type)
            if server is None:
                continue
            self.node.subscribe(peer, local, server, self.node.now)
            for function in functions:
                self.node.read(peer, local, server.address, function, self.node.now)

    def reading(self, peer: str) -> GridReading:
        remote = self.node.remote(peer)
        entity = self.points[peer]
        m = remote_feature(remote, entity, "Measurement")
        ec = remote_feature(remote, entity, "ElectricalConnection")
        dc = remote_feature(remote, entity, "DeviceConfiguration")
        scopes = {d.get("measurementId"): d.get("scopeType")
                  for d in items(remote_data(remote, m, MEASUREMENT_DESCRIPTIONS), "measurementDescriptionData")}
        phases = {p.get("measurementId"): p.get("acMeasuredPhases")
                  for p in items(remote_data(remote, ec, EC_PARAMETERS), "electricalConnectionParameterDescriptionData")}
        single: dict[str, float | None] = {}
        current: list[float | None] = [None, None, None]
        voltage: list[float | None] = [None, None, None]
        for value in items(remote_data(remote, m, MEASUREMENTS), "measurementData"):
            mid = value.get("measurementId")
            number = unscaled(value.get("value"))
            scope = scopes.get(mid)
            phase = phases.get(mid)
            if scope in ("acCurrent", "acVoltage") and phase in PHASES:
                (current if scope == "acCurrent" else voltage)[PHASES.index(phase)] = number
            elif isinstance(scope, str):
                single[scope] = number
        factor = None
        names = {d.get("keyId"): d.get("keyName") for d in
                 items(remote_data(remote, dc, KEY_VALUE_DESCRIPTIONS), "deviceConfigurationKeyValueDescriptionData")}
        for kv in items(remote_data(remote, dc, KEY_VALUES), "deviceConfigurationKeyValueData"):
            if names.get(kv.get("keyId")) == "pvCurtailmentLimitFactor":
                factor = unscaled(obj(kv.get("value")).get("scaledNumber"))
        return GridReading(power_W=single.get("acPowerTotal"), feed_in_energy_Wh=single.get("gridFeedIn"),
                           consumed_energy_Wh=single.get("gridConsumption"),
                           current_A=(current[0], current[1], current[2]),
                           voltage_V=(voltage[0], voltage[1], voltage[2]),
                           frequency_Hz=single.get("acFrequency"), pv_curtailment_limit_factor_pct=factor)

    def events(self) -> Iterator[GridReadingUpdated]:
        return self._queue.drain()
