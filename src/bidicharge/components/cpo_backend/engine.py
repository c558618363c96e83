"""CSMS engine: the OCPP behaviour of a CPO backend (C-CPO-BACKEND, I-04) or of an EVSE backend
(I-05, the same engine with the private-wallbox role).

It answers a station's BootNotification, Heartbeat, StatusNotification, Authorize,
TransactionEvent, MeterValues, NotifyEVChargingNeeds and NotifyEVChargingSchedule (OCPP 2.0.1
and 2.1 blocks B, C, E, G, J, K), keeps everything in ``CsmsStore``, and drives smart charging
with SetChargingProfile / ClearChargingProfile / GetCompositeSchedule, including the OCPP 2.1 V2X
fields (Q blocks: ``operationMode``, ``setpoint`` — negative = discharging —, ``dischargeLimit``,
per-phase ``_L2``/``_L3`` values).

Time comes from the injected ``now()``; the engine never reads a clock. It is transport-agnostic:
``setup(session)`` is given to ``OcppServer`` (or to an in-memory pairing) for every station.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bidicharge.protocols.ocppj import OcppVersion, v2_0_1, v2_1
from bidicharge.transports.ocpp_websocket import OcppSession

from .store import EXPORT_REGISTER, IMPORT_REGISTER, CsmsStore, Station, TxState

log = logging.getLogger(__name__)

UNIT_SCALE = {"kWh": ("Wh", 1000.0), "kW": ("W", 1000.0), "kvar": ("var", 1000.0), "kvarh": ("varh", 1000.0),
              "kVA": ("VA", 1000.0)}


@dataclass(frozen=True, slots=True, kw_only=True)
class SchedulePeriod:
    """One period of a charging schedule, in W. Sign convention of bidicharge and OCPP 2.1:
    positive power charges the vehicle, negative discharges it. ``max_discharge_W`` is a
    magnitude (≥ 0); on the wire it becomes ``dischargeLimit = -max_discharge_W``."""

    start_s: int = 0
    operation_mode: str = "ChargingOnly"
    limit_W: float | None = None
    setpoint_W: float | None = None
    max_discharge_W: float | None = None
    limit_per_phase_W: tuple[float, float] | None = None  # L2, L3
    setpoint_per_phase_W: tuple[float, float] | None = None  # L2, L3
    max_discharge_per_phase_W: tuple[float, float] | None = None  # L2, L3
    baseline_W: float | None = None  # v2xBaseline: the frequency/signal curves add to it
    freq_watt_curve: tuple[tuple[float, float], ...] | None = None  # LocalFrequency: (Hz, W) points
    signal_watt_curve: tuple[tuple[int, float], ...] | None = None  # CentralFrequency: (aFRR signal, W) points


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveEv:
    """What the technical aggregator (I-14) sees of one EVSE."""

    station: str
    evse_id: int
    connected: bool
    transaction_id: str | None
    soc: float | None
    imported_Wh: float
    exported_Wh: float
    requested_energy_transfer: str | None
    departure_time: datetime | None
    max_charge_power_W: float | None
    max_discharge_power_W: float | None
    energy_request_Wh: float | None
    vehicle_id: str | None = None  # the idToken of the open transaction (EVCCID, eMAID or configured)


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterReading:
    """An EVSE's latest energy registers (Wh) and the average power since the one before (W, + import)."""

    timestamp: datetime
    import_Wh: float
    export_Wh: float
    power_W: float = 0.0


def _m(version: OcppVersion) -> Any:
    return v2_1 if version is OcppVersion.V2_1 else v2_0_1


