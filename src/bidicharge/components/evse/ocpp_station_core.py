"""The charging station's OCPP 2.0.1 / 2.1 behaviour without I/O: shared by the asyncio engine
(:mod:`.ocpp_station`, live mode over WebSocket) and the study wrapper (:mod:`.ocpp`, frames in
memory over the runtime link).

It holds the station's EVSEs (connector status, running transaction, seqNo, energy registers,
charging profiles), builds the requests the station sends (B01 BootNotification, G01
StatusNotification, E01–E07 TransactionEvent with ``Energy.Active.Import.Register`` and
``Energy.Active.Export.Register`` kept apart, K15 NotifyEVChargingNeeds, K17
NotifyEVChargingSchedule) and answers what the CSMS asks that needs no I/O: smart charging (K01
SetChargingProfile, K10 ClearChargingProfile, K08 GetCompositeSchedule) with the OCPP 2.1 V2X
fields (``operationMode``, ``setpoint`` — negative = discharge —, ``dischargeLimit``, per-phase
``_L2``/``_L3``, ``v2xBaseline``, ``v2xFreqWattCurve``, ``v2xSignalWattCurve``; what each mode
does to the power stage is :mod:`.ocpp_v2x`), 2.1 UpdateDynamicSchedule (new setpoint/limits for
a ``Dynamic`` profile) and AFRRSignal (the aFRR signal for ``CentralFrequency``), the device model (B06 GetVariables / B05 SetVariables) and B11/B12 Reset.

The limits in force are handed to ``power_stage(evse_id, limits)`` whenever they change, also
when a schedule's next period begins (``refresh()``). Time comes from the injected ``now()``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bidicharge.protocols.ocppj import OcppVersion, Router, v2_0_1, v2_1

from .ocpp_v2x import AppliedLimits, curve_from

__all__ = ["AppliedLimits", "StationCore", "StationEvse", "messages_of"]


@dataclass
class StationEvse:
    evse_id: int
    connector_status: str = "Available"
    transaction_id: str | None = None
    seq_no: int = 0
    id_token: str | None = None
    id_token_type: str = "ISO14443"  # MacAddress: the EVCCID of ISO 15118-20; Central: given by the operator
    import_Wh: float = 0.0
    export_Wh: float = 0.0
    profiles: dict[int, Any] = field(default_factory=dict)  # profile id -> ChargingProfileType
    # UpdateDynamicSchedule (2.1, Q03/Q06): profile id -> the latest ChargingScheduleUpdateType
    dynamic_updates: dict[int, Any] = field(default_factory=dict)
    applied: AppliedLimits = field(default_factory=AppliedLimits)


def messages_of(version: OcppVersion) -> Any:
    """The generated message module of a version."""
    return v2_1 if version is OcppVersion.V2_1 else v2_0_1


# K01: which purpose wins when several profiles cover the same time (higher wins)
PURPOSE_RANK = {"ChargingStationMaxProfile": 0, "TxDefaultProfile": 1, "TxProfile": 2}


class StationCore:
    def __init__(
        self,
        *,
        identity: str,
        now: Callable[[], datetime],
        evse_count: int = 1,
        power_stage: Callable[[int, AppliedLimits], None] | None = None,
        new_transaction_id: Callable[[], str] | None = None,
        vendor: str = "bidicharge",
        model: str = "BiDi-AC-11",
        version: OcppVersion = OcppVersion.V2_1,
        measures_frequency: bool = False,
    ) -> None:
        self.identity = identity
        self.now = now
        self.vendor, self.model = vendor, model
        self.version = version  # of the connection in use; set on every (re)connect
        self.evses = {i: StationEvse(i) for i in range(1, evse_count + 1)}
        self.power_stage = power_stage or (lambda evse_id, limits: None)
        counter = iter(range(1, 1 << 62))
        self.new_transaction_id = new_transaction_id or (lambda: f"{identity}-{next(counter)}")
        self.variables: dict[tuple[str, str], str] = {
            ("OCPPCommCtrlr", "HeartbeatInterval"): "300",
            ("SmartChargingCtrlr", "Enabled"): "true",
            ("SmartChargingCtrlr", "ChargingProfileMaxStackLevel"): "8",
            ("ISO15118Ctrlr", "V2XEnabled"): "true",
            ("DeviceDataCtrlr", "ItemsPerMessage"): "16",
        }
        self.resets: list[str] = []
        # LocalFrequency needs a frequency measurement at the station (else its profiles are refused)
        self.measures_frequency = measures_frequency
        self.afrr_signals: list[tuple[datetime, int]] = []  # (active from, signal), in time order

    @property
    def m(self) -> Any:
        return messages_of(self.version)

    def register(self, router: Router) -> None:
        """The CSMS-initiated requests this core answers by itself."""
        m = messages_of(router.version)
        router.add(m.SetChargingProfileRequest, self.on_set_profile)
        router.add(m.ClearChargingProfileRequest, self.on_clear_profile)
        router.add(m.GetCompositeScheduleRequest, self.on_get_composite)
        router.add(m.GetVariablesRequest, self.on_get_variables)
        router.add(m.SetVariablesRequest, self.on_set_variables)
        router.add(m.ResetRequest, self.on_reset)
        if m is v2_1:
            router.add(m.UpdateDynamicScheduleRequest, self.on_update_dynamic_schedule)
            router.add(m.AFRRSignalRequest, self.on_afrr_signal)

    # ---- station -> CSMS: requests ------------------------------------------------------------
    def boot_request(self, reason: str) -> Any:
        m = self.m
        return m.BootNotificationRequest(reason=m.BootReasonEnumType(reason), charging_station=m.ChargingStationType(
            model=self.model, vendor_name=self.vendor))

    def heartbeat_request(self) -> Any:
        return self.m.HeartbeatRequest()

    def status_request(self, evse_id: int) -> Any:
        m = self.m
        evse = self.evses[evse_id]
        return m.StatusNotificationRequest(
            timestamp=self.now(), connector_status=m.ConnectorStatusEnumType(evse.connector_status),
            evse_id=evse.evse_id, connector_id=1)

    def token(self, id_token: str, kind: str = "ISO14443") -> Any:
        m = self.m
        return m.IdTokenType(id_token=id_token, type=m.IdTokenEnumType(kind) if m is v2_0_1 else kind)

    def authorize_request(self, id_token: str) -> Any:
        return self.m.AuthorizeRequest(id_token=self.token(id_token))

    def begin_transaction(self, evse_id: int, id_token: str | None, token_type: str = "ISO14443") -> bool:
        """Open a transaction on the EVSE; False when one is running already."""
        evse = self.evses[evse_id]
        if evse.transaction_id is not None:
            return False
        evse.transaction_id, evse.seq_no, evse.id_token = self.new_transaction_id(), 0, id_token
        evse.id_token_type = token_type
        return True

    def set_registers(self, evse_id: int, *, import_Wh: float, export_Wh: float) -> None:
        """The EVSE meter's registers; they only ever grow (a register going back is our bug)."""
        evse = self.evses[evse_id]
        if import_Wh < evse.import_Wh or export_Wh < evse.export_Wh:
            raise ValueError("energy registers never go back")
        evse.import_Wh, evse.export_Wh = import_Wh, export_Wh

    def transaction_event(self, evse_id: int, event_type: str, trigger: str, *, offline: bool,
                          id_token: str | None = None, soc: float | None = None, stopped_reason: str | None = None,
                          remote_start_id: int | None = None) -> Any:
        """The next TransactionEvent of the EVSE's running transaction (its seqNo counts up)."""
        m = self.m
        evse = self.evses[evse_id]
        assert evse.transaction_id is not None, "begin_transaction first"
        unit = m.UnitOfMeasureType(unit="Wh")
        values = [m.SampledValueType(value=evse.import_Wh, measurand=m.MeasurandEnumType.ENERGY_ACTIVE_IMPORT_REGISTER,
                                     unit_of_measure=unit),
                  m.SampledValueType(value=evse.export_Wh, measurand=m.MeasurandEnumType.ENERGY_ACTIVE_EXPORT_REGISTER,
                                     unit_of_measure=unit)]
        if soc is not None:
            values.append(m.SampledValueType(value=round(soc * 100, 1), measurand=m.MeasurandEnumType.SOC,
                                             unit_of_measure=m.UnitOfMeasureType(unit="Percent")))
        request = m.TransactionEventRequest(
            event_type=m.TransactionEventEnumType(event_type), timestamp=self.now(),
            trigger_reason=m.TriggerReasonEnumType(trigger), seq_no=evse.seq_no, offline=True if offline else None,
            transaction_info=m.TransactionType(
                transaction_id=evse.transaction_id, remote_start_id=remote_start_id,
                stopped_reason=None if stopped_reason is None else m.ReasonEnumType(stopped_reason)),
            id_token=None if id_token is None else self.token(id_token, evse.id_token_type),
            evse=m.EVSEType(id=evse.evse_id, connector_id=1) if event_type == "Started" else None,
            meter_value=(m.MeterValueType(timestamp=self.now(), sampled_value=tuple(values)),))
        evse.seq_no += 1
        return request

    def end_transaction(self, evse_id: int) -> None:
        """After the Ended event: no transaction, and its TxProfiles end with it (K01)."""
        evse = self.evses[evse_id]
        evse.transaction_id, evse.id_token = None, None
        evse.profiles = {k: p for k, p in evse.profiles.items() if p.charging_profile_purpose != "TxProfile"}
        evse.dynamic_updates = {k: u for k, u in evse.dynamic_updates.items() if k in evse.profiles}
        self.apply(evse)

    def charging_needs_request(self, evse_id: int, charging_needs: Any) -> Any:
        """K15 (2.1: with ``v2xChargingParameters``); ``charging_needs`` of either version."""
        m = self.m
        needs = m.ChargingNeedsType.from_wire(charging_needs.to_wire())
        extra = {"timestamp": self.now()} if m is v2_1 else {}  # 2.1 added the timestamp
        return m.NotifyEVChargingNeedsRequest(evse_id=evse_id, charging_needs=needs, **extra)

    def charging_schedule_request(self, evse_id: int, charging_schedule: Any) -> Any:
        """K17: the schedule the EV plans, a ``ChargingScheduleType`` of either version."""
        m = self.m
        schedule = m.ChargingScheduleType.from_wire(charging_schedule.to_wire())
        return m.NotifyEVChargingScheduleRequest(time_base=self.now(), evse_id=evse_id, charging_schedule=schedule)

    # ---- CSMS -> station: smart charging -------------------------------------------------------
    def on_set_profile(self, r: Any) -> Any:
        m = self.m
        profile = r.charging_profile
        evse = self.evses.get(r.evse_id)
        rejected = m.SetChargingProfileResponse(status=m.ChargingProfileStatusEnumType.REJECTED)
        if evse is None:
            return rejected
        if profile.charging_profile_purpose == "TxProfile" and (
                evse.transaction_id is None or profile.transaction_id not in (None, evse.transaction_id)):
            return rejected  # K01: a TxProfile needs the running transaction
        for schedule in profile.charging_schedule:
            if schedule.charging_rate_unit != "W":
                return rejected  # this station is steered in W (AC_BPT); A would need the phase voltage
            for period in schedule.charging_schedule_period:
                why = self._v2x_period_problem(period)
                if why is not None:
                    return m.SetChargingProfileResponse(status=m.ChargingProfileStatusEnumType.REJECTED,
                                                        status_info=m.StatusInfoType(reason_code=why[0],
                                                                                     additional_info=why[1]))
        # K01: a profile with the same purpose and stackLevel replaces the one in place
        evse.profiles = {k: p for k, p in evse.profiles.items()
                         if (p.charging_profile_purpose, p.stack_level) != (profile.charging_profile_purpose,
                                                                            profile.stack_level)}
        evse.profiles[profile.id] = profile
        evse.dynamic_updates.pop(profile.id, None)
        self.apply(evse)
        return m.SetChargingProfileResponse(status=m.ChargingProfileStatusEnumType.ACCEPTED)

    def _v2x_period_problem(self, period: Any) -> tuple[str, str] | None:
        """(reasonCode, text) when this station cannot run a period's V2X operation mode."""
        mode = getattr(period, "operation_mode", None)
        if mode == "LocalFrequency":
            if len(getattr(period, "v2x_freq_watt_curve", None) or ()) < 2:
                return "InvalidValue", "LocalFrequency needs a v2xFreqWattCurve of at least 2 points"
            if not self.measures_frequency:
                return "UnsupportedParam", "this station measures no grid frequency (LocalFrequency)"
        if mode == "CentralFrequency" and getattr(period, "v2x_signal_watt_curve", None) is not None \
                and len(period.v2x_signal_watt_curve) < 2:
            return "InvalidValue", "a v2xSignalWattCurve needs at least 2 points"
        return None

    # ---- CSMS -> station: 2.1 dynamic schedules and aFRR ----------------------------------------
    def on_update_dynamic_schedule(self, r: Any) -> Any:
        """Q03/Q06: new setpoint/limits for a profile of kind ``Dynamic`` (other kinds are refused)."""
        m = self.m
        for evse in self.evses.values():
            profile = evse.profiles.get(r.charging_profile_id)
            if profile is not None and profile.charging_profile_kind == "Dynamic":
                evse.dynamic_updates[profile.id] = r.schedule_update
                self.apply(evse)
                return m.UpdateDynamicScheduleResponse(status=m.ChargingProfileStatusEnumType.ACCEPTED)
        return m.UpdateDynamicScheduleResponse(
            status=m.ChargingProfileStatusEnumType.REJECTED,
            status_info=m.StatusInfoType(reason_code="UnknownProfile",
                                         additional_info=f"no Dynamic profile {r.charging_profile_id}"))

    def on_afrr_signal(self, r: Any) -> Any:
        """AFRRSignal (2.1): ``signal`` indexes the ``v2xSignalWattCurve`` of the CentralFrequency
        period in force from ``timestamp`` on; refused when no profile of the station has such a curve."""
        m = self.m
        has_curve = any(getattr(p, "v2x_signal_watt_curve", None)
                        for evse in self.evses.values() for profile in evse.profiles.values()
                        for schedule in profile.charging_schedule for p in schedule.charging_schedule_period)
        if not has_curve:
            return m.AFRRSignalResponse(status=m.GenericStatusEnumType.REJECTED, status_info=m.StatusInfoType(
                reason_code="NoProfile", additional_info="no charging profile with a v2xSignalWattCurve"))
        self.afrr_signals.append((r.timestamp, r.signal))
        self.afrr_signals.sort(key=lambda s: s[0])
        self.refresh()
        return m.AFRRSignalResponse(status=m.GenericStatusEnumType.ACCEPTED)

    def afrr_signal_now(self) -> int | None:
        """The newest aFRR signal whose time has come (older ones are dropped)."""
        now = self.now()
        active = [i for i, (at, _) in enumerate(self.afrr_signals) if at <= now]
        if not active:
            return None
        del self.afrr_signals[:active[-1]]
        return self.afrr_signals[0][1]

    def on_clear_profile(self, r: Any) -> Any:
        m = self.m
        found = False
        for evse in self.evses.values():
            if r.charging_profile_id is not None and r.charging_profile_id in evse.profiles:
                del evse.profiles[r.charging_profile_id]
                found = True
            elif r.charging_profile_id is None and evse.profiles:
                evse.profiles.clear()
                found = True
            self.apply(evse)
        return m.ClearChargingProfileResponse(
            status=m.ClearChargingProfileStatusEnumType.ACCEPTED if found else m.ClearChargingProfileStatusEnumType.UNKNOWN)

    def active_period(self, evse: StationEvse) -> tuple[Any, Any] | None:
        """The period in force now of the highest-stack-level profile (K01: TxProfile over TxDefaultProfile)."""
        now = self.now()
        for profile in sorted(evse.profiles.values(), key=lambda p: (PURPOSE_RANK.get(str(p.charging_profile_purpose), 0),
                                                                   p.stack_level), reverse=True):
            schedule = profile.charging_schedule[0]
            start = schedule.start_schedule or now
            elapsed_s = (now - start).total_seconds()
            if elapsed_s < 0 or (schedule.duration is not None and elapsed_s >= schedule.duration):
                continue
            current = None
            for period in schedule.charging_schedule_period:
                if period.start_period <= elapsed_s:
                    current = period
            if current is not None:
                return profile, current
        return None

    def apply(self, evse: StationEvse) -> None:
        found = self.active_period(evse)
        if found is None:
            limits = AppliedLimits()
        else:
            profile, p = found
            update = evse.dynamic_updates.get(profile.id)

            def value(name: str) -> Any:  # UpdateDynamicSchedule overrides the period's value
                given = None if update is None else getattr(update, name, None)
                return given if given is not None else getattr(p, name, None)

            discharge = value("discharge_limit")
            setpoint = value("setpoint")
            setpoint_l23 = (value("setpoint_l2"), value("setpoint_l3"))
            mode = str(getattr(p, "operation_mode", None) or "ChargingOnly")
            limits = AppliedLimits(
                operation_mode=mode, limit_W=value("limit"),
                setpoint_W=setpoint, max_discharge_W=None if discharge is None else -discharge,
                setpoint_per_phase_W=None if setpoint_l23 == (None, None) else (setpoint, *setpoint_l23),
                profile_id=profile.id, baseline_W=getattr(p, "v2x_baseline", None),
                freq_watt_curve=curve_from(getattr(p, "v2x_freq_watt_curve", None), "frequency"),
                signal_watt_curve=curve_from(getattr(p, "v2x_signal_watt_curve", None), "signal"),
                afrr_signal=self.afrr_signal_now() if mode == "CentralFrequency" else None)
        if limits != evse.applied:
            evse.applied = limits
            self.power_stage(evse.evse_id, limits)

    def refresh(self) -> None:
        """Re-evaluate the limits in force (a schedule's next period may have begun)."""
        for evse in self.evses.values():
            self.apply(evse)

    def on_get_composite(self, r: Any) -> Any:
        m = self.m
        evse = self.evses.get(r.evse_id)
        found = None if evse is None else self.active_period(evse)
        if found is None:
            return m.GetCompositeScheduleResponse(status=m.GenericStatusEnumType.REJECTED)
        _, period = found
        schedule = m.CompositeScheduleType(evse_id=r.evse_id, duration=r.duration, schedule_start=self.now(),
                                           charging_rate_unit=m.ChargingRateUnitEnumType.W,
                                           charging_schedule_period=(period,))
        return m.GetCompositeScheduleResponse(status=m.GenericStatusEnumType.ACCEPTED, schedule=schedule)

    # ---- CSMS -> station: device model, reset --------------------------------------------------
    def on_get_variables(self, r: Any) -> Any:
        m = self.m
        results = []
        for item in r.get_variable_data:
            key = (item.component.name, item.variable.name)
            value = self.variables.get(key)
            known_component = any(c == key[0] for c, _ in self.variables)
            status = ("Accepted" if value is not None else "UnknownVariable" if known_component else "UnknownComponent")
            results.append(m.GetVariableResultType(attribute_status=m.GetVariableStatusEnumType(status),
                                                   attribute_value=value, component=item.component,
                                                   variable=item.variable))
        return m.GetVariablesResponse(get_variable_result=tuple(results))

    def on_set_variables(self, r: Any) -> Any:
        m = self.m
        results = []
        for item in r.set_variable_data:
            key = (item.component.name, item.variable.name)
            if key not in self.variables:
                status = "UnknownVariable" if any(c == key[0] for c, _ in self.variables) else "UnknownComponent"
            elif key == ("OCPPCommCtrlr", "HeartbeatInterval") and not item.attribute_value.isdigit():
                status = "Rejected"
            else:
                self.variables[key] = item.attribute_value
                status = "Accepted"
            results.append(m.SetVariableResultType(attribute_status=m.SetVariableStatusEnumType(status),
                                                   component=item.component, variable=item.variable))
        return m.SetVariablesResponse(set_variable_result=tuple(results))

    def on_reset(self, r: Any) -> Any:
        m = self.m
        self.resets.append(str(r.type))  # the EVSE component decides how to restart its hardware
        return m.ResetResponse(status=m.ResetStatusEnumType.ACCEPTED)
