"""The OCPP side of an EVSE (C-EVSE on I-04/I-05): a charging-station engine for OCPP 2.0.1 / 2.1.

It boots (B01), sends heartbeats (G02) and connector status (G01), authorises (C01), runs
transactions with meter values that keep imported and exported energy apart (E01–E07,
``Energy.Active.Import.Register`` / ``Energy.Active.Export.Register``), answers a minimal
device model (B06/B05 Get/SetVariables), remote start/stop (F01/F03), Reset (B11/B12),
TriggerMessage (F06), and smart charging (K01 SetChargingProfile, K10 ClearChargingProfile,
K08 GetCompositeSchedule) with the OCPP 2.1 V2X fields: ``operationMode``, ``setpoint``
(negative = discharge), ``dischargeLimit``, per-phase ``_L2``/``_L3``. The limits in force are
handed to ``power_stage(evse_id, limits)`` — the EVSE's power electronics, or the ISO 15118-20
session to the vehicle once that is wired.

Offline behaviour (E04, "transaction-related messages ... queued"): transaction events go
through a queue on disk (one JSON line each) and leave it only after the CSMS answered them,
in order; events queued while offline are marked ``offline: true``. A CSMS that stores by
(transaction, seqNo) therefore gets every event exactly once, also across a restart.

A plain asyncio class: time from the injected ``now()``, waiting through the injected ``sleep``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bidicharge.protocols.ocppj import OcppVersion, v2_0_1, v2_1
from bidicharge.transports.ocpp_websocket import OcppCallError, OcppClient, OcppSession

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class AppliedLimits:
    """What the power stage must do now (W; positive = into the vehicle). ``None`` = no constraint."""

    operation_mode: str = "ChargingOnly"
    limit_W: float | None = None
    setpoint_W: float | None = None
    max_discharge_W: float | None = None  # magnitude ≥ 0 (OCPP's dischargeLimit is ≤ 0)
    setpoint_per_phase_W: tuple[float | None, float | None, float | None] | None = None
    profile_id: int | None = None


class TxQueue:
    """Transaction events waiting for the CSMS, kept in a JSON-lines file (or in memory)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.items: list[dict[str, Any]] = []
        if path is not None and path.exists():
            self.items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def __len__(self) -> int:
        return len(self.items)

    def append(self, item: dict[str, Any]) -> None:
        self.items.append(item)
        if self.path is not None:
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(item) + "\n")
                f.flush()
                os.fsync(f.fileno())

    def pop_head(self) -> None:
        self.items.pop(0)
        if self.path is not None:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text("".join(json.dumps(i) + "\n" for i in self.items), encoding="utf-8")
            os.replace(tmp, self.path)


@dataclass
class _Evse:
    evse_id: int
    connector_status: str = "Available"
    transaction_id: str | None = None
    seq_no: int = 0
    id_token: str | None = None
    import_Wh: float = 0.0
    export_Wh: float = 0.0
    profiles: dict[int, Any] = field(default_factory=dict)  # profile id -> ChargingProfileType
    applied: AppliedLimits = field(default_factory=AppliedLimits)


def _m(version: OcppVersion) -> Any:
    return v2_1 if version is OcppVersion.V2_1 else v2_0_1


