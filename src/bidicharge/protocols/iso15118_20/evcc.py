"""The EVCC (vehicle side) of ISO 15118-20, sans-I/O.

The EVCC leads: `start(now)` sends SupportedAppProtocolReq; every response that comes into
`receive_data(data, now)` is checked (type, SessionID, response code) and answered by the
next request, now or at `next_deadline()` (charge-loop pacing, Ongoing repeats). The owner
— the BEV component — feeds the battery's state through `update(EvState)` and learns what
the charger commands from `events()` (`PowerCommanded`, `ScheduleReceived`, …).
`stop(pause=False)` ends the energy transfer and the session.

Rules (the sequence as a table, `RESPONSE_OF` + one handler per response type):

* each request expects exactly its response type within its message timeout
  (`timeouts.py`); another type, another SessionID, or a ``FAILED…``/``WARNING…`` code ends
  the session with an error (the EVCC then closes TCP);
* EVSEProcessing=Ongoing repeats the request every `ongoing_interval_s`, bounded by
  V2G_EVCC_Ongoing_Timeout (CableCheck and PreCharge by their own timers);
* an EVSENotification in a charge-loop answer (Terminate, Pause, ScheduleRenegotiation,
  ServiceRenegotiation) leads to PowerDelivery(Stop or ScheduleRenegotiation) and on.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Iterator
from enum import Enum
from typing import Any, Final

from cryptography import x509

from bidicharge.protocols.exi.messages import ac, dc
from bidicharge.protocols.exi.messages import app_protocol as ap
from bidicharge.protocols.exi.messages import common_messages as cm
from bidicharge.protocols.exi.messages import common_types as ct

from . import cert_install, pnc, sap, timeouts
from . import evcc_requests as build
from . import events as ev
from .errors import LocalProtocolError, RemoteProtocolError
from .ev_state import EvccConfig, EvState
from .rational import from_rational, opt_float, to_rational
from .services import AC_SERVICES, BPT_SERVICES, DC_SERVICES, ControlMode, ParameterSet, ServiceId, from_wire
from .v2gtp import FrameReader
from .wire import decode_message, encode_message

RESPONSE_OF: Final[dict[type[Any], type[Any]]] = {
    ap.SupportedAppProtocolReq: ap.SupportedAppProtocolRes,
    cm.SessionSetupReq: cm.SessionSetupRes,
    cm.AuthorizationSetupReq: cm.AuthorizationSetupRes,
    cm.AuthorizationReq: cm.AuthorizationRes,
    cm.CertificateInstallationReq: cm.CertificateInstallationRes,
    cm.ServiceDiscoveryReq: cm.ServiceDiscoveryRes,
    cm.ServiceDetailReq: cm.ServiceDetailRes,
    cm.ServiceSelectionReq: cm.ServiceSelectionRes,
    cm.ScheduleExchangeReq: cm.ScheduleExchangeRes,
    cm.PowerDeliveryReq: cm.PowerDeliveryRes,
    cm.SessionStopReq: cm.SessionStopRes,
    cm.MeteringConfirmationReq: cm.MeteringConfirmationRes,
    ac.AC_ChargeParameterDiscoveryReq: ac.AC_ChargeParameterDiscoveryRes,
    ac.AC_ChargeLoopReq: ac.AC_ChargeLoopRes,
    dc.DC_ChargeParameterDiscoveryReq: dc.DC_ChargeParameterDiscoveryRes,
    dc.DC_CableCheckReq: dc.DC_CableCheckRes,
    dc.DC_PreChargeReq: dc.DC_PreChargeRes,
    dc.DC_ChargeLoopReq: dc.DC_ChargeLoopRes,
    dc.DC_WeldingDetectionReq: dc.DC_WeldingDetectionRes,
}

_TIMEOUT_OF: Final[dict[type[Any], float]] = {
    ap.SupportedAppProtocolReq: timeouts.SAP_s,
    cm.ServiceDetailReq: timeouts.SERVICE_DETAIL_s,
    cm.CertificateInstallationReq: timeouts.CERTIFICATE_INSTALLATION_s,
    ac.AC_ChargeLoopReq: timeouts.CHARGE_LOOP_s,
    dc.DC_ChargeLoopReq: timeouts.CHARGE_LOOP_s,
}
_ONGOING_LIMIT_OF: Final[dict[type[Any], float]] = {
    dc.DC_CableCheckReq: timeouts.EVCC_CABLE_CHECK_s,
    dc.DC_PreChargeReq: timeouts.EVCC_PRE_CHARGE_s,
}
_OK_CODES: Final = frozenset(
    {
        ct.ResponseCode.OK,
        ct.ResponseCode.OK_NewSessionEstablished,
        ct.ResponseCode.OK_OldSessionJoined,
        ct.ResponseCode.OK_CertificateExpiresSoon,
        ct.ResponseCode.OK_PowerToleranceConfirmed,
    }
)


class EvccState(Enum):
    IDLE = "Idle"
    WAITING = "WaitingForResponse"  # `awaiting` names the request
    PAUSED_BEFORE_REQUEST = "BeforeNextRequest"  # a request is due at the deadline
    STOPPED = "Stopped"


class Evcc:
    def __init__(self, ev_state: EvState, config: EvccConfig | None = None) -> None:
        self.config = config or EvccConfig()
        self.ev = ev_state
        self.state = EvccState.IDLE
        self.awaiting: type[Any] | None = None
        self.session_id = bytes(8)
        self.namespace: str | None = None
        self.service: ServiceId | None = None
        self.parameter_set: ParameterSet | None = None
        self.closed = False
        self._sap_request = sap.offer(self.config.namespaces)
        self._reader = FrameReader()
        self._out = bytearray()
        self._events: deque[ev.EvccEvent] = deque()
        self._response_deadline: float | None = None
        self._setup_deadline: float | None = None
        self._ongoing_deadline: float | None = None
        self._due: tuple[float, Callable[[float], object]] | None = None
        self._stop_requested: cm.ChargingSession | None = None
        self._after_stop = cm.ChargingSession.Terminate
        self._renegotiating = False
        self._power_delivery: cm.ChargeProgress | None = None
        self._challenge: bytes | None = None  # set when Plug & Charge is used
        self._auth_setup: cm.AuthorizationSetupRes | None = None  # kept across CertificateInstallation
        self._progress_requested: cm.ChargeProgress | None = None  # Standby / Start wanted by the owner

    # ---- owner -----------------------------------------------------------------------------
    def start(self, now: float) -> None:
        if self.state is not EvccState.IDLE:
            raise LocalProtocolError("the EVCC has started already")
        self._setup_deadline = now + timeouts.EVCC_COMMUNICATION_SETUP_s
        self._request(self._sap_request, now)

    def update(self, ev_state: EvState) -> None:
        self.ev = ev_state

    def stop(self, *, pause: bool = False) -> None:
        """End the energy transfer (PowerDelivery Stop) and the session (Terminate or Pause)."""
        self._stop_requested = cm.ChargingSession.Pause if pause else cm.ChargingSession.Terminate

    def standby(self) -> None:
        """Hold the energy transfer but keep the loop running (PowerDelivery Standby)."""
        self._progress_requested = cm.ChargeProgress.Standby

    def resume(self) -> None:
        """Leave standby (PowerDelivery Start)."""
        self._progress_requested = cm.ChargeProgress.Start

    # ---- inputs ----------------------------------------------------------------------------
    def receive_data(self, data: bytes, now: float) -> None:
        if self.closed:
            return
        self._reader.feed(data)
        try:
            for frame in self._reader.frames():
                self._handle(decode_message(frame), now)
                if self.closed:
                    return
        except RemoteProtocolError as exc:
            self._end(error=str(exc), code=exc.response_code)

    def connection_lost(self) -> None:
        if not self.closed:
            self._end(error="connection lost")

    def next_deadline(self) -> float | None:
        if self.closed:
            return None
        times = [t for t in (self._response_deadline, self._setup_deadline) if t is not None]
        if self._due is not None:
            times.append(self._due[0])
        return min(times) if times else None

    def handle_timeout(self, now: float) -> None:
        if self.closed:
            return
        if self._setup_deadline is not None and now >= self._setup_deadline:
            self._end(error="V2G_EVCC_CommunicationSetup_Timeout")
        elif self._response_deadline is not None and now >= self._response_deadline:
            name = self.awaiting.__name__ if self.awaiting else "?"
            self._end(error=f"no answer to {name} in time")
        elif self._due is not None and now >= self._due[0]:
            _, make = self._due
            self._due = None
            self._request(make(now), now)

    # ---- outputs ---------------------------------------------------------------------------
    def data_to_send(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def events(self) -> Iterator[ev.EvccEvent]:
        while self._events:
            yield self._events.popleft()

    # ---- machinery -------------------------------------------------------------------------
    def _header(self, now: float) -> ct.MessageHeader:
        return ct.MessageHeader(session_id=self.session_id, time_stamp=max(0, int(now)))

    def _request(self, message: object, now: float) -> None:
        self._out += encode_message(message)
        self.awaiting = type(message)
        self.state = EvccState.WAITING
        timeout = _TIMEOUT_OF.get(type(message), timeouts.MESSAGE_s) * self.config.timeout_factor
        self._response_deadline = now + timeout

    def _later(self, delay_s: float, make: Callable[[float], object], now: float) -> None:
        if delay_s <= 0:
            self._request(make(now), now)
            return
        self.state = EvccState.PAUSED_BEFORE_REQUEST
        self._due = (now + delay_s, make)

    def _ongoing(self, make: Callable[[float], object], now: float) -> None:
        """The SECC is still processing: repeat the request, within the ongoing timer."""
        if self._ongoing_deadline is None:
            assert self.awaiting is not None
            self._ongoing_deadline = now + _ONGOING_LIMIT_OF.get(self.awaiting, timeouts.EVCC_ONGOING_s)
        if now >= self._ongoing_deadline:
            self._end(
                error=f"{self.awaiting.__name__ if self.awaiting else '?'} still Ongoing at its timeout"
            )
            return
        self._later(self.config.ongoing_interval_s, make, now)

    def _end(
        self, *, error: str | None = None, paused: bool = False, code: ct.ResponseCode | None = None
    ) -> None:
        self.state = EvccState.STOPPED
        self.closed = True
        self._response_deadline = self._setup_deadline = self._due = None
        self._events.append(ev.SessionEnded(paused=paused, error=error, response_code=code))

    def _handle(self, response: Any, now: float) -> None:
        expected = RESPONSE_OF.get(self.awaiting) if self.awaiting else None
        if self.state is not EvccState.WAITING or type(response) is not expected:
            self._end(
                error=f"unexpected {type(response).__name__} (waiting for {expected and expected.__name__})"
            )
            return
        self._response_deadline = None
        if not isinstance(response, ap.SupportedAppProtocolRes):
            if not isinstance(response, cm.SessionSetupRes) and response.header.session_id != self.session_id:
                self._end(error="response for another session", code=ct.ResponseCode.FAILED_UnknownSession)
                return
            if response.response_code not in _OK_CODES:
                self._end(
                    error=f"{type(response).__name__}: {response.response_code}", code=response.response_code
                )
                return
        if getattr(response, "evse_processing", ct.Processing.Finished) == ct.Processing.Finished:
            self._ongoing_deadline = None
        _ON_RESPONSE[type(response)](self, response, now)

    # ---- one handler per response ----------------------------------------------------------
    def _on_sap(self, res: ap.SupportedAppProtocolRes, now: float) -> None:
        self.namespace = sap.chosen_namespace(self._sap_request, res)
        if self.namespace is None:
            self._end(error="no common application protocol")
            return
        resume = self.config.resume_session_id or bytes(8)
        self._request(
            cm.SessionSetupReq(
                header=ct.MessageHeader(session_id=resume, time_stamp=int(now)), evccid=self.config.evcc_id
            ),
            now,
        )

    def _on_session_setup(self, res: cm.SessionSetupRes, now: float) -> None:
        self.session_id = res.header.session_id
        self._setup_deadline = None
        resumed = res.response_code == ct.ResponseCode.OK_OldSessionJoined
        self._events.append(
            ev.SessionStarted(
                session_id=self.session_id, evcc_id=self.config.evcc_id, evse_id=res.evseid, resumed=resumed
            )
        )
        self._request(cm.AuthorizationSetupReq(header=self._header(now)), now)

    def _authorization_req(self, now: float) -> cm.AuthorizationReq:
        contract = self.config.contract
        if contract is not None and self._challenge is not None:
            element = cm.PnC_AReqAuthorizationMode(
                id="ID1",
                gen_challenge=self._challenge,
                contract_certificate_chain=cm.ContractCertificateChain(
                    certificate=contract.certificate,
                    sub_certificates=cm.SubCertificates(certificate=contract.sub_certificates),
                ),
            )
            header = ct.MessageHeader(
                session_id=self.session_id,
                time_stamp=max(0, int(now)),
                signature=pnc.sign(element, contract.private_key, sha256=contract.sha256),
            )
            return cm.AuthorizationReq(
                header=header,
                selected_authorization_service=cm.Authorization.PnC,
                pnc_a_req_authorization_mode=element,
            )
        return cm.AuthorizationReq(
            header=self._header(now),
            selected_authorization_service=cm.Authorization.EIM,
            eim_a_req_authorization_mode=cm.EIM_AReqAuthorizationMode(),
        )

    def _on_authorization_setup(self, res: cm.AuthorizationSetupRes, now: float) -> None:
        self._auth_setup = res
        provisioning = self.config.provisioning
        if self.config.contract is None and provisioning is not None and res.certificate_installation_service:
            self._request(cert_install.installation_request(self.session_id, now, provisioning), now)
            return
        self._authorize(res, now)

    def _on_certificate_installation(self, res: cm.CertificateInstallationRes, now: float) -> None:
        """Check the CPS's signature, decrypt the contract key; then authorize with the new contract."""
        assert self.config.provisioning is not None and self._auth_setup is not None
        try:
            contract = cert_install.install_contract(res, self.config.provisioning, now)
        except RemoteProtocolError as exc:
            self._end(error=f"CertificateInstallationRes refused: {exc}", code=exc.response_code)
            return
        except ValueError as exc:  # a certificate that is not DER
            self._end(error=f"CertificateInstallationRes refused: {exc}")
            return
        self.config = dataclasses.replace(self.config, contract=contract)
        emaid = pnc.emaid_of(x509.load_der_x509_certificate(contract.certificate))
        self._events.append(ev.ContractCertificateInstalled(emaid=emaid, credentials=contract))
        self._authorize(self._auth_setup, now)

    def _authorize(self, res: cm.AuthorizationSetupRes, now: float) -> None:
        pnc_mode = res.pnc_as_res_authorization_mode
        if (
            self.config.contract is not None
            and cm.Authorization.PnC in res.authorization_services
            and pnc_mode
        ):
            self._challenge = pnc_mode.gen_challenge
        elif cm.Authorization.EIM not in res.authorization_services:
            self._end(error="the SECC offers no authorization we can use")
            return
        self._request(self._authorization_req(now), now)

    def _on_authorization(self, res: cm.AuthorizationRes, now: float) -> None:
        if res.evse_processing != ct.Processing.Finished:
            self._ongoing(self._authorization_req, now)
            return
        self._request(cm.ServiceDiscoveryReq(header=self._header(now)), now)

    def _on_service_discovery(self, res: cm.ServiceDiscoveryRes, now: float) -> None:
        allowed = AC_SERVICES if self.namespace == sap.NS_ISO20_AC else DC_SERVICES
        offered = {s.service_id for s in res.energy_transfer_service_list.service}
        service = next((s for s in self.config.services if s in offered and s in allowed), None)
        if service is None:
            self._end(error=f"none of {[s.name for s in self.config.services]} offered ({sorted(offered)})")
            return
        self.service = service
        self._request(cm.ServiceDetailReq(header=self._header(now), service_id=service), now)

    def _on_service_detail(self, res: cm.ServiceDetailRes, now: float) -> None:
        sets = [from_wire(ps) for ps in res.service_parameter_list.parameter_set]
        chosen = next(
            (p for p in sets if p.control_mode is self.config.control_mode), sets[0] if sets else None
        )
        if chosen is None or self.service is None:
            self._end(error="no parameter set offered")
            return
        self.parameter_set = chosen
        self._events.append(ev.ServiceNegotiated(service=self.service, parameter_set=chosen))
        self._request(
            cm.ServiceSelectionReq(
                header=self._header(now),
                selected_energy_transfer_service=cm.SelectedService(
                    service_id=self.service, parameter_set_id=chosen.parameter_set_id
                ),
            ),
            now,
        )

    def _on_service_selection(self, res: cm.ServiceSelectionRes, now: float) -> None:
        assert self.service is not None
        self._request(build.charge_parameter_discovery(self._header(now), self.service, self.ev), now)

    def _schedule_exchange_req(self, now: float) -> cm.ScheduleExchangeReq:
        assert self.parameter_set is not None
        return build.schedule_exchange(
            self._header(now),
            self.parameter_set.control_mode,
            self._bpt(),
            self.ev,
            self.config.maximum_supporting_points,
        )

    def _on_charge_parameter_discovery(self, res: Any, now: float) -> None:
        m = (
            res.bpt_ac_cpd_res_energy_transfer_mode or res.ac_cpd_res_energy_transfer_mode
            if isinstance(res, ac.AC_ChargeParameterDiscoveryRes)
            else res.bpt_dc_cpd_res_energy_transfer_mode or res.dc_cpd_res_energy_transfer_mode
        )
        if m is None:
            self._end(error="charge parameters missing")
            return
        max_d, min_d = (
            getattr(m, "evse_maximum_discharge_power", None),
            getattr(m, "evse_minimum_discharge_power", None),
        )
        self._events.append(
            ev.EvseLimits(
                max_charge_power_W=from_rational(m.evse_maximum_charge_power),
                min_charge_power_W=from_rational(m.evse_minimum_charge_power),
                max_discharge_power_W=None if max_d is None else abs(from_rational(max_d)),
                min_discharge_power_W=None if min_d is None else abs(from_rational(min_d)),
                max_voltage_V=opt_float(getattr(m, "evse_maximum_voltage", None)),
                min_voltage_V=opt_float(getattr(m, "evse_minimum_voltage", None)),
            )
        )
        self._request(self._schedule_exchange_req(now), now)

    def _bpt(self) -> bool:
        return self.service in BPT_SERVICES

    def _dc(self) -> bool:
        return self.service in DC_SERVICES

    def _on_schedule_exchange(self, res: cm.ScheduleExchangeRes, now: float) -> None:
        if res.evse_processing != ct.Processing.Finished:
            self._ongoing(self._schedule_exchange_req, now)
            return
        self._profile: tuple[tuple[int, float], ...] = ()
        self._anchor = int(now)
        if res.scheduled_se_res_control_mode is not None and res.scheduled_se_res_control_mode.schedule_tuple:
            self._take_schedule(res.scheduled_se_res_control_mode.schedule_tuple[0])
        if self._dc() and not self._renegotiating:
            self._request(dc.DC_CableCheckReq(header=self._header(now)), now)
        else:
            self._renegotiating = False
            self._request(self._power_delivery_req(cm.ChargeProgress.Start, now), now)

    def _take_schedule(self, st: cm.ScheduleTuple) -> None:
        charge = st.charging_schedule.power_schedule
        discharge = (
            st.discharging_schedule.power_schedule.power_schedule_entries.power_schedule_entry
            if st.discharging_schedule
            else ()
        )
        entries, profile, start = [], [], 0
        for i, e in enumerate(charge.power_schedule_entries.power_schedule_entry):
            c = from_rational(e.power)
            d = abs(from_rational(discharge[i].power)) if i < len(discharge) else 0.0
            entries.append(
                ev.ScheduleEntry(
                    start_s=start, duration_s=e.duration, max_charge_power_W=c, max_discharge_power_W=d
                )
            )
            # the EV's plan: charge while below target, else discharge down to min SoC where allowed
            want = (
                min(c, self.ev.max_charge_power_W)
                if self.ev.soc < self.ev.target_soc or d == 0
                else -min(d, self.ev.max_discharge_power_W)
            )
            profile.append((e.duration, want))
            start += e.duration
        self._anchor = charge.time_anchor
        self._profile = tuple(profile)
        self._events.append(
            ev.ScheduleReceived(schedule_tuple_id=st.schedule_tuple_id, entries=tuple(entries))
        )

    def _power_delivery_req(self, progress: cm.ChargeProgress, now: float) -> cm.PowerDeliveryReq:
        self._power_delivery = progress
        channel = None
        profile = None
        if progress == cm.ChargeProgress.Start:
            if self._bpt():
                first = self._profile[0][1] if self._profile else self.ev.present_power_W
                channel = cm.ChannelSelection.Discharge if first < 0 else cm.ChannelSelection.Charge
            # the EV states its planned profile with every Finished PowerDelivery(Start)
            # (ISO 15118-20 §8.3.4.3.8.2 as Josev cites it; Josev rejects the request without it)
            scheduled = (
                self.parameter_set is not None and self.parameter_set.control_mode is ControlMode.SCHEDULED
            )
            if scheduled and self._profile:
                profile = build.power_profile(self._anchor, self._profile)
            else:
                plan = ((max(1, self.ev.departure_time_s), self.ev.max_charge_power_W),)
                profile = build.power_profile(int(now), plan, dynamic=True)
        return cm.PowerDeliveryReq(
            header=self._header(now),
            ev_processing=ct.Processing.Finished,
            charge_progress=progress,
            ev_power_profile=profile,
            bpt_channel_selection=channel,
        )

    def _pre_charge_req(self, now: float) -> dc.DC_PreChargeReq:
        v = to_rational(self.ev.present_voltage_V)
        return dc.DC_PreChargeReq(
            header=self._header(now),
            ev_processing=ct.Processing.Ongoing,
            ev_present_voltage=v,
            ev_target_voltage=v,
        )

    def _on_cable_check(self, res: dc.DC_CableCheckRes, now: float) -> None:
        if res.evse_processing != ct.Processing.Finished:
            self._ongoing(lambda t: dc.DC_CableCheckReq(header=self._header(t)), now)
            return
        self._request(self._pre_charge_req(now), now)

    def _on_pre_charge(self, res: dc.DC_PreChargeRes, now: float) -> None:
        voltage = from_rational(res.evse_present_voltage)
        self._events.append(ev.EvseOutput(present_voltage_V=voltage))
        if abs(voltage - self.ev.present_voltage_V) <= self.config.pre_charge_tolerance_V:
            self._ongoing_deadline = None
            self._request(self._power_delivery_req(cm.ChargeProgress.Start, now), now)
        else:
            self._ongoing(self._pre_charge_req, now)

    def _loop_req(self, now: float) -> object:
        assert self.parameter_set is not None
        mode, h = self.parameter_set.control_mode, self._header(now)
        loop: Any = (build.dc_charge_loop if self._dc() else build.ac_charge_loop)(
            h, mode, self._bpt(), self.ev
        )
        if self.config.meter_info_requested:
            loop = dataclasses.replace(loop, meter_info_requested=True)
        return loop

    def _on_power_delivery(self, res: cm.PowerDeliveryRes, now: float) -> None:
        if self._power_delivery is not None:
            self._events.append(ev.PowerDeliveryConfirmed(progress=self._power_delivery))
        match self._power_delivery:
            case cm.ChargeProgress.Start | cm.ChargeProgress.Standby:
                self._request(self._loop_req(now), now)
            case cm.ChargeProgress.ScheduleRenegotiation:
                self._renegotiating = True
                self._request(self._schedule_exchange_req(now), now)
            case _:
                if self._dc():
                    self._request(
                        dc.DC_WeldingDetectionReq(
                            header=self._header(now), ev_processing=ct.Processing.Ongoing
                        ),
                        now,
                    )
                else:
                    self._session_stop(now)

    def _session_stop(self, now: float) -> None:
        self._request(cm.SessionStopReq(header=self._header(now), charging_session=self._after_stop), now)

    def _on_charge_loop(self, res: Any, now: float) -> None:
        self._report_command(res)
        note = res.evse_status.evse_notification if res.evse_status else None
        if note is not None:
            self._events.append(ev.EvseNotified(notification=note))
        if note == ct.EvseNotification.ScheduleRenegotiation:
            self._request(self._power_delivery_req(cm.ChargeProgress.ScheduleRenegotiation, now), now)
            return
        if note == ct.EvseNotification.MeteringConfirmation and res.meter_info is not None:
            self._request(self._metering_confirmation_req(res.meter_info, now), now)
            return
        if note in (
            ct.EvseNotification.Terminate,
            ct.EvseNotification.Pause,
            ct.EvseNotification.ServiceRenegotiation,
        ):
            self._stop_requested = {
                ct.EvseNotification.Terminate: cm.ChargingSession.Terminate,
                ct.EvseNotification.Pause: cm.ChargingSession.Pause,
            }.get(note, cm.ChargingSession.ServiceRenegotiation)
        if self._stop_requested is not None:
            self._request(self._next_in_loop(now), now)
            return
        self._later(self.config.loop_interval_s, self._next_in_loop, now)

    def _next_in_loop(self, now: float) -> object:
        """The next charge-loop request, or PowerDelivery(Stop) once a stop is wanted."""
        if self._stop_requested is not None:
            self._after_stop, self._stop_requested = self._stop_requested, None
            return self._power_delivery_req(cm.ChargeProgress.Stop, now)
        if self._progress_requested is not None and self._progress_requested != self._power_delivery:
            progress, self._progress_requested = self._progress_requested, None
            return self._power_delivery_req(progress, now)
        return self._loop_req(now)

    def _metering_confirmation_req(self, meter: ct.MeterInfo, now: float) -> cm.MeteringConfirmationReq:
        """Confirm the EVSE's reading; signed with the contract key in a Plug & Charge session."""
        assert self.parameter_set is not None
        scheduled = self.parameter_set.control_mode is ControlMode.SCHEDULED
        data = cm.SignedMeteringData(
            id="SMD1",
            session_id=self.session_id,
            meter_info=meter,
            scheduled_smdt_control_mode=cm.Scheduled_SMDTControlMode(selected_schedule_tuple_id=1)
            if scheduled
            else None,
            dynamic_smdt_control_mode=None if scheduled else cm.Dynamic_SMDTControlMode(),
        )
        contract = self.config.contract if self._challenge is not None else None
        signature = None if contract is None else pnc.sign(data, contract.private_key, sha256=contract.sha256)
        header = ct.MessageHeader(
            session_id=self.session_id, time_stamp=max(0, int(now)), signature=signature
        )
        return cm.MeteringConfirmationReq(header=header, signed_metering_data=data)

    def _on_metering_confirmation(self, res: cm.MeteringConfirmationRes, now: float) -> None:
        self._later(self.config.loop_interval_s, self._next_in_loop, now)

    def _report_command(self, res: Any) -> None:
        if res.meter_info is not None:
            m = res.meter_info
            self._events.append(
                ev.MeterReading(
                    meter_id=m.meter_id,
                    charged_Wh=m.charged_energy_reading_wh,
                    discharged_Wh=m.bpt_discharged_energy_reading_wh,
                )
            )
        if isinstance(res, dc.DC_ChargeLoopRes):
            self._events.append(
                ev.EvseOutput(
                    present_voltage_V=from_rational(res.evse_present_voltage),
                    present_current_A=from_rational(res.evse_present_current),
                )
            )
            m = res.bpt_dynamic_dc_cl_res_control_mode or res.dynamic_dc_cl_res_control_mode
            if m is None:
                s = res.bpt_scheduled_dc_cl_res_control_mode or res.scheduled_dc_cl_res_control_mode
                if s is not None:
                    self._events.append(
                        ev.PowerCommanded(
                            target_power_W=None,
                            max_charge_power_W=opt_float(s.evse_maximum_charge_power),
                            max_discharge_power_W=_abs(
                                opt_float(getattr(s, "evse_maximum_discharge_power", None))
                            ),
                        )
                    )
                return
            min_c, max_c = (
                from_rational(m.evse_minimum_charge_power),
                from_rational(m.evse_maximum_charge_power),
            )
            max_d = abs(from_rational(getattr(m, "evse_maximum_discharge_power", to_rational(0.0))))
            min_d = abs(from_rational(getattr(m, "evse_minimum_discharge_power", to_rational(0.0))))
            target = (
                min_c
                if min_c > 0
                else (-min_d if min_d > 0 else (0.0 if max_c == 0 and max_d == 0 else None))
            )
            self._events.append(
                ev.PowerCommanded(
                    target_power_W=target, max_charge_power_W=max_c, max_discharge_power_W=max_d
                )
            )
            return
        m = (
            res.bpt_dynamic_ac_cl_res_control_mode
            or res.dynamic_ac_cl_res_control_mode
            or res.bpt_scheduled_ac_cl_res_control_mode
            or res.scheduled_ac_cl_res_control_mode
        )
        if m is not None:
            self._events.append(ev.PowerCommanded(target_power_W=opt_float(m.evse_target_active_power)))

    def _on_welding_detection(self, res: dc.DC_WeldingDetectionRes, now: float) -> None:
        voltage = from_rational(res.evse_present_voltage)
        self._events.append(ev.EvseOutput(present_voltage_V=voltage))
        if voltage <= self.config.welding_safe_voltage_V:
            self._ongoing_deadline = None
            self._session_stop(now)
        else:
            self._ongoing(
                lambda t: dc.DC_WeldingDetectionReq(
                    header=self._header(t), ev_processing=ct.Processing.Ongoing
                ),
                now,
            )

    def _on_session_stop(self, res: cm.SessionStopRes, now: float) -> None:
        if self._after_stop == cm.ChargingSession.ServiceRenegotiation:
            self._after_stop = cm.ChargingSession.Terminate
            self.service = self.parameter_set = None
            self._request(cm.ServiceDiscoveryReq(header=self._header(now)), now)
            return
        self._end(paused=self._after_stop == cm.ChargingSession.Pause)


