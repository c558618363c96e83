"""EV use cases, server side: the EVSE (wallbox) and the EV it has plugged in.

Serves, towards the HEMS (I-03): EVSECC 1.0.1 (manufacturer data, failure state), EVCC 1.0.1
(EV connected/disconnected as entity ``[…,1]`` added/removed, communication standard,
asymmetric charging, identification, permitted current/power ranges), EVCEM 1.0.1 (phase
currents and powers, charged energy), EVSOC 1.0.0 (state of charge), OPEV 1.0.1b and OSCEV
1.0.1b (per-phase current limits written by the CEM: obligation and recommendation) and CEVC
1.0.1 (the EV's demand and charge plan as time series; power constraints and incentive table
written by the CEM). The discharge extension lives in :mod:`.discharge`.

Units: currents in A per phase ``(a, b, c)``, powers in W (positive = into the vehicle, the
project's sign convention), energy in Wh, SoC as 0..1 (sent as percent).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from bidicharge.protocols.ship.eebus_json import JsonObject
from bidicharge.protocols.spine.device import Entity, Feature, FeatureRole, FunctionSpec, WriteRequest
from bidicharge.protocols.spine.errors import ErrorNumber, LocalProtocolError
from bidicharge.protocols.spine.node import (
    LocalDataWritten,
    RemoteDataUpdated,
    SpineEvent,
    SpineNode,
    UseCasesReceived,
)
from bidicharge.protocols.spine.usecase_info import UseCaseSupport
from bidicharge.protocols.spine.usecases import discharge
from bidicharge.protocols.spine.usecases import ev_layout as L
from bidicharge.protocols.spine.usecases.common import (
    EC_DESCRIPTIONS,
    EC_PARAMETERS,
    EC_PERMITTED,
    HEARTBEAT,
    IDENTIFICATIONS,
    INCENTIVE_DESCRIPTIONS,
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
    remote_feature,
    scaled,
    unscaled,
)
from bidicharge.protocols.spine.values import format_duration_s, parse_duration_s

CEM_HEARTBEAT_TIMEOUT_S: Final = 120.0  # as LPC; configurable per installation
EV_USE_CASES: Final = (
    (UseCaseName.EVCC, "1.0.1", (1, 2, 3, 4, 5, 6, 7, 8)),
    (UseCaseName.EVCEM, "1.0.1", (1, 2, 3)),
    (UseCaseName.EVSOC, "1.0.0", (1,)),
    (UseCaseName.OPEV, "1.0.1b", (1, 2, 3)),
    (UseCaseName.OSCEV, "1.0.1b", (1, 2, 3)),
    (UseCaseName.CEVC, "1.0.1", (1, 2, 3, 4, 5, 6, 7, 8)),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class EvProfile:
    """What the EVSE learnt from the vehicle (IEC 61851 / ISO 15118) when it was plugged in."""

    communication_standard: str = "iso15118-2ed1"
    asymmetric_charging: bool = False
    identifications: tuple[str, ...] = ()  # EVCCID / MAC as hex
    phases: int = 3
    min_current_A: float = 6.0
    max_current_A: float = 16.0
    min_power_W: float = 0.0
    max_power_W: float = 11_000.0
    soc_supported: bool = True  # EVSOC needs ISO 15118


@dataclass(frozen=True, slots=True, kw_only=True)
class CurrentLimitsChanged:
    """Limits written by the CEM; ``None`` per phase when that limit is not active."""

    obligation_A: tuple[float | None, ...]  # OPEV: must be obeyed
    recommendation_A: tuple[float | None, ...]  # OSCEV: should be followed (self-consumption)
    now: float


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerConstraintsReceived:
    """CEVC: maximum power per slot, ``(start offset s, duration s, max W)``."""

    slots: tuple[tuple[float, float, float], ...]
    now: float


@dataclass(frozen=True, slots=True, kw_only=True)
class IncentiveTableReceived:
    table: JsonObject = field(hash=False)
    now: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CemHeartbeatChanged:
    alive: bool
    now: float


EvseEvent = (CemHeartbeatChanged | CurrentLimitsChanged | PowerConstraintsReceived | IncentiveTableReceived
             | discharge.DischargeSetpointChanged)


class EvseServer:
    """An EVSE entity, the EV sub-entity while plugged in, and every EV use-case server."""

    def __init__(self, node: SpineNode, entity: Entity, *, brand: str = "bidicharge", model: str = "wallbox",
                 serial: str = "0001", max_discharge_W: float | None = None,
                 cem_heartbeat_timeout_s: float = CEM_HEARTBEAT_TIMEOUT_S) -> None:
        self.node = node
        self.cem_heartbeat_timeout_s = cem_heartbeat_timeout_s
        self._cems: set[tuple[str, tuple[int, ...]]] = set()  # (peer, entity) of CEMs using OPEV/OSCEV/CEVC
        self._cem_heartbeat_at: float | None = None
        self.cem_alive = False
        self.max_discharge_W = max_discharge_W  # set: offer the bidicharge discharge extension
        self.ev_setpoint: Feature | None = None
        self.entity = entity
        self.ev: Entity | None = None
        self.profile: EvProfile | None = None
        self._queue: EventQueue[EvseEvent] = EventQueue()
        self.classification = entity.add_feature("DeviceClassification", FeatureRole.SERVER,
                                                 (FunctionSpec(function=MANUFACTURER),))
        self.diagnosis = entity.shared_feature("DeviceDiagnosis", FeatureRole.SERVER,
                                            (FunctionSpec(function=OPERATING_STATE),))
        self.classification.data[MANUFACTURER] = {"deviceName": model, "brandName": brand, "vendorName": brand,
                                                  "serialNumber": serial}
        self.diagnosis.data[OPERATING_STATE] = {"operatingState": "normalOperation"}
        self.diagnosis_client = entity.shared_feature("DeviceDiagnosis", FeatureRole.CLIENT)
        node.add_use_case(UseCaseSupport(entity=entity.address, actor=Actor.EVSE.value,
                                         name=UseCaseName.EVSECC.value, version="1.0.1", scenarios=(1, 2)))
        node.add_listener(self._on_event)

    # --- EVSECC ----------------------------------------------------------------------

    def set_failure(self, error: str | None, now: float) -> None:
        state: JsonObject = {"operatingState": "failure", "lastErrorCode": error} if error else \
            {"operatingState": "normalOperation"}
        self.node.set_data(self.diagnosis, OPERATING_STATE, state, now)

    # --- EVCC: plug in / out -----------------------------------------------------------

    def plug_in(self, profile: EvProfile, now: float) -> Entity:
        if self.ev is not None:
            raise LocalProtocolError("an EV is already plugged in")
        ev = self.node.device.add_entity("EV", parent=self.entity)
        self.ev, self.profile = ev, profile
        self._install_ev(ev, profile)
        for name, version, scenarios in EV_USE_CASES:
            if name is UseCaseName.EVSOC and not profile.soc_supported:
                continue
            self.node.add_use_case(UseCaseSupport(entity=ev.address, actor=Actor.EV.value, name=name.value,
                                                  version=version, scenarios=scenarios))
        self.node.entity_changed(self.node.device.entity_change_json(ev, "added"), now)
        self.node.use_cases_changed(now)
        return ev

    def unplug(self, now: float) -> None:
        if self.ev is None:
            return
        ev, self.ev, self.profile = self.ev, None, None
        self.node.use_cases = [u for u in self.node.use_cases if u.entity.entity != ev.address.entity]
        self.node.subscriptions = {s for s in self.node.subscriptions if s[2].entity != ev.address.entity}
        self.node.bindings = {b for b in self.node.bindings if b[2].entity != ev.address.entity}
        self.node.device.remove_entity(ev)
        self.node.entity_changed(self.node.device.entity_change_json(ev, "removed"), now)
        self.node.use_cases_changed(now)

    def _install_ev(self, ev: Entity, p: EvProfile) -> None:
        self.ev_configuration = ev.add_feature("DeviceConfiguration", FeatureRole.SERVER, (
            FunctionSpec(function=KEY_VALUE_DESCRIPTIONS), FunctionSpec(function=KEY_VALUES)))
        self.ev_identification = ev.add_feature("Identification", FeatureRole.SERVER,
                                                (FunctionSpec(function=IDENTIFICATIONS),))
        self.ev_electrical = ev.add_feature("ElectricalConnection", FeatureRole.SERVER, (
            FunctionSpec(function=EC_DESCRIPTIONS), FunctionSpec(function=EC_PARAMETERS),
            FunctionSpec(function=EC_PERMITTED)))
        self.ev_measurement = ev.add_feature("Measurement", FeatureRole.SERVER, (
            FunctionSpec(function=MEASUREMENT_DESCRIPTIONS), FunctionSpec(function=MEASUREMENTS)))
        self.ev_load_control = ev.add_feature("LoadControl", FeatureRole.SERVER, (
            FunctionSpec(function=LIMIT_DESCRIPTIONS), FunctionSpec(function=LIMIT_LIST, write=True, partial_write=True)))
        self.ev_time_series = ev.add_feature("TimeSeries", FeatureRole.SERVER, (
            FunctionSpec(function=TIME_SERIES_DESCRIPTIONS),
            FunctionSpec(function=TIME_SERIES, write=True, partial_write=True)))
        self.ev_incentives = ev.add_feature("IncentiveTable", FeatureRole.SERVER, (
            FunctionSpec(function=INCENTIVE_DESCRIPTIONS, write=True, partial_write=True),
            FunctionSpec(function=INCENTIVE_TABLE, write=True, partial_write=True)))
        self.ev_configuration.data[KEY_VALUE_DESCRIPTIONS] = {"deviceConfigurationKeyValueDescriptionData": [
            {"keyId": 1, "keyName": L.KEY_COMMUNICATION_STANDARD, "valueType": "string"},
            {"keyId": 2, "keyName": L.KEY_ASYMMETRIC, "valueType": "boolean"}]}
        self.ev_configuration.data[KEY_VALUES] = {"deviceConfigurationKeyValueData": [
            {"keyId": 1, "value": {"string": p.communication_standard}, "isValueChangeable": False},
            {"keyId": 2, "value": {"boolean": p.asymmetric_charging}, "isValueChangeable": False}]}
        self.ev_identification.data[IDENTIFICATIONS] = {"identificationData": [
            {"identificationId": i, "identificationType": "eui48" if len(v) == 12 else "eui64", "identificationValue": v}
            for i, v in enumerate(p.identifications)]}
        phases = L.PHASES[:p.phases]
        self.ev_electrical.data[EC_DESCRIPTIONS] = {"electricalConnectionDescriptionData": [
            {"electricalConnectionId": 0, "powerSupplyType": "ac", "acConnectedPhases": p.phases,
             "positiveEnergyDirection": "consume"}]}
        params: list[JsonObject] = []
        for i, phase in enumerate(phases):
            params.append({"electricalConnectionId": 0, "parameterId": L.CURRENT_PARAMETERS[i],
                           "measurementId": L.CURRENT_PARAMETERS[i], "voltageType": "ac",
                           "acMeasuredPhases": phase, "acMeasuredInReferenceTo": "neutral",
                           "acMeasurementType": "real", "acMeasurementVariant": "rms"})
            params.append({"electricalConnectionId": 0, "parameterId": L.POWER_PARAMETERS[i],
                           "measurementId": L.POWER_PARAMETERS[i], "voltageType": "ac", "acMeasuredPhases": phase,
                           "acMeasuredInReferenceTo": "neutral", "acMeasurementType": "real"})
        params.append({"electricalConnectionId": 0, "parameterId": L.ENERGY_MEASUREMENT,
                       "measurementId": L.ENERGY_MEASUREMENT, "voltageType": "ac", "acMeasurementType": "real"})
        params.append({"electricalConnectionId": 0, "parameterId": L.POWER_TOTAL_PARAMETER, "voltageType": "ac",
                       "acMeasuredPhases": "abc"[:p.phases], "scopeType": "acPowerTotal"})
        self.ev_electrical.data[EC_PARAMETERS] = {"electricalConnectionParameterDescriptionData": params}
        permitted: list[JsonObject] = [
            {"electricalConnectionId": 0, "parameterId": L.CURRENT_PARAMETERS[i], "permittedValueSet": [
                {"range": [{"min": scaled(p.min_current_A), "max": scaled(p.max_current_A)}]}]}
            for i in range(p.phases)]
        permitted.append({"electricalConnectionId": 0, "parameterId": L.POWER_TOTAL_PARAMETER, "permittedValueSet": [
            {"range": [{"min": scaled(p.min_power_W), "max": scaled(p.max_power_W)}]}]})
        self.ev_electrical.data[EC_PERMITTED] = {"electricalConnectionPermittedValueSetData": permitted}
        descriptions: list[JsonObject] = []
        for i in range(p.phases):
            descriptions.append({"measurementId": L.CURRENT_PARAMETERS[i], "measurementType": "current",
                                 "commodityType": "electricity", "unit": "A", "scopeType": "acCurrent"})
            descriptions.append({"measurementId": L.POWER_PARAMETERS[i], "measurementType": "power",
                                 "commodityType": "electricity", "unit": "W", "scopeType": "acPower"})
        descriptions.append({"measurementId": L.ENERGY_MEASUREMENT, "measurementType": "energy",
                             "commodityType": "electricity", "unit": "Wh", "scopeType": "charge"})
        if p.soc_supported:
            descriptions.append({"measurementId": L.SOC_MEASUREMENT, "measurementType": "percentage",
                                 "commodityType": "electricity", "unit": "pct", "scopeType": "stateOfCharge"})
        self.ev_measurement.data[MEASUREMENT_DESCRIPTIONS] = {"measurementDescriptionData": descriptions}
        self.ev_measurement.data[MEASUREMENTS] = {"measurementData": []}
        limit_descriptions: list[JsonObject] = []
        limits: list[JsonObject] = []
        for ids, category, scope in ((L.OPEV_LIMITS, "obligation", "overloadProtection"),
                                     (L.OSCEV_LIMITS, "recommendation", "selfConsumption")):
            for i in range(p.phases):
                limit_descriptions.append({"limitId": ids[i], "limitType": "maxValueLimit", "limitCategory": category,
                                           "measurementId": L.CURRENT_PARAMETERS[i], "unit": "A", "scopeType": scope})
                limits.append({"limitId": ids[i], "isLimitChangeable": True, "isLimitActive": False,
                               "value": scaled(p.max_current_A)})
        self.ev_load_control.data[LIMIT_DESCRIPTIONS] = {"loadControlLimitDescriptionData": limit_descriptions}
        self.ev_load_control.data[LIMIT_LIST] = {"loadControlLimitData": limits}
        self.ev_time_series.data[TIME_SERIES_DESCRIPTIONS] = {"timeSeriesDescriptionData": [
            {"timeSeriesId": L.TS_PLAN, "timeSeriesType": "plan", "timeSeriesWriteable": False,
             "updateRequired": False, "unit": "W"},
            {"timeSeriesId": L.TS_DEMAND, "timeSeriesType": "singleDemand", "timeSeriesWriteable": False,
             "unit": "Wh"},
            {"timeSeriesId": L.TS_CONSTRAINTS, "timeSeriesType": "constraints", "timeSeriesWriteable": True,
             "updateRequired": True, "unit": "W"}]}
        self.ev_time_series.data[TIME_SERIES] = {"timeSeriesData": []}
        self.ev_incentives.data[INCENTIVE_DESCRIPTIONS] = {"incentiveTableDescription": []}
        self.ev_incentives.data[INCENTIVE_TABLE] = {"incentiveTable": []}
        self.ev_setpoint = (None if self.max_discharge_W is None else
                            discharge.install_server(self.node, ev, max_discharge_W=self.max_discharge_W))
        self.ev_load_control.write_guards[LIMIT_LIST] = self._guard_limits
        self.ev_time_series.write_guards[TIME_SERIES] = self._guard_time_series

    # --- guards ----------------------------------------------------------------------

    def _guard_limits(self, request: WriteRequest) -> ErrorNumber:
        known = L.OPEV_LIMITS + L.OSCEV_LIMITS
        for item in items(request.new_data, "loadControlLimitData"):
            value = unscaled(item.get("value"))
            if item.get("limitId") not in known or value is None or value < 0:
                return ErrorNumber.COMMAND_REJECTED
        return ErrorNumber.NO_ERROR

    def _guard_time_series(self, request: WriteRequest) -> ErrorNumber:
        for series in items(request.incoming, "timeSeriesData"):
            if series.get("timeSeriesId") != L.TS_CONSTRAINTS:
                return ErrorNumber.COMMAND_REJECTED  # plan and demand belong to the EV
        return ErrorNumber.NO_ERROR

    # --- node events -----------------------------------------------------------------

    def _on_event(self, event: SpineEvent) -> None:
        if isinstance(event, UseCasesReceived):
            self._follow_cem(event)
            return
        if isinstance(event, RemoteDataUpdated) and event.function == HEARTBEAT \
                and (event.peer, event.source.entity) in self._cems:
            self._cem_heartbeat_at = event.now
            if not self.cem_alive:
                self.cem_alive = True
                self._queue.push(CemHeartbeatChanged(alive=True, now=event.now))
            return
        if not isinstance(event, LocalDataWritten) or self.ev is None:
            return
        if event.feature == self.ev_load_control.address:
            self._queue.push(CurrentLimitsChanged(obligation_A=self._limits(L.OPEV_LIMITS),
                                                  recommendation_A=self._limits(L.OSCEV_LIMITS), now=event.now))
        elif event.feature == self.ev_time_series.address:
            self._queue.push(PowerConstraintsReceived(slots=self.power_constraints(), now=event.now))
        elif event.feature == self.ev_incentives.address and event.function == INCENTIVE_TABLE:
            self._queue.push(IncentiveTableReceived(table=event.data, now=event.now))
        elif self.ev_setpoint is not None and event.feature == self.ev_setpoint.address:
            self._queue.push(discharge.DischargeSetpointChanged(discharge_power_W=self.discharge_setpoint_W(),
                                                                now=event.now))

    def discharge_setpoint_W(self) -> float | None:
        """The extension's requested discharge power (W out of the battery), if any."""
        return None if self.ev is None or self.ev_setpoint is None else discharge.setpoint_W(self.ev_setpoint)

    def _follow_cem(self, event: UseCasesReceived) -> None:
        """OPEV/CEVC heartbeat scenario: watch the CEM's DeviceDiagnosis heartbeat."""
        remote = self.node.remote(event.peer)
        for uc in event.use_cases:
            if uc.actor in (Actor.CEM.value, Actor.ENERGY_BROKER.value) and uc.name in (
                    UseCaseName.OPEV.value, UseCaseName.OSCEV.value, UseCaseName.CEVC.value):
                key = (event.peer, uc.entity.entity)
                heartbeat = remote_feature(remote, uc.entity.entity, "DeviceDiagnosis")
                if key in self._cems or heartbeat is None or HEARTBEAT not in heartbeat.functions:
                    continue
                self._cems.add(key)
                self.node.subscribe(event.peer, self.diagnosis_client, heartbeat, self.node.now)
                self.node.read(event.peer, self.diagnosis_client, heartbeat.address, HEARTBEAT, self.node.now)

    def step(self, now: float) -> None:
        """Heartbeat watchdog: without the CEM's heartbeat, recommendations (OSCEV) lapse.

        Our behaviour (the OPEV/OSCEV documents are not public): obligations (OPEV) stay in
        force — releasing a protection limit because the protector went silent is unsafe —
        while self-consumption recommendations are withdrawn, since nobody is optimising.
        """
        if not self.cem_alive or self._cem_heartbeat_at is None:
            return
        if now - self._cem_heartbeat_at <= self.cem_heartbeat_timeout_s:
            return
        self.cem_alive = False
        self._queue.push(CemHeartbeatChanged(alive=False, now=now))
        if self.ev is not None and any(v is not None for v in self._limits(L.OSCEV_LIMITS)):
            self.node.update_data(self.ev_load_control, LIMIT_LIST, {"loadControlLimitData": [
                {"limitId": i, "isLimitActive": False} for i in L.OSCEV_LIMITS[:self.profile.phases if self.profile
                                                                               else 3]]}, now)
            self._queue.push(CurrentLimitsChanged(obligation_A=self._limits(L.OPEV_LIMITS),
                                                  recommendation_A=self._limits(L.OSCEV_LIMITS), now=now))

    def _limits(self, ids: tuple[int, ...]) -> tuple[float | None, ...]:
        by_id = {item.get("limitId"): item for item in items(self.ev_load_control.data.get(LIMIT_LIST),
                                                              "loadControlLimitData")}
        out: list[float | None] = []
        for limit_id in ids[:self.profile.phases if self.profile else 3]:
            item = by_id.get(limit_id, {})
            out.append(unscaled(item.get("value")) if item.get("isLimitActive") else None)
        return tuple(out)

    # --- what the component reads and publishes ----------------------------------------

    def current_limits_A(self) -> tuple[tuple[float | None, ...], tuple[float | None, ...]]:
        """(obligation, recommendation) per phase; ``None`` where no limit is active."""
        if self.ev is None:
            return (), ()
        return self._limits(L.OPEV_LIMITS), self._limits(L.OSCEV_LIMITS)

    def power_constraints(self) -> tuple[tuple[float, float, float], ...]:
        if self.ev is None:
            return ()
        for series in items(self.ev_time_series.data.get(TIME_SERIES), "timeSeriesData"):
            if series.get("timeSeriesId") == L.TS_CONSTRAINTS:
                return _slots(series, "maxValue")
        return ()

    def update_measurements(self, now: float, *, current_A: tuple[float, ...], power_W: tuple[float, ...],
                            charged_energy_Wh: float, soc: float | None = None) -> None:
        """EVCEM/EVSOC values from the power stage and the vehicle; notified to subscribers."""
        if self.ev is None:
            raise LocalProtocolError("no EV plugged in")
        data: list[JsonObject] = []
        for i, value in enumerate(current_A):
            data.append({"measurementId": L.CURRENT_PARAMETERS[i], "valueType": "value", "value": scaled(value),
                         "valueSource": "measuredValue"})
        for i, value in enumerate(power_W):
            data.append({"measurementId": L.POWER_PARAMETERS[i], "valueType": "value", "value": scaled(value),
                         "valueSource": "measuredValue"})
        data.append({"measurementId": L.ENERGY_MEASUREMENT, "valueType": "value", "value": scaled(charged_energy_Wh),
                     "valueSource": "measuredValue"})
        if soc is not None and self.profile is not None and self.profile.soc_supported:
            data.append({"measurementId": L.SOC_MEASUREMENT, "valueType": "value", "value": scaled(soc * 100),
                         "valueSource": "measuredValue"})
        self.node.set_data(self.ev_measurement, MEASUREMENTS, {"measurementData": data}, now)

    def set_energy_demand(self, now: float, *, min_Wh: float, opt_Wh: float, max_Wh: float,
                          duration_s: float | None = None) -> None:
        """CEVC scenario 1: the EV's energy demand (singleDemand) until departure."""
        slot: JsonObject = {"timeSeriesSlotId": 0}
        if duration_s is not None:
            slot["duration"] = format_duration_s(duration_s)
        slot.update({"value": scaled(opt_Wh), "minValue": scaled(min_Wh), "maxValue": scaled(max_Wh)})
        self.node.update_data(self.ev_time_series, TIME_SERIES, {"timeSeriesData": [
            {"timeSeriesId": L.TS_DEMAND, "timePeriod": {"startTime": "PT0S"}, "timeSeriesSlot": [slot]}]}, now)

    def set_charge_plan(self, now: float, slots: list[tuple[float, float]]) -> None:
        """CEVC scenario 4: the EV's plan, ``(duration s, power W)`` per slot."""
        self.node.update_data(self.ev_time_series, TIME_SERIES, {"timeSeriesData": [
            {"timeSeriesId": L.TS_PLAN, "timePeriod": {"startTime": "PT0S"}, "timeSeriesSlot": [
                {"timeSeriesSlotId": i, "duration": format_duration_s(d), "value": scaled(w)}
                for i, (d, w) in enumerate(slots)]}]}, now)

    def feature(self, feature_type: str) -> Feature:
        if self.ev is None:
            raise LocalProtocolError("no EV plugged in")
        return self.node.device.feature(self.ev, feature_type, FeatureRole.SERVER)

    def events(self) -> Iterator[EvseEvent]:
        return self._queue.drain()


def _slots(series: JsonObject, value_key: str) -> tuple[tuple[float, float, float], ...]:
    out: list[tuple[float, float, float]] = []
    offset = 0.0
    for slot in items(series, "timeSeriesSlot"):
        duration = slot.get("duration")
        seconds = parse_duration_s(duration) if isinstance(duration, str) else 0.0
        value = unscaled(slot.get(value_key)) if value_key in slot else unscaled(slot.get("value"))
        if value is not None:
            out.append((offset, seconds, value))
        offset += seconds
    return tuple(out)