class OcppStation:
    def __init__(
        self,
        *,
        identity: str,
        url: str,
        now: Callable[[], datetime],
        evse_count: int = 1,
        queue_path: Path | None = None,
        power_stage: Callable[[int, AppliedLimits], None] | None = None,
        new_transaction_id: Callable[[], str] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        versions: Sequence[OcppVersion] = (OcppVersion.V2_1, OcppVersion.V2_0_1),
        vendor: str = "bidicharge",
        model: str = "BiDi-AC-11",
        **client_options: Any,
    ) -> None:
        self.identity = identity
        self.now = now
        self.sleep = sleep
        self.vendor, self.model = vendor, model
        self.evses = {i: _Evse(i) for i in range(1, evse_count + 1)}
        self.queue = TxQueue(queue_path)
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
        self.accepted = asyncio.Event()  # BootNotification accepted on the current connection
        self.session: OcppSession | None = None
        self._flush_lock = asyncio.Lock()
        self._tasks: asyncio.TaskGroup | None = None
        self.client = OcppClient(url=url, identity=identity, setup=self._setup, on_connected=self._on_connected,
                                 versions=versions, **client_options)

    # ---- lifecycle ---------------------------------------------------------------------------
    async def run(self) -> None:
        """Connect (and reconnect) until cancelled; owns the station's background tasks."""
        async with asyncio.TaskGroup() as tasks:
            self._tasks = tasks
            await self.client.run()

    def _spawn(self, work: Awaitable[Any]) -> None:
        async def guarded() -> None:
            try:
                await work
            except (OcppCallError, ConnectionError) as exc:
                log.warning("OCPP station %s: %s", self.identity, exc)

        assert self._tasks is not None, "run() owns the background tasks"
        self._tasks.create_task(guarded())

    @property
    def m(self) -> Any:
        return _m(self.session.version if self.session is not None else OcppVersion.V2_1)

    def _setup(self, session: OcppSession) -> None:
        m = _m(session.version)
        add = session.router.add
        add(m.SetChargingProfileRequest, self._on_set_profile)
        add(m.ClearChargingProfileRequest, self._on_clear_profile)
        add(m.GetCompositeScheduleRequest, self._on_get_composite)
        add(m.GetVariablesRequest, self._on_get_variables)
        add(m.SetVariablesRequest, self._on_set_variables)
        add(m.RequestStartTransactionRequest, self._on_remote_start)
        add(m.RequestStopTransactionRequest, self._on_remote_stop)
        add(m.ResetRequest, self._on_reset)
        add(m.TriggerMessageRequest, self._on_trigger)

    async def _on_connected(self, session: OcppSession) -> None:
        self.session = session
        self.accepted.clear()
        try:
            while True:  # B02/B03: Pending/Rejected -> retry after the given interval
                response = await session.call(self._boot_request("PowerUp"))
                if response.status == "Accepted":
                    break
                await self.sleep(max(1, response.interval))
            self.variables[("OCPPCommCtrlr", "HeartbeatInterval")] = str(response.interval)
            for evse in self.evses.values():
                await self._send_status(session, evse)
            self.accepted.set()
            await self._flush()
            while True:
                await self.sleep(float(self.variables[("OCPPCommCtrlr", "HeartbeatInterval")]))
                await session.call(_m(session.version).HeartbeatRequest())
        finally:
            if self.session is session:
                self.session = None
                self.accepted.clear()

    def _boot_request(self, reason: str) -> Any:
        m = self.m
        return m.BootNotificationRequest(reason=m.BootReasonEnumType(reason), charging_station=m.ChargingStationType(
            model=self.model, vendor_name=self.vendor))

    async def _send_status(self, session: OcppSession, evse: _Evse) -> None:
        m = _m(session.version)
        await session.call(m.StatusNotificationRequest(
            timestamp=self.now(), connector_status=m.ConnectorStatusEnumType(evse.connector_status),
            evse_id=evse.evse_id, connector_id=1))

    # ---- local events (from the EVSE component) ----------------------------------------------
    async def set_connector_status(self, evse_id: int, status: str) -> None:
        """``Available``, ``Occupied`` (EV plugged in), ``Unavailable``, ``Faulted``."""
        evse = self.evses[evse_id]
        evse.connector_status = status
        if self.session is not None and self.accepted.is_set():
            await self._send_status(self.session, evse)

    async def authorize(self, id_token: str) -> str:
        """C01; offline the token is not known: ``"Offline"`` (no local list here)."""
        session = self.session
        if session is None or not self.accepted.is_set():
            return "Offline"
        m = _m(session.version)
        response = await session.call(m.AuthorizeRequest(id_token=self._token(m, id_token)))
        return str(response.id_token_info.status)

    @staticmethod
    def _token(m: Any, id_token: str) -> Any:
        kind = m.IdTokenEnumType.ISO14443 if m is v2_0_1 else "ISO14443"
        return m.IdTokenType(id_token=id_token, type=kind)

    async def start_transaction(self, evse_id: int, id_token: str | None, *, trigger: str = "Authorized",
                                remote_start_id: int | None = None) -> str:
        evse = self.evses[evse_id]
        if evse.transaction_id is not None:
            return evse.transaction_id
        evse.transaction_id, evse.seq_no, evse.id_token = self.new_transaction_id(), 0, id_token
        await self._transaction_event(evse, "Started", trigger, id_token=id_token, remote_start_id=remote_start_id)
        return evse.transaction_id

    async def report_meter(self, evse_id: int, *, import_Wh: float, export_Wh: float, soc: float | None = None) -> None:
        """E02 periodic meter values; the registers only ever grow."""
        evse = self.evses[evse_id]
        if import_Wh < evse.import_Wh or export_Wh < evse.export_Wh:
            raise ValueError("energy registers never go back")
        evse.import_Wh, evse.export_Wh = import_Wh, export_Wh
        if evse.transaction_id is not None:
            await self._transaction_event(evse, "Updated", "MeterValuePeriodic", soc=soc)

    async def stop_transaction(self, evse_id: int, *, reason: str = "Local", trigger: str = "StopAuthorized") -> None:
        evse = self.evses[evse_id]
        if evse.transaction_id is None:
            return
        await self._transaction_event(evse, "Ended", trigger, stopped_reason=reason)
        evse.transaction_id, evse.id_token = None, None
        evse.profiles = {k: p for k, p in evse.profiles.items() if p.charging_profile_purpose != "TxProfile"}
        self._apply(evse)

    async def notify_ev_charging_needs(self, evse_id: int, charging_needs: Any) -> str:
        """K15/Q: the EV's needs (2.1 incl. ``v2xChargingParameters``) go up to the CSMS."""
        session = self.session
        if session is None or not self.accepted.is_set():
            return "Offline"
        m = _m(session.version)
        needs = m.ChargingNeedsType.from_wire(charging_needs.to_wire())
        extra = {"timestamp": self.now()} if m is v2_1 else {}  # 2.1 added the timestamp
        response = await session.call(m.NotifyEVChargingNeedsRequest(evse_id=evse_id, charging_needs=needs, **extra))
        return str(response.status)

    async def notify_ev_charging_schedule(self, evse_id: int, charging_schedule: Any) -> str:
        """K17: the schedule the EV plans (from ISO 15118-20) goes up to the CSMS; ``charging_schedule``
        is a ``ChargingScheduleType`` of either version."""
        session = self.session
        if session is None or not self.accepted.is_set():
            return "Offline"
        m = _m(session.version)
        schedule = m.ChargingScheduleType.from_wire(charging_schedule.to_wire())
        response = await session.call(m.NotifyEVChargingScheduleRequest(time_base=self.now(), evse_id=evse_id,
                                                                        charging_schedule=schedule))
        return str(response.status)

    # ---- transaction events through the offline queue ---------------------------------------
    async def _transaction_event(self, evse: _Evse, event_type: str, trigger: str, *, id_token: str | None = None,
                                 soc: float | None = None, stopped_reason: str | None = None,
                                 remote_start_id: int | None = None) -> None:
        m = self.m
        unit = m.UnitOfMeasureType(unit="Wh")
        values = [m.SampledValueType(value=evse.import_Wh, measurand=m.MeasurandEnumType.ENERGY_ACTIVE_IMPORT_REGISTER,
                                     unit_of_measure=unit),
                  m.SampledValueType(value=evse.export_Wh, measurand=m.MeasurandEnumType.ENERGY_ACTIVE_EXPORT_REGISTER,
                                     unit_of_measure=unit)]
        if soc is not None:
            values.append(m.SampledValueType(value=round(soc * 100, 1), measurand=m.MeasurandEnumType.SOC,
                                             unit_of_measure=m.UnitOfMeasureType(unit="Percent")))
        offline = not (self.session is not None and self.accepted.is_set())
        assert evse.transaction_id is not None
        request = m.TransactionEventRequest(
            event_type=m.TransactionEventEnumType(event_type), timestamp=self.now(),
            trigger_reason=m.TriggerReasonEnumType(trigger), seq_no=evse.seq_no, offline=True if offline else None,
            transaction_info=m.TransactionType(
                transaction_id=evse.transaction_id, remote_start_id=remote_start_id,
                stopped_reason=None if stopped_reason is None else m.ReasonEnumType(stopped_reason)),
            id_token=None if id_token is None else self._token(m, id_token),
            evse=m.EVSEType(id=evse.evse_id, connector_id=1) if event_type == "Started" else None,
            meter_value=(m.MeterValueType(timestamp=self.now(), sampled_value=tuple(values)),))
        evse.seq_no += 1
        self.queue.append({"action": "TransactionEvent", "payload": request.to_wire()})
        if not offline:
            await self._flush()

    async def _flush(self) -> None:
        """Send the queue head until empty; a lost connection leaves the rest for the next one."""
        if self._flush_lock.locked():
            return  # the running flush drains what was just appended
        async with self._flush_lock:
            while len(self.queue) and self.session is not None and self.accepted.is_set():
                session = self.session
                m = _m(session.version)
                request = m.TransactionEventRequest.from_wire(self.queue.items[0]["payload"])
                try:
                    await session.call(request)
                except OcppCallError as exc:
                    if exc.code is None:  # timeout: try again on this or the next connection
                        continue
                    log.error("OCPP station %s: CSMS refused queued %s: %s", self.identity, request.event_type, exc)
                except ConnectionError:
                    return
                self.queue.pop_head()

    # ---- CSMS -> station ---------------------------------------------------------------------
    def _on_set_profile(self, r: Any) -> Any:
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
        # K01: a profile with the same purpose and stackLevel replaces the one in place
        evse.profiles = {k: p for k, p in evse.profiles.items()
                         if (p.charging_profile_purpose, p.stack_level) != (profile.charging_profile_purpose,
                                                                            profile.stack_level)}
        evse.profiles[profile.id] = profile
        self._apply(evse)
        return m.SetChargingProfileResponse(status=m.ChargingProfileStatusEnumType.ACCEPTED)

    def _on_clear_profile(self, r: Any) -> Any:
        m = self.m
        found = False
        for evse in self.evses.values():
            if r.charging_profile_id is not None and r.charging_profile_id in evse.profiles:
                del evse.profiles[r.charging_profile_id]
                found = True
            elif r.charging_profile_id is None and evse.profiles:
                evse.profiles.clear()
                found = True
            self._apply(evse)
        return m.ClearChargingProfileResponse(
            status=m.ClearChargingProfileStatusEnumType.ACCEPTED if found else m.ClearChargingProfileStatusEnumType.UNKNOWN)

    def _active_period(self, evse: _Evse) -> tuple[Any, Any] | None:
        """The period in force now of the highest-stack-level profile (K01: TxProfile over TxDefaultProfile)."""
        now = self.now()
        rank = {"ChargingStationMaxProfile": 0, "TxDefaultProfile": 1, "TxProfile": 2}
        for profile in sorted(evse.profiles.values(), key=lambda p: (rank.get(str(p.charging_profile_purpose), 0),
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

    def _apply(self, evse: _Evse) -> None:
        found = self._active_period(evse)
        if found is None:
            limits = AppliedLimits()
        else:
            profile, p = found
            discharge = getattr(p, "discharge_limit", None)
            setpoint_l23 = (getattr(p, "setpoint_l2", None), getattr(p, "setpoint_l3", None))
            limits = AppliedLimits(
                operation_mode=str(getattr(p, "operation_mode", None) or "ChargingOnly"), limit_W=p.limit,
                setpoint_W=getattr(p, "setpoint", None), max_discharge_W=None if discharge is None else -discharge,
                setpoint_per_phase_W=None if setpoint_l23 == (None, None) else (
                    getattr(p, "setpoint", None), setpoint_l23[0], setpoint_l23[1]),
                profile_id=profile.id)
        if limits != evse.applied:
            evse.applied = limits
            self.power_stage(evse.evse_id, limits)

    def _on_get_composite(self, r: Any) -> Any:
        m = self.m
        evse = self.evses.get(r.evse_id)
        found = None if evse is None else self._active_period(evse)
        if found is None:
            return m.GetCompositeScheduleResponse(status=m.GenericStatusEnumType.REJECTED)
        _, period = found
        schedule = m.CompositeScheduleType(evse_id=r.evse_id, duration=r.duration, schedule_start=self.now(),
                                           charging_rate_unit=m.ChargingRateUnitEnumType.W,
                                           charging_schedule_period=(period,))
        return m.GetCompositeScheduleResponse(status=m.GenericStatusEnumType.ACCEPTED, schedule=schedule)

    def _on_get_variables(self, r: Any) -> Any:
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

    def _on_set_variables(self, r: Any) -> Any:
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

    def _on_remote_start(self, r: Any) -> Any:
        m = self.m
        evse_id = r.evse_id or 1
        evse = self.evses.get(evse_id)
        if evse is None or evse.transaction_id is not None:
            return m.RequestStartTransactionResponse(status=m.RequestStartStopStatusEnumType.REJECTED)
        self._spawn(self.start_transaction(evse_id, r.id_token.id_token, trigger="RemoteStart",
                                           remote_start_id=r.remote_start_id))
        return m.RequestStartTransactionResponse(status=m.RequestStartStopStatusEnumType.ACCEPTED)

    def _on_remote_stop(self, r: Any) -> Any:
        m = self.m
        for evse in self.evses.values():
            if evse.transaction_id == r.transaction_id:
                self._spawn(self.stop_transaction(evse.evse_id, reason="Remote", trigger="RemoteStop"))
                return m.RequestStopTransactionResponse(status=m.RequestStartStopStatusEnumType.ACCEPTED)
        return m.RequestStopTransactionResponse(status=m.RequestStartStopStatusEnumType.REJECTED)

    def _on_reset(self, r: Any) -> Any:
        m = self.m
        self.resets.append(str(r.type))  # the EVSE component decides how to restart its hardware
        return m.ResetResponse(status=m.ResetStatusEnumType.ACCEPTED)

    def _on_trigger(self, r: Any) -> Any:
        m = self.m
        session = self.session
        what = str(r.requested_message)
        if session is None:
            return m.TriggerMessageResponse(status=m.TriggerMessageStatusEnumType.REJECTED)
        if what == "BootNotification":
            self._spawn(session.call(self._boot_request("Triggered")))
        elif what == "Heartbeat":
            self._spawn(session.call(m.HeartbeatRequest()))
        elif what == "StatusNotification":
            for evse in self.evses.values():
                if r.evse is None or r.evse.id == evse.evse_id:
                    self._spawn(self._send_status(session, evse))
        else:
            return m.TriggerMessageResponse(status=m.TriggerMessageStatusEnumType.NOT_IMPLEMENTED)
        return m.TriggerMessageResponse(status=m.TriggerMessageStatusEnumType.ACCEPTED)
