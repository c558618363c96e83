"""The SECC (charger side) of ISO 15118-20, sans-I/O.

Bytes from the EVCC go into `receive_data(data, now)`; answers come out of
`data_to_send()`; what the EV needs and does comes out of `events()` (see `events.py`).
The owner — the EVSE component — commands power both ways:

* `set_power_target(power_W)`: positive charges, negative discharges. In Dynamic mode it is
  the EVSETargetActivePower (AC) or the forced power window (DC) of the next charge-loop
  answer; in Scheduled mode it becomes the schedule offered at the next ScheduleExchange.
* `set_power_limits(...)`, `set_schedule(entries)`, `set_dc_output(...)`,
  `set_isolation_result(ok)`, `authorize(ok)`, `request_stop(pause=False)`,
  `request_schedule_renegotiation()`.

The sequence is the table in `secc_table.py`; time enters through `now` and
`handle_timeout(now)` (V2G_SECC_Sequence_Timeout).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

from cryptography import x509

from bidicharge.protocols.exi.messages import ac, dc
from bidicharge.protocols.exi.messages import app_protocol as ap
from bidicharge.protocols.exi.messages import common_messages as cm
from bidicharge.protocols.exi.messages import common_types as ct

from . import events as ev
from . import pnc, sap, timeouts
from .errors import LocalProtocolError, RemoteProtocolError, SequenceError, UnknownSessionError
from .responses import failed_response
from .secc_config import SeccConfig
from .secc_dc import DcMixin
from .secc_table import SeccState, check_sequence, expected_requests, next_state
from .services import AC_SERVICES, DC_SERVICES, ParameterSet, ServiceId, ServiceOffer, to_wire
from .v2gtp import FrameReader
from .wire import decode_message, encode_message

S = SeccState
OK = ct.ResponseCode.OK


class Secc(DcMixin):
    def __init__(self, config: SeccConfig | None = None) -> None:
        super().__init__()
        self.config = config or SeccConfig()
        self.state = S.WAIT_SUPPORTED_APP_PROTOCOL
        self.session_id: bytes | None = None
        self.namespace: str | None = None
        self.service: ServiceId | None = None
        self.parameter_set: ParameterSet | None = None
        self._authorized: bool | None = True if self.config.auto_authorize else None
        self._auth_announced = False
        self._challenge = b""
        self._contract: x509.Certificate | None = None  # after a Plug & Charge authorization
        self._reader = FrameReader()
        self._out = bytearray()
        self._events: deque[ev.SeccEvent] = deque()
        self._deadline: float | None = None
        self.closed = False

    # ---- inputs -------------------------------------------------------------------------
    def receive_data(self, data: bytes, now: float) -> None:
        if self.closed:
            return
        self._reader.feed(data)
        try:
            for frame in self._reader.frames():
                try:
                    message = decode_message(frame)
                except RemoteProtocolError as exc:
                    self._answer_undecodable(exc, now)
                else:
                    self._dispatch(message, now)
                if self.closed:
                    return
        except RemoteProtocolError as exc:  # not V2GTP at all: nothing to answer, close
            self._end(error=str(exc))

    def connection_lost(self) -> None:
        if not self.closed:
            self._end(error="connection lost")

    def next_deadline(self) -> float | None:
        return None if self.closed else self._deadline

    def handle_timeout(self, now: float) -> None:
        if self._deadline is not None and now >= self._deadline and not self.closed:
            self._end(error=f"V2G_SECC_Sequence_Timeout in {self.state.value}")

    # ---- outputs ------------------------------------------------------------------------
    def data_to_send(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def events(self) -> Iterator[ev.SeccEvent]:
        while self._events:
            yield self._events.popleft()

    # ---- owner commands -------------------------------------------------------------------
    def authorize(self, accepted: bool) -> None:
        """EIM result: the next AuthorizationReq gets Finished (OK or a failure warning)."""
        self._authorized = accepted

    # ---- dispatch -------------------------------------------------------------------------
    def _header(self, now: float) -> ct.MessageHeader:
        return ct.MessageHeader(session_id=self.session_id or bytes(8), time_stamp=max(0, int(now)))

    def _send(self, message: object) -> None:
        self._out += encode_message(message)

    def _emit(self, event: ev.SeccEvent) -> None:
        self._events.append(event)

    def _end(
        self, *, error: str | None = None, paused: bool = False, code: ct.ResponseCode | None = None
    ) -> None:
        self.state = S.STOPPED
        self.closed = True
        self._deadline = None
        self._emit(ev.SessionEnded(paused=paused, error=error, response_code=code))

    def _answer_undecodable(self, exc: RemoteProtocolError, now: float) -> None:
        expected = expected_requests(self.state)
        if expected and expected[0] is not ap.SupportedAppProtocolReq:
            answer = failed_response(expected[0], self._header(now), exc.response_code)
            if answer is not None:
                self._send(answer)
        self._end(error=str(exc), code=exc.response_code)

    def _dispatch(self, request: Any, now: float) -> None:
        if isinstance(request, ap.SupportedAppProtocolReq):
            self._supported_app_protocol(request, now)
            return
        try:
            check_sequence(self.state, request)
            if not isinstance(request, cm.SessionSetupReq):
                got = request.header.session_id
                if got != self.session_id:
                    assert self.session_id is not None
                    raise UnknownSessionError(got, self.session_id)
            handler = _HANDLERS[type(request)]
            response = handler(self, request, now)
        except RemoteProtocolError as exc:
            answer = failed_response(type(request), self._header(now), exc.response_code)
            if answer is not None:
                self._send(answer)
            self._end(error=str(exc), code=exc.response_code)
            return
        self.state = next_state(self.state, request, response)
        self._send(response)
        if self.state is S.STOPPED:
            self._end(paused=request.charging_session == cm.ChargingSession.Pause)
        else:
            self._deadline = now + timeouts.SECC_SEQUENCE_s

    # ---- handlers (one per request type) -----------------------------------------------------
    def _supported_app_protocol(self, request: ap.SupportedAppProtocolReq, now: float) -> None:
        if self.state is not S.WAIT_SUPPORTED_APP_PROTOCOL:
            self._end(
                error="SupportedAppProtocolReq out of sequence", code=ct.ResponseCode.FAILED_SequenceError
            )
            return
        offered = {o.service for o in self.config.offers}
        supported = [
            ns
            for ns, services in ((sap.NS_ISO20_AC, AC_SERVICES), (sap.NS_ISO20_DC, DC_SERVICES))
            if offered & services
        ]
        response, namespace = sap.negotiate(request, supported)
        self._send(response)
        if namespace is None:
            self._end(error="no common application protocol")
            return
        self.namespace = namespace
        self.state = S.WAIT_SESSION_SETUP
        self._deadline = now + timeouts.SECC_SEQUENCE_s

    def _session_setup(self, request: cm.SessionSetupReq, now: float) -> cm.SessionSetupRes:
        asked = request.header.session_id
        resumed = asked != bytes(8) and asked in self.config.paused_session_ids
        self.session_id = asked if resumed else self.config.new_session_id()
        if len(self.session_id) != 8:
            raise LocalProtocolError("session ids are 8 bytes")
        self._emit(
            ev.SessionStarted(
                session_id=self.session_id,
                evcc_id=request.evccid,
                evse_id=self.config.evse_id,
                resumed=resumed,
            )
        )
        code = ct.ResponseCode.OK_OldSessionJoined if resumed else ct.ResponseCode.OK_NewSessionEstablished
        return cm.SessionSetupRes(header=self._header(now), response_code=code, evseid=self.config.evse_id)

    def _pnc_offered(self) -> bool:
        return bool(self.config.pnc_trust_anchors) and self.config.new_challenge is not None

    def _authorization_setup(self, request: cm.AuthorizationSetupReq, now: float) -> cm.AuthorizationSetupRes:
        if self._pnc_offered():
            assert self.config.new_challenge is not None
            self._challenge = self.config.new_challenge()
            return cm.AuthorizationSetupRes(
                header=self._header(now),
                response_code=OK,
                authorization_services=(cm.Authorization.EIM, cm.Authorization.PnC),
                certificate_installation_service=self.config.certificate_installer is not None,
                pnc_as_res_authorization_mode=cm.PnC_ASResAuthorizationMode(gen_challenge=self._challenge),
            )
        return cm.AuthorizationSetupRes(
            header=self._header(now),
            response_code=OK,
            authorization_services=(cm.Authorization.EIM,),
            certificate_installation_service=self.config.certificate_installer is not None,
            eim_as_res_authorization_mode=cm.EIM_ASResAuthorizationMode(),
        )

    def _certificate_installation(
        self, request: cm.CertificateInstallationReq, now: float
    ) -> cm.CertificateInstallationRes:
        """Check that the provisioning chain is signed by its own key, let the CPS answer
        (cert_install.py), pass its signed answer on unchanged."""
        installer = self.config.certificate_installer
        if installer is None:
            raise SequenceError(self.state.value, "CertificateInstallationReq (not offered)")
        chain = request.oem_provisioning_certificate_chain
        try:
            oem = x509.load_der_x509_certificate(chain.certificate)
        except ValueError as exc:
            raise RemoteProtocolError(
                f"provisioning certificate not DER: {exc}",
                response_code=ct.ResponseCode.WARNING_CertificateValidationError,
            ) from None
        pnc.verify_signature(request.header.signature, chain, oem)
        answer = installer(request, now)
        emaid = pnc.emaid_of(x509.load_der_x509_certificate(
            answer.signed_installation_data.contract_certificate_chain.certificate))
        self._emit(ev.ContractCertificateInstalled(emaid=emaid))
        return cm.CertificateInstallationRes(
            header=ct.MessageHeader(
                session_id=self.session_id or bytes(8), time_stamp=max(0, int(now)), signature=answer.signature
            ),
            response_code=OK,
            evse_processing=ct.Processing.Finished,
            cps_certificate_chain=answer.cps_certificate_chain,
            signed_installation_data=answer.signed_installation_data,
            remaining_contract_certificate_chains=answer.remaining_contract_chains,
        )

    def _check_pnc(self, request: cm.AuthorizationReq, now: float) -> str:
        """Challenge, chain, signature (pnc.py); the contract's eMAID."""
        element = request.pnc_a_req_authorization_mode
        if not self._pnc_offered() or element is None:
            raise RemoteProtocolError("Plug & Charge not offered or not filled in")
        if element.gen_challenge != self._challenge:
            raise RemoteProtocolError(
                "GenChallenge differs", response_code=ct.ResponseCode.WARNING_ChallengeInvalid
            )
        contract = pnc.verify_chain(element.contract_certificate_chain, self.config.pnc_trust_anchors, now)
        self._contract = contract
        pnc.verify_signature(
            request.header.signature, element, contract, allow_sha256=self.config.pnc_allow_sha256
        )
        return pnc.emaid_of(contract)

    def _authorization(self, request: cm.AuthorizationReq, now: float) -> cm.AuthorizationRes:
        method = request.selected_authorization_service
        emaid = None
        if method == cm.Authorization.PnC:
            emaid = self._check_pnc(request, now)
        elif request.eim_a_req_authorization_mode is None:
            raise RemoteProtocolError("EIM selected without EIM_AReqAuthorizationMode")
        if not self._auth_announced:
            self._auth_announced = True
            self._emit(ev.AuthorizationRequested(method=method, emaid=emaid))
        header = self._header(now)
        if self._authorized is None:
            return cm.AuthorizationRes(header=header, response_code=OK, evse_processing=ct.Processing.Ongoing)
        if not self._authorized:
            raise RemoteProtocolError(
                "EIM authorization refused", response_code=ct.ResponseCode.WARNING_EIMAuthorizationFailure
            )
        return cm.AuthorizationRes(header=header, response_code=OK, evse_processing=ct.Processing.Finished)

    def _offers_for_namespace(self) -> list[ServiceOffer]:
        allowed = AC_SERVICES if self.namespace == sap.NS_ISO20_AC else DC_SERVICES
        return [o for o in self.config.offers if o.service in allowed]

    def _service_discovery(self, request: cm.ServiceDiscoveryReq, now: float) -> cm.ServiceDiscoveryRes:
        offers = self._offers_for_namespace()
        if request.supported_service_ids is not None:
            wanted = set(request.supported_service_ids.service_id)
            offers = [o for o in offers if o.service in wanted] or offers
        return cm.ServiceDiscoveryRes(
            header=self._header(now),
            response_code=OK,
            service_renegotiation_supported=True,
            energy_transfer_service_list=cm.ServiceList(
                service=tuple(cm.Service(service_id=o.service, free_service=o.free) for o in offers)
            ),
        )

    def _offer(self, service_id: int) -> ServiceOffer | None:
        return next((o for o in self._offers_for_namespace() if o.service == service_id), None)

    def _service_detail(self, request: cm.ServiceDetailReq, now: float) -> cm.ServiceDetailRes:
        offer = self._offer(request.service_id)
        if offer is None:
            raise RemoteProtocolError(
                f"service {request.service_id} not offered",
                response_code=ct.ResponseCode.FAILED_ServiceIDInvalid,
            )
        return cm.ServiceDetailRes(
            header=self._header(now),
            response_code=OK,
            service_id=offer.service,
            service_parameter_list=cm.ServiceParameterList(
                parameter_set=tuple(to_wire(ps) for ps in offer.parameter_sets)
            ),
        )

    def _service_selection(self, request: cm.ServiceSelectionReq, now: float) -> cm.ServiceSelectionRes:
        chosen = request.selected_energy_transfer_service
        offer = self._offer(chosen.service_id)
        ps = (
            None
            if offer is None
            else next(
                (p for p in offer.parameter_sets if p.parameter_set_id == chosen.parameter_set_id), None
            )
        )
        if offer is None or ps is None:
            raise RemoteProtocolError(
                f"service {chosen.service_id}/{chosen.parameter_set_id} not offered",
                response_code=ct.ResponseCode.FAILED_ServiceSelectionInvalid,
            )
        self.service, self.parameter_set = offer.service, ps
        self._emit(ev.ServiceSelected(service=offer.service, parameter_set=ps))
        return cm.ServiceSelectionRes(header=self._header(now), response_code=OK)

    def _metering_confirmation(
        self, request: cm.MeteringConfirmationReq, now: float
    ) -> cm.MeteringConfirmationRes:
        """The EV's signed confirmation of a meter reading; the signature is checked when the
        session has a contract certificate (Plug & Charge), else only the content."""
        data = request.signed_metering_data
        bad = ct.ResponseCode.FAILED_MeteringSignatureNotValid
        if self._notification != ct.EvseNotification.MeteringConfirmation:
            raise SequenceError(self.state.value, "MeteringConfirmationReq (not asked for)")
        if data.session_id != self.session_id or data.meter_info != self._meter:
            raise RemoteProtocolError("confirmed another session or another reading", response_code=bad)
        if self._contract is not None:
            pnc.verify_signature(
                request.header.signature,
                data,
                self._contract,
                allow_sha256=self.config.pnc_allow_sha256,
                bad=bad,
            )
        self._notification = None
        self._emit(
            ev.MeteringConfirmed(
                meter_id=data.meter_info.meter_id,
                charged_Wh=data.meter_info.charged_energy_reading_wh,
                discharged_Wh=data.meter_info.bpt_discharged_energy_reading_wh,
                signed=self._contract is not None,
            )
        )
        return cm.MeteringConfirmationRes(header=self._header(now), response_code=OK)

    def _session_stop(self, request: cm.SessionStopReq, now: float) -> cm.SessionStopRes:
        if request.charging_session == cm.ChargingSession.ServiceRenegotiation:
            self.service = self.parameter_set = None
            self._notification = None
            self._reset_energy()
        return cm.SessionStopRes(header=self._header(now), response_code=OK)