class CsmsEngine:
    def __init__(self, store: CsmsStore, *, now: Callable[[], datetime], heartbeat_interval_s: int = 300,
                 accept_unknown_tokens: bool = False) -> None:
        self.store = store
        self.now = now
        self.heartbeat_interval_s = heartbeat_interval_s
        self.accept_unknown_tokens = accept_unknown_tokens
        # open connections: ``OcppSession`` (WebSocket) or ``MemoryEndpoint`` (study), same surface
        self.sessions: dict[str, OcppSession] = {}
        # heartbeats only prove liveness: kept in memory, not written per beat (10,000 stations)
        self.last_seen: dict[str, datetime] = {}
        self._next_profile_id = 1
        # what I-14 shows beyond the tables: the latest registers and power per EVSE, the setpoint sent
        self.meters: dict[tuple[str, int], MeterReading] = {}
        self.setpoints: dict[tuple[str, int], float | None] = {}

    # ---- wiring ------------------------------------------------------------------------------
    def setup(self, session: OcppSession) -> None:
        """Register the handlers of one station connection (give this to ``OcppServer(setup=...)``)."""
        self.sessions[session.identity] = session
        session.closed_hooks.append(lambda: self._forget(session))
        m = _m(session.version)
        ident = session.identity
        add = session.router.add
        add(m.BootNotificationRequest, lambda r: self.on_boot(ident, session.version, r))
        add(m.HeartbeatRequest, lambda r: self.on_heartbeat(ident, r))
        add(m.StatusNotificationRequest, lambda r: self.on_status(ident, r))
        add(m.AuthorizeRequest, lambda r: self.on_authorize(ident, r))
        add(m.TransactionEventRequest, lambda r: self.on_transaction_event(ident, r))
        add(m.MeterValuesRequest, lambda r: self.on_meter_values(ident, r))
        add(m.NotifyEVChargingNeedsRequest, lambda r: self.on_charging_needs(ident, r))
        add(m.NotifyEVChargingScheduleRequest, lambda r: m.NotifyEVChargingScheduleResponse(
            status=m.GenericStatusEnumType.ACCEPTED))

    def _forget(self, session: OcppSession) -> None:
        if self.sessions.get(session.identity) is session:
            del self.sessions[session.identity]

    # ---- station -> CSMS ---------------------------------------------------------------------
    def on_boot(self, ident: str, version: OcppVersion, r: Any) -> Any:
        m = _m(version)
        now = self.now()
        cs = r.charging_station
        self.store.put_station(Station(identity=ident, vendor=cs.vendor_name, model=cs.model, firmware=cs.firmware_version,
                                       ocpp_version=version.value, boot_reason=str(r.reason), booted_at=now,
                                       last_seen_at=now))
        return m.BootNotificationResponse(current_time=now, interval=self.heartbeat_interval_s,
                                          status=m.RegistrationStatusEnumType.ACCEPTED)

    def _seen(self, ident: str) -> datetime:
        now = self.last_seen[ident] = self.now()
        return now

    def on_heartbeat(self, ident: str, r: Any) -> Any:
        return _m(self._version(ident)).HeartbeatResponse(current_time=self._seen(ident))

    def _version(self, ident: str) -> OcppVersion:
        session = self.sessions.get(ident)
        return session.version if session is not None else OcppVersion.V2_1

    def on_status(self, ident: str, r: Any) -> Any:
        self.store.set_connector_status(ident, r.evse_id, r.connector_id, str(r.connector_status), r.timestamp)
        return _m(self._version(ident)).StatusNotificationResponse()

    def _token_info(self, ident: str, id_token: Any) -> Any:
        m = _m(self._version(ident))
        status = self.store.token_status(id_token.id_token)
        if status is None:
            status = "Accepted" if self.accept_unknown_tokens else ("Unknown" if hasattr(
                m.AuthorizationStatusEnumType, "UNKNOWN") else "Invalid")
        return m.IdTokenInfoType(status=m.AuthorizationStatusEnumType(status))

    def on_authorize(self, ident: str, r: Any) -> Any:
        return _m(self._version(ident)).AuthorizeResponse(id_token_info=self._token_info(ident, r.id_token))

    def on_transaction_event(self, ident: str, r: Any) -> Any:
        m = _m(self._version(ident))
        tx_id = r.transaction_info.transaction_id
        info = r.transaction_info
        # OCPP 2.x E.FR: seqNo orders a transaction's events; a replayed one is stored once.
        tx = self.store.transaction_event(
            ident, tx_id, seq_no=r.seq_no, event_type=str(r.event_type), timestamp=r.timestamp,
            evse_id=None if r.evse is None else r.evse.id, id_token=None if r.id_token is None else r.id_token.id_token,
            ended=r.event_type == "Ended", stopped_reason=None if info.stopped_reason is None else str(info.stopped_reason))
        if tx is not None:
            self.store.add_samples(self._meter_rows(ident, tx.evse_id or 0, tx, r.meter_value or ()))
        if r.id_token is not None:
            return m.TransactionEventResponse(id_token_info=self._token_info(ident, r.id_token))
        return m.TransactionEventResponse()

    def on_meter_values(self, ident: str, r: Any) -> Any:
        self.store.add_samples(self._meter_rows(ident, r.evse_id, None, r.meter_value))
        return _m(self._version(ident)).MeterValuesResponse()

    def _meter_rows(self, ident: str, evse_id: int, tx: TxState | None,
                    meter_values: Sequence[Any]) -> list[dict[str, Any]]:
        """Sample rows to store; updates the transaction's import/export registers on the way."""
        rows: list[dict[str, Any]] = []
        for mv in meter_values:
            registers: dict[str, float] = {}
            for sv in mv.sampled_value:
                measurand = str(sv.measurand) if sv.measurand is not None else IMPORT_REGISTER  # the default
                unit = "Wh" if sv.unit_of_measure is None or sv.unit_of_measure.unit is None else sv.unit_of_measure.unit
                multiplier = 0 if sv.unit_of_measure is None or sv.unit_of_measure.multiplier is None \
                    else sv.unit_of_measure.multiplier
                base_unit, scale = UNIT_SCALE.get(unit, (unit, 1.0))
                value = sv.value * scale * 10.0 ** multiplier
                rows.append({"station": ident, "evse_id": evse_id,
                             "transaction_id": None if tx is None else tx.transaction_id, "timestamp": mv.timestamp,
                             "measurand": measurand, "phase": None if sv.phase is None else str(sv.phase),
                             "value": value, "unit": base_unit})
                if sv.phase is None and measurand in (IMPORT_REGISTER, EXPORT_REGISTER):
                    registers[measurand] = value
                if tx is None or sv.phase is not None:
                    continue
                if measurand == IMPORT_REGISTER:
                    if tx.import_first_Wh is None:
                        tx.import_first_Wh = value
                    tx.import_last_Wh = max(value, tx.import_last_Wh or value)  # a register never goes back
                elif measurand == EXPORT_REGISTER:
                    if tx.export_first_Wh is None:
                        tx.export_first_Wh = value
                    tx.export_last_Wh = max(value, tx.export_last_Wh or value)
                elif measurand == "SoC":
                    tx.soc = value / 100.0
            self._remember_meter(ident, evse_id, mv.timestamp, registers)
        return rows

    def _remember_meter(self, ident: str, evse_id: int, timestamp: datetime, registers: dict[str, float]) -> None:
        if IMPORT_REGISTER not in registers:
            return
        before = self.meters.get((ident, evse_id))
        reading = MeterReading(timestamp=timestamp, import_Wh=registers[IMPORT_REGISTER],
                               export_Wh=registers.get(EXPORT_REGISTER, 0.0))
        if before is not None and timestamp > before.timestamp:
            net_Wh = (reading.import_Wh - before.import_Wh) - (reading.export_Wh - before.export_Wh)
            hours = (timestamp - before.timestamp).total_seconds() / 3600.0
            reading = MeterReading(timestamp=timestamp, import_Wh=reading.import_Wh, export_Wh=reading.export_Wh,
                                   power_W=net_Wh / hours)
        elif before is not None and timestamp < before.timestamp:
            return  # a replayed (offline) value is older than what we know
        self.meters[(ident, evse_id)] = reading

    def on_charging_needs(self, ident: str, r: Any) -> Any:
        m = _m(self._version(ident))
        needs = r.charging_needs
        self.store.set_charging_needs(ident, r.evse_id, received_at=self.now(),
                                      requested_energy_transfer=str(needs.requested_energy_transfer),
                                      departure_time=needs.departure_time, wire=needs.to_wire())
        return m.NotifyEVChargingNeedsResponse(status=m.NotifyEVChargingNeedsStatusEnumType.ACCEPTED)

    # ---- CSMS -> station ---------------------------------------------------------------------
    def _session(self, ident: str) -> OcppSession:
        try:
            return self.sessions[ident]
        except KeyError:
            raise LookupError(f"station {ident!r} is not connected") from None

    def active_transaction(self, ident: str, evse_id: int) -> str | None:
        return self.store.open_transaction(ident, evse_id)  # in memory: no query per profile

    def charging_profile_request(self, ident: str, version: OcppVersion, evse_id: int,
                                 periods: Sequence[SchedulePeriod], *, start: datetime | None = None,
                                 purpose: str = "TxProfile", stack_level: int = 0, kind: str = "Absolute") -> Any:
        """The SetChargingProfile for ``periods`` (W-based, absolute from ``start`` or now; ``kind``
        ``Dynamic`` (2.1) for a profile whose values UpdateDynamicSchedule changes later).

        A TxProfile is bound to the EVSE's running transaction (OCPP 2.x use case K01): without
        one this is a ``LookupError``; V2X fields towards a 2.0.1 station a ``ValueError``."""
        m = _m(version)
        transaction_id = None
        if purpose == "TxProfile":
            transaction_id = self.active_transaction(ident, evse_id)
            if transaction_id is None:
                raise LookupError(f"no transaction on {ident} EVSE {evse_id} for a TxProfile")
        profile_id = self._next_profile_id
        self._next_profile_id += 1
        profile = m.ChargingProfileType(
            id=profile_id, stack_level=stack_level, charging_profile_purpose=m.ChargingProfilePurposeEnumType(purpose),
            charging_profile_kind=m.ChargingProfileKindEnumType(kind), transaction_id=transaction_id,
            charging_schedule=(m.ChargingScheduleType(
                id=profile_id, charging_rate_unit=m.ChargingRateUnitEnumType.W, start_schedule=start or self.now(),
                charging_schedule_period=tuple(self._period(m, p) for p in periods)),))
        return m.SetChargingProfileRequest(evse_id=evse_id, charging_profile=profile)

    def profile_answered(self, ident: str, request: Any, response: Any) -> str:
        """Keep what was sent and how the station answered; returns the status."""
        status = str(response.status)
        profile = request.charging_profile
        self.store.add_sent_profile({"station": ident, "evse_id": request.evse_id, "profile_id": profile.id,
                                     "sent_at": self.now(), "status": status, "wire": profile.to_wire()})
        if status == "Accepted":
            first = profile.charging_schedule[0].charging_schedule_period[0]
            self.setpoints[(ident, request.evse_id)] = getattr(first, "setpoint", None)
        return status

    async def set_charging_schedule(self, ident: str, evse_id: int, periods: Sequence[SchedulePeriod], *,
                                    start: datetime | None = None, purpose: str = "TxProfile",
                                    stack_level: int = 0, kind: str = "Absolute") -> str:
        """Send SetChargingProfile (see ``charging_profile_request``); returns its status."""
        session = self._session(ident)
        request = self.charging_profile_request(ident, session.version, evse_id, periods, start=start,
                                                purpose=purpose, stack_level=stack_level, kind=kind)
        return self.profile_answered(ident, request, await session.call(request))

    @staticmethod
    def _period(m: Any, p: SchedulePeriod) -> Any:
        if m is v2_0_1:
            if p.setpoint_W is not None or p.max_discharge_W is not None or p.operation_mode != "ChargingOnly" \
                    or p.freq_watt_curve or p.signal_watt_curve or p.baseline_W is not None:
                raise ValueError("setpoints, discharge limits and operation modes need OCPP 2.1")
            return m.ChargingSchedulePeriodType(start_period=p.start_s, limit=p.limit_W if p.limit_W is not None else 0)

        def neg(x: float | None) -> float | None:
            return None if x is None else -abs(x)

        l23 = p.limit_per_phase_W or (None, None)
        s23 = p.setpoint_per_phase_W or (None, None)
        d23 = p.max_discharge_per_phase_W or (None, None)
        return m.ChargingSchedulePeriodType(
            start_period=p.start_s, operation_mode=m.OperationModeEnumType(p.operation_mode), limit=p.limit_W,
            limit_l2=l23[0], limit_l3=l23[1], setpoint=p.setpoint_W, setpoint_l2=s23[0], setpoint_l3=s23[1],
            discharge_limit=neg(p.max_discharge_W), discharge_limit_l2=neg(d23[0]), discharge_limit_l3=neg(d23[1]),
            v2x_baseline=p.baseline_W,
            v2x_freq_watt_curve=None if not p.freq_watt_curve else tuple(
                m.V2XFreqWattPointType(frequency=f, power=w) for f, w in p.freq_watt_curve),
            v2x_signal_watt_curve=None if not p.signal_watt_curve else tuple(
                m.V2XSignalWattPointType(signal=int(x), power=w) for x, w in p.signal_watt_curve))

    # ---- 2.1 frequency support: dynamic setpoints and aFRR signals (Q03, Q06) -------------------
    @staticmethod
    def dynamic_update_request(profile_id: int, *, setpoint_W: float | None = None, limit_W: float | None = None,
                               max_discharge_W: float | None = None) -> Any:
        """UpdateDynamicSchedule for a ``Dynamic`` profile sent before (e.g. a CentralFrequency
        setpoint computed from the frequency)."""
        return v2_1.UpdateDynamicScheduleRequest(charging_profile_id=profile_id, schedule_update=(
            v2_1.ChargingScheduleUpdateType(setpoint=setpoint_W, limit=limit_W,
                                            discharge_limit=None if max_discharge_W is None else -abs(max_discharge_W))))

    @staticmethod
    def afrr_signal_request(at: datetime, signal: int) -> Any:
        """AFRRSignal: ``signal`` (an x of the profile's v2xSignalWattCurve) in force from ``at``."""
        return v2_1.AFRRSignalRequest(timestamp=at, signal=signal)

    async def update_dynamic_schedule(self, ident: str, profile_id: int, **values: float | None) -> str:
        session = self._session(ident)
        if session.version is not OcppVersion.V2_1:
            raise ValueError("UpdateDynamicSchedule needs OCPP 2.1")
        response = await session.call(self.dynamic_update_request(profile_id, **values))
        return str(response.status)

    async def send_afrr_signal(self, ident: str, at: datetime, signal: int) -> str:
        session = self._session(ident)
        if session.version is not OcppVersion.V2_1:
            raise ValueError("AFRRSignal needs OCPP 2.1")
        response = await session.call(self.afrr_signal_request(at, signal))
        return str(response.status)

    async def set_v2x_setpoint(self, ident: str, evse_id: int, *, setpoint_W: float,
                               max_discharge_W: float | None = None, limit_W: float | None = None,
                               operation_mode: str = "CentralSetpoint") -> str:
        """OCPP 2.1 central V2X setpoint (operationMode CentralSetpoint): negative ``setpoint_W`` discharges the vehicle."""
        return await self.set_charging_schedule(ident, evse_id, [SchedulePeriod(
            operation_mode=operation_mode, setpoint_W=setpoint_W, max_discharge_W=max_discharge_W, limit_W=limit_W)])

    async def clear_charging_profile(self, ident: str, profile_id: int) -> str:
        session = self._session(ident)
        m = _m(session.version)
        response = await session.call(m.ClearChargingProfileRequest(charging_profile_id=profile_id))
        return str(response.status)

    async def get_composite_schedule(self, ident: str, evse_id: int, duration_s: int) -> Any:
        session = self._session(ident)
        m = _m(session.version)
        return await session.call(m.GetCompositeScheduleRequest(duration=duration_s, evse_id=evse_id,
                                                                charging_rate_unit=m.ChargingRateUnitEnumType.W))

    # ---- I-14 view ---------------------------------------------------------------------------
    def live_evs(self) -> list[LiveEv]:
        """Every EVSE the CSMS knows, from the store's memory (I-14 asks every step of a 200-EVSE
        park: no query, no flush)."""
        out: list[LiveEv] = []
        connectors = self.store.connector_status()
        open_txs = self.store.open_transactions()
        all_needs = self.store.charging_needs()
        occupied = {(station, evse_id) for (station, evse_id, _), status in connectors.items() if status == "Occupied"}
        tx_of: dict[tuple[str, int | None], TxState] = {}
        for t in open_txs:
            tx_of.setdefault((t.station, t.evse_id), t)
        evses = sorted({(station, evse_id) for station, evse_id, _ in connectors}
                       | {(t.station, t.evse_id) for t in open_txs if t.evse_id is not None}
                       | set(all_needs))
        for station, evse_id in evses:
            tx = tx_of.get((station, evse_id))
            needs = all_needs.get((station, evse_id))
            wire = needs["wire"] if needs is not None else {}
            v2x = wire.get("v2xChargingParameters") or {}
            ac = wire.get("acChargingParameters") or {}
            energy = v2x.get("evTargetEnergyRequest", ac.get("energyAmount"))
            out.append(LiveEv(
                station=station, evse_id=evse_id, connected=(station, evse_id) in occupied,
                transaction_id=None if tx is None else tx.transaction_id, soc=None if tx is None else tx.soc,
                imported_Wh=0.0 if tx is None else tx.imported_Wh, exported_Wh=0.0 if tx is None else tx.exported_Wh,
                requested_energy_transfer=None if needs is None else needs["requested_energy_transfer"],
                departure_time=None if needs is None else needs["departure_time"],
                max_charge_power_W=v2x.get("maxChargePower"), max_discharge_power_W=v2x.get("maxDischargePower"),
                energy_request_Wh=energy, vehicle_id=None if tx is None else tx.id_token))
        return out