def _abs(x: float | None) -> float | None:
    return None if x is None else abs(x)


_ON_RESPONSE: Final[dict[type[Any], Callable[[Evcc, Any, float], None]]] = {
    ap.SupportedAppProtocolRes: Evcc._on_sap,
    cm.SessionSetupRes: Evcc._on_session_setup,
    cm.AuthorizationSetupRes: Evcc._on_authorization_setup,
    cm.AuthorizationRes: Evcc._on_authorization,
    cm.CertificateInstallationRes: Evcc._on_certificate_installation,
    cm.ServiceDiscoveryRes: Evcc._on_service_discovery,
    cm.ServiceDetailRes: Evcc._on_service_detail,
    cm.ServiceSelectionRes: Evcc._on_service_selection,
    cm.ScheduleExchangeRes: Evcc._on_schedule_exchange,
    cm.PowerDeliveryRes: Evcc._on_power_delivery,
    cm.SessionStopRes: Evcc._on_session_stop,
    cm.MeteringConfirmationRes: Evcc._on_metering_confirmation,
    ac.AC_ChargeParameterDiscoveryRes: Evcc._on_charge_parameter_discovery,
    ac.AC_ChargeLoopRes: Evcc._on_charge_loop,
    dc.DC_ChargeParameterDiscoveryRes: Evcc._on_charge_parameter_discovery,
    dc.DC_CableCheckRes: Evcc._on_cable_check,
    dc.DC_PreChargeRes: Evcc._on_pre_charge,
    dc.DC_ChargeLoopRes: Evcc._on_charge_loop,
    dc.DC_WeldingDetectionRes: Evcc._on_welding_detection,
}

__all__ = ["RESPONSE_OF", "Evcc", "EvccConfig", "EvccState", "EvState"]