_HANDLERS: dict[type[Any], Any] = {
    cm.SessionSetupReq: Secc._session_setup,
    cm.AuthorizationSetupReq: Secc._authorization_setup,
    cm.AuthorizationReq: Secc._authorization,
    cm.CertificateInstallationReq: Secc._certificate_installation,
    cm.ServiceDiscoveryReq: Secc._service_discovery,
    cm.ServiceDetailReq: Secc._service_detail,
    cm.ServiceSelectionReq: Secc._service_selection,
    cm.ScheduleExchangeReq: Secc._schedule_exchange,
    cm.PowerDeliveryReq: Secc._power_delivery,
    cm.SessionStopReq: Secc._session_stop,
    cm.MeteringConfirmationReq: Secc._metering_confirmation,
    ac.AC_ChargeParameterDiscoveryReq: Secc._ac_charge_parameter_discovery,
    ac.AC_ChargeLoopReq: Secc._ac_charge_loop,
    dc.DC_ChargeParameterDiscoveryReq: Secc._dc_charge_parameter_discovery,
    dc.DC_CableCheckReq: Secc._dc_cable_check,
    dc.DC_PreChargeReq: Secc._dc_pre_charge,
    dc.DC_ChargeLoopReq: Secc._dc_charge_loop,
    dc.DC_WeldingDetectionReq: Secc._dc_welding_detection,
}

__all__ = ["Secc", "SeccConfig"]
