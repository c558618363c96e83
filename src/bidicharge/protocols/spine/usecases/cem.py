"""EV use cases, client side: the CEM (HEMS) following EVSEs and their EVs.

Client of EVSECC, EVCC, EVCEM, EVSOC, OPEV, OSCEV and CEVC (Energy Broker). The CEM subscribes
to the peer's NodeManagement (done by the node), so an EV plugging in arrives as an entity
``EV`` added under the EVSE; the CEM then subscribes to every EV server feature, binds the
writable ones (LoadControl, TimeSeries, IncentiveTable, Setpoint) and reads everything.
What it knows is returned as typed snapshots; writes are partial (see ``docs/eebus.md``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from bidicharge.protocols.ship.eebus_json import JsonObject
from bidicharge.protocols.spine.device import (
    Entity,
    Feature,
    FeatureRole,
    FunctionSpec,
    RemoteDevice,
    RemoteFeature,
)
from bidicharge.protocols.spine.errors import LocalProtocolError
from bidicharge.protocols.spine.node import (
    EntitiesChanged,
    PeerDiscovered,
    PeerLost,
    RemoteDataUpdated,
    ResultReceived,
    SpineEvent,
    SpineNode,
)
from bidicharge.protocols.spine.usecase_info import UseCaseSupport
from bidicharge.protocols.spine.usecases import discharge
from bidicharge.protocols.spine.usecases import ev_layout as L
from bidicharge.protocols.spine.usecases.common import (
    EC_PARAMETERS,
    EC_PERMITTED,
    HEARTBEAT,
    IDENTIFICATIONS,
    INCENTIVE_TABLE,
    KEY_VALUE_DESCRIPTIONS,
    KEY_VALUES,
    LIMIT_DESCRIPTIONS,
    LIMIT_LIST,
    MANUFACTURER,
    MEASUREMENT_DESCRIPTIONS,
    MEASUREMENTS,
    OPERATING_STATE,
    TIME_SERIES,
    TIME_SERIES_DESCRIPTIONS,
    Actor,
    EventQueue,
    UseCaseName,
    items,
    next_heartbeat_counter,
    obj,
    remote_data,
    remote_feature,
    scaled,
    unscaled,
)
from bidicharge.protocols.spine.usecases.evse import EV_USE_CASES, _slots
from bidicharge.protocols.spine.values import format_duration_s

# feature type -> (bind?, functions to read)
EV_FEATURES: Final = {
    "DeviceConfiguration": (False, (KEY_VALUE_DESCRIPTIONS, KEY_VALUES)),
    "Identification": (False, (IDENTIFICATIONS,)),
    "ElectricalConnection": (False, ("electricalConnectionDescriptionListData", EC_PARAMETERS, EC_PERMITTED)),
    "Measurement": (False, (MEASUREMENT_DESCRIPTIONS, MEASUREMENTS)),
    "LoadControl": (True, (LIMIT_DESCRIPTIONS, LIMIT_LIST)),
    "TimeSeries": (True, (TIME_SERIES_DESCRIPTIONS, TIME_SERIES)),
    "IncentiveTable": (True, ("incentiveTableDescriptionData", INCENTIVE_TABLE)),
    "Setpoint": (True, ("setpointDescriptionListData", "setpointListData")),
    "DeviceDiagnosis": (False, ("deviceDiagnosisHeartbeatData",)),
}
EVSE_FEATURES: Final[dict[str, tuple[str, ...]]] = {"DeviceClassification": (MANUFACTURER,),
                                                    "DeviceDiagnosis": (OPERATING_STATE,)}


@dataclass(frozen=True, slots=True, kw_only=True)
class EvSnapshot:
    """Everything the CEM knows about the EV at one EVSE (None: not (yet) reported)."""

    connected: bool
    communication_standard: str | None = None
    asymmetric_charging: bool | None = None
    identifications: tuple[str, ...] = ()
    current_min_A: tuple[float, ...] = ()
    current_max_A: tuple[float, ...] = ()
    power_min_W: float | None = None
    power_max_W: float | None = None
    current_A: tuple[float | None, ...] = ()
    power_W: tuple[float | None, ...] = ()
    charged_energy_Wh: float | None = None
    soc: float | None = None  # 0..1
    demand_Wh: tuple[float, float, float] | None = None  # (min, opt, max)
    plan: tuple[tuple[float, float, float], ...] = ()  # (offset s, duration s, W)
    obligation_A: tuple[float | None, ...] = ()
    recommendation_A: tuple[float | None, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class EvLayout:
    """Ids of one EV's data, in phase order (a, b, c), as its descriptions say."""

    current: tuple[int, ...]  # measurementIds of acCurrent
    power: tuple[int, ...]  # measurementIds of acPower
    energy: int | None  # measurementId of the charged energy
    soc: int | None
    current_parameters: tuple[int, ...]  # ElectricalConnection parameterIds of the phase currents
    power_total_parameter: int | None
    obligation_limits: tuple[int, ...]  # OPEV limitIds
    recommendation_limits: tuple[int, ...]  # OSCEV limitIds


@dataclass(frozen=True, slots=True, kw_only=True)
class EvConnected:
    peer: str
    entity: tuple[int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class EvDisconnected:
    peer: str
    entity: tuple[int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class EvDataUpdated:
    peer: str
    function: str
    now: float


@dataclass(frozen=True, slots=True, kw_only=True)
class EvWriteResult:
    peer: str
    msg_counter: int
    accepted: bool
    error_number: int


CemEvent = EvConnected | EvDisconnected | EvDataUpdated | EvWriteResult


class CemEvClient:
    """The HEMS side of the EV use cases, for every EVSE peer it is connected to."""

    def __init__(self, node: SpineNode, entity: Entity, *, heartbeat_period_s: float = 4.0) -> None:
        self.node = node
        self.entity = entity
        self.clients: dict[str, Feature] = {}
        for feature_type in ("DeviceClassification", *EV_FEATURES):
            self.clients[feature_type] = entity.shared_feature(feature_type, FeatureRole.CLIENT)
        # OPEV/CEVC heartbeat scenario: the CEM serves its heartbeat to the EVSE
        self.heartbeat = entity.shared_feature("DeviceDiagnosis", FeatureRole.SERVER, (FunctionSpec(function=HEARTBEAT),))
        self.heartbeat.data.setdefault(HEARTBEAT, {"heartbeatCounter": 0, "heartbeatTimeout": "PT4S"})
        self.heartbeat_period_s = heartbeat_period_s
        self.heartbeat_enabled = True
        self._heartbeat_counter = 0
        self._next_heartbeat = 0.0
        self.evs: dict[str, tuple[int, ...]] = {}  # peer -> EV entity
        self.evses: dict[str, tuple[int, ...]] = {}
        self._writes: set[int] = set()
        self._queue: EventQueue[CemEvent] = EventQueue()
        for name, version, scenarios in ((UseCaseName.EVSECC, "1.0.1", (1, 2)), *EV_USE_CASES):
            actor = Actor.ENERGY_BROKER if name is UseCaseName.CEVC else Actor.CEM
            node.add_use_case(UseCaseSupport(entity=entity.address, actor=actor.value, name=name.value,
                                             version=version, scenarios=scenarios))
        node.add_listener(self._on_event)

    # --- following the peer's entities ------------------------------------------------

    def _on_event(self, event: SpineEvent) -> None:
        if isinstance(event, PeerLost):
            if self.evs.pop(event.peer, None) is not None:
                self._queue.push(EvDisconnected(peer=event.peer, entity=()))
            self.evses.pop(event.peer, None)
        elif isinstance(event, PeerDiscovered):
            remote = self.node.remote(event.peer)
            for path, entity_type in sorted(remote.entity_types.items()):
                self._entity_added(event.peer, path, entity_type)
        elif isinstance(event, EntitiesChanged):
            remote = self.node.remote(event.peer)
            for path, change in event.changes:
                if change == "added":
                    self._entity_added(event.peer, path, remote.entity_types.get(path, ""))
                elif self.evs.get(event.peer) == path:
                    del self.evs[event.peer]
                    self._queue.push(EvDisconnected(peer=event.peer, entity=path))
        elif isinstance(event, RemoteDataUpdated) and event.peer in self.evs \
                and event.source.entity in (self.evs[event.peer], self.evses.get(event.peer)):
            self._queue.push(EvDataUpdated(peer=event.peer, function=event.function, now=event.now))
        elif isinstance(event, ResultReceived) and event.msg_counter_reference in self._writes:
            self._writes.discard(event.msg_counter_reference)
            self._queue.push(EvWriteResult(peer=event.peer, msg_counter=event.msg_counter_reference,
                                           accepted=event.error_number == 0, error_number=int(event.error_number)))

    def _entity_added(self, peer: str, path: tuple[int, ...], entity_type: str) -> None:
        remote = self.node.remote(peer)
        now = self.node.now
        if entity_type == "EVSE":
            self.evses[peer] = path
            for feature_type, functions in EVSE_FEATURES.items():
                self._follow(peer, remote, path, feature_type, False, functions, now)
        elif entity_type == "EV":
            self.evs[peer] = path
            for feature_type, (bind, functions) in EV_FEATURES.items():
                self._follow(peer, remote, path, feature_type, bind, functions, now)
            self._queue.push(EvConnected(peer=peer, entity=path))

    def _follow(self, peer: str, remote: RemoteDevice, path: tuple[int, ...], feature_type: str, bind: bool,
                functions: tuple[str, ...], now: float) -> None:
        server = remote_feature(remote, path, feature_type)
        local = self.clients.get(feature_type)
        if server is None or local is None:
            return
        self.node.subscribe(peer, local, server, now)
        if bind:
            self.node.bind(peer, local, server, now)
        for function in functions:
            if function in server.functions:
                self.node.read(peer, local, server.address, function, now)

    # --- snapshots -------------------------------------------------------------------

    def _ev_feature(self, peer: str, feature_type: str) -> tuple[RemoteDevice, RemoteFeature | None]:
        remote = self.node.remote(peer)
        path = self.evs.get(peer)
        return remote, (remote_feature(remote, path, feature_type) if path is not None else None)

    def ev(self, peer: str) -> EvSnapshot:
        if peer not in self.evs:
            return EvSnapshot(connected=False)
        remote, dc = self._ev_feature(peer, "DeviceConfiguration")
        names = {d.get("keyId"): d.get("keyName") for d in
                 items(remote_data(remote, dc, KEY_VALUE_DESCRIPTIONS), "deviceConfigurationKeyValueDescriptionData")}
        standard: str | None = None
        asymmetric: bool | None = None
        for kv in items(remote_data(remote, dc, KEY_VALUES), "deviceConfigurationKeyValueData"):
            value = obj(kv.get("value"))
            if names.get(kv.get("keyId")) == L.KEY_COMMUNICATION_STANDARD and isinstance(value.get("string"), str):
                standard = value["string"]
            elif names.get(kv.get("keyId")) == L.KEY_ASYMMETRIC and isinstance(value.get("boolean"), bool):
                asymmetric = value["boolean"]
        _, ident = self._ev_feature(peer, "Identification")
        identifications = tuple(str(i.get("identificationValue")) for i in
                                items(remote_data(remote, ident, IDENTIFICATIONS), "identificationData")
                                if i.get("identificationValue") is not None)
        layout = self._layout(peer)
        _, ec = self._ev_feature(peer, "ElectricalConnection")
        ranges: dict[int, tuple[float | None, float | None]] = {}
        for pv in items(remote_data(remote, ec, EC_PERMITTED), "electricalConnectionPermittedValueSetData"):
            for value_set in items(pv, "permittedValueSet"):
                for rng in items(value_set, "range"):
                    ranges[int(pv.get("parameterId", -1))] = (unscaled(rng.get("min")), unscaled(rng.get("max")))
        cur = [ranges[p] for p in layout.current_parameters if p in ranges]
        power = ranges.get(layout.power_total_parameter, (None, None)) if layout.power_total_parameter else (None, None)
        _, m = self._ev_feature(peer, "Measurement")
        values = {v.get("measurementId"): unscaled(v.get("value"))
                  for v in items(remote_data(remote, m, MEASUREMENTS), "measurementData")}
        soc_pct = values.get(layout.soc) if layout.soc is not None else None
        _, ts = self._ev_feature(peer, "TimeSeries")
        demand: tuple[float, float, float] | None = None
        plan: tuple[tuple[float, float, float], ...] = ()
        for series in items(remote_data(remote, ts, TIME_SERIES), "timeSeriesData"):
            if series.get("timeSeriesId") == L.TS_DEMAND:
                for slot in items(series, "timeSeriesSlot")[:1]:
                    parts = (unscaled(slot.get("minValue")), unscaled(slot.get("value")), unscaled(slot.get("maxValue")))
                    if all(p is not None for p in parts):
                        demand = (float(parts[0] or 0), float(parts[1] or 0), float(parts[2] or 0))
            elif series.get("timeSeriesId") == L.TS_PLAN:
                plan = _slots(series, "value")
        _, lc = self._ev_feature(peer, "LoadControl")
        limits = {i.get("limitId"): i for i in items(remote_data(remote, lc, LIMIT_LIST), "loadControlLimitData")}

        def active(ids: tuple[int, ...]) -> tuple[float | None, ...]:
            return tuple(unscaled(limits[i].get("value")) if limits[i].get("isLimitActive") else None
                         for i in ids if i in limits)

        return EvSnapshot(
            connected=True, communication_standard=standard, asymmetric_charging=asymmetric,
            identifications=identifications,
            current_min_A=tuple(r[0] for r in cur if r[0] is not None),
            current_max_A=tuple(r[1] for r in cur if r[1] is not None),
            power_min_W=power[0], power_max_W=power[1],
            current_A=tuple(values.get(mid) for mid in layout.current),
            power_W=tuple(values.get(mid) for mid in layout.power),
            charged_energy_Wh=values.get(layout.energy) if layout.energy is not None else None,
            soc=None if soc_pct is None else soc_pct / 100, demand_Wh=demand, plan=plan,
            obligation_A=active(layout.obligation_limits), recommendation_A=active(layout.recommendation_limits))

    def _layout(self, peer: str) -> EvLayout:
        """Which ids mean what on this EV, read from its descriptions (devices differ)."""
        remote, m = self._ev_feature(peer, "Measurement")
        _, ec = self._ev_feature(peer, "ElectricalConnection")
        _, lc = self._ev_feature(peer, "LoadControl")
        scopes = {d.get("measurementId"): d.get("scopeType")
                  for d in items(remote_data(remote, m, MEASUREMENT_DESCRIPTIONS), "measurementDescriptionData")}
        params = items(remote_data(remote, ec, EC_PARAMETERS), "electricalConnectionParameterDescriptionData")
        phase_of: dict[Any, str] = {p.get("measurementId"): str(p.get("acMeasuredPhases")) for p in params
                                    if "measurementId" in p}

        def by_phase(ids: list[Any]) -> tuple[int, ...]:
            order: dict[str | None, int] = {phase: i for i, phase in enumerate(L.PHASES)}
            return tuple(sorted((i for i in ids if isinstance(i, int)), key=lambda i: order.get(phase_of.get(i), 9)))

        current = by_phase([mid for mid, scope in scopes.items() if scope == "acCurrent"])
        power = by_phase([mid for mid, scope in scopes.items() if scope == "acPower"])
        param_of = {p.get("measurementId"): p.get("parameterId") for p in params if "measurementId" in p}
        total = next((p.get("parameterId") for p in params if p.get("scopeType") == "acPowerTotal"), None)
        descriptions = items(remote_data(remote, lc, LIMIT_DESCRIPTIONS), "loadControlLimitDescriptionData")

        def limits_of(category: str) -> tuple[int, ...]:
            by_measurement: dict[Any, int] = {d.get("measurementId"): int(d["limitId"]) for d in descriptions
                                              if d.get("limitCategory") == category
                                              and isinstance(d.get("limitId"), int)}
            return tuple(by_measurement[mid] for mid in current if mid in by_measurement)

        return EvLayout(
            current=current, power=power,
            energy=next((mid for mid, scope in scopes.items() if scope == "charge"), None),
            soc=next((mid for mid, scope in scopes.items() if scope == "stateOfCharge"), None),
            current_parameters=tuple(p for p in (param_of.get(mid) for mid in current) if isinstance(p, int)),
            power_total_parameter=total if isinstance(total, int) else None,
            obligation_limits=limits_of("obligation"), recommendation_limits=limits_of("recommendation"))

    def evse_state(self, peer: str) -> tuple[JsonObject | None, JsonObject | None]:
        """EVSECC: (manufacturer data, operating state)."""
        remote = self.node.remote(peer)
        path = self.evses.get(peer)
        if path is None:
            return None, None
        return (remote_data(remote, remote_feature(remote, path, "DeviceClassification"), MANUFACTURER),
                remote_data(remote, remote_feature(remote, path, "DeviceDiagnosis"), OPERATING_STATE))

    # --- writes ----------------------------------------------------------------------

    def _write(self, peer: str, feature_type: str, function: str, data: JsonObject, now: float) -> int:
        remote, server = self._ev_feature(peer, feature_type)
        if server is None:
            raise LocalProtocolError(f"no EV with a {feature_type} server at {peer!r}")
        counter = self.node.write(peer, self.clients[feature_type], server.address, function, data, now, partial=True)
        self._writes.add(counter)
        return counter

    def _write_limits(self, peer: str, ids: tuple[int, ...], current_A: tuple[float | None, ...], now: float) -> int:
        data = [{"limitId": limit_id, "isLimitActive": value is not None,
                 **({"value": scaled(value)} if value is not None else {})}
                for limit_id, value in zip(ids, current_A, strict=False)]
        return self._write(peer, "LoadControl", LIMIT_LIST, {"loadControlLimitData": data}, now)

    def write_current_limits(self, peer: str, current_A: tuple[float | None, ...], now: float) -> int:
        """OPEV: per-phase maximum current the EV must obey (``None`` releases a phase)."""
        return self._write_limits(peer, self._layout(peer).obligation_limits, current_A, now)

    def write_recommendation(self, peer: str, current_A: tuple[float | None, ...], now: float) -> int:
        """OSCEV: per-phase current recommended for self-consumption (not a cap)."""
        return self._write_limits(peer, self._layout(peer).recommendation_limits, current_A, now)

    def write_power_constraints(self, peer: str, slots: list[tuple[float, float]], now: float) -> int:
        """CEVC scenario 2: maximum power per slot, ``(duration s, max W)``."""
        series = {"timeSeriesId": L.TS_CONSTRAINTS, "timePeriod": {"startTime": "PT0S"}, "timeSeriesSlot": [
            {"timeSeriesSlotId": i, "duration": format_duration_s(d), "maxValue": scaled(w)}
            for i, (d, w) in enumerate(slots)]}
        return self._write(peer, "TimeSeries", TIME_SERIES, {"timeSeriesData": [series]}, now)

    def write_incentive_table(self, peer: str, slots: list[tuple[float, list[tuple[float, float]]]],
                              now: float, *, currency: str = "EUR") -> int:
        """CEVC scenario 3: per slot ``(duration s, [(up to W, price per kWh), …])`` (simpleIncentiveTable)."""
        incentive_slots = []
        start_s = 0.0
        for duration, tiers in slots:
            incentive_slots.append({"timeInterval": {"startTime": format_duration_s(start_s),
                                                     "endTime": format_duration_s(start_s + duration)},
                                    "tier": [{"tier": {"tierId": t},
                                              "boundary": [{"boundaryId": 0, "upperBoundaryValue": scaled(limit)}],
                                              "incentive": [{"incentiveId": 0, "value": scaled(price)}]}
                                             for t, (limit, price) in enumerate(tiers)]})
            start_s += duration
        table = {"incentiveTable": [{"tariff": {"tariffId": 0}, "incentiveSlot": incentive_slots}],
                 "currency": currency}
        return self._write(peer, "IncentiveTable", INCENTIVE_TABLE, table, now)

    def write_discharge_setpoint(self, peer: str, power_W: float | None, now: float, *,
                                 duration_s: float | None = None) -> int:
        """bidicharge extension (not EEBUS): ask the EV to discharge ``power_W`` (see discharge.py)."""
        return self._write(peer, "Setpoint", "setpointListData",
                           discharge.setpoint_write(power_W, duration_s=duration_s), now)

    def step(self, now: float) -> None:
        """Send the CEM heartbeat (DeviceDiagnosis notify) while enabled."""
        if self.heartbeat_enabled and now >= self._next_heartbeat:
            self._heartbeat_counter = next_heartbeat_counter(self.heartbeat)
            self.node.set_data(self.heartbeat, HEARTBEAT, {"heartbeatCounter": self._heartbeat_counter,
                                                          "heartbeatTimeout": "PT4S"}, now)
            self._next_heartbeat = now + self.heartbeat_period_s

    def stop_heartbeat(self) -> None:
        self.heartbeat_enabled = False

    def events(self) -> Iterator[CemEvent]:
        return self._queue.drain()
