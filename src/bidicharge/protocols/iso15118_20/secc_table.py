"""The SECC's state machine as data (ISO 15118-20 message sequence, the "SECC
communication states").

Rules:

* A state names the requests the SECC accepts next; `TRANSITIONS[state, type(request)]`
  gives the next state, or a small function of (request, response) when the content
  decides (EVSEProcessing=Ongoing repeats a request; ChargeProgress and ChargingSession
  choose the branch).
* A request with no entry is out of sequence: the SECC answers it with its own response type
  and ``FAILED_SequenceError``, then stops the session (ISO 15118-20 sequence
  error handling).
* After SessionSetup every request must carry the session's SessionID, else
  ``FAILED_UnknownSession`` and stop.
* Every ``FAILED…`` answer ends the session; ``STOPPED`` accepts nothing.
* DC only: CableCheck and PreCharge lie between ScheduleExchange and PowerDelivery(Start);
  WeldingDetection after PowerDelivery(Stop). A PowerDelivery(ScheduleRenegotiation)
  returns to ScheduleExchange, a SessionStop(ServiceRenegotiation) to ServiceDiscovery.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any, Final

from bidicharge.protocols.exi.messages import ac, dc
from bidicharge.protocols.exi.messages import app_protocol as ap
from bidicharge.protocols.exi.messages import common_messages as cm
from bidicharge.protocols.exi.messages import common_types as ct

from .errors import SequenceError


class SeccState(Enum):
    WAIT_SUPPORTED_APP_PROTOCOL = "WaitSupportedAppProtocol"
    WAIT_SESSION_SETUP = "WaitSessionSetup"
    WAIT_AUTHORIZATION_SETUP = "WaitAuthorizationSetup"
    WAIT_AUTHORIZATION = "WaitAuthorization"
    WAIT_SERVICE_DISCOVERY = "WaitServiceDiscovery"
    WAIT_SERVICE_SELECTION = "WaitServiceSelection"  # ServiceDetail may come first, repeatedly
    WAIT_CHARGE_PARAMETER_DISCOVERY = "WaitChargeParameterDiscovery"
    WAIT_SCHEDULE_EXCHANGE = "WaitScheduleExchange"
    WAIT_CABLE_CHECK = "WaitCableCheck"
    WAIT_PRE_CHARGE = "WaitPreCharge"
    WAIT_POWER_DELIVERY = "WaitPowerDelivery"
    CHARGE_LOOP = "ChargeLoop"
    POWER_STOPPED = "PowerStopped"
    STOPPED = "Stopped"


S = SeccState
Next = SeccState | Callable[[Any, Any], SeccState]


# The states a content-dependent transition may lead to (for the diagram)
TARGETS: Final[dict[Callable[[Any, Any], SeccState], tuple[SeccState, ...]]] = {}


def _processing(state: SeccState, done: SeccState) -> Callable[[Any, Any], SeccState]:
    """Stay in `state` while the response says EVSEProcessing=Ongoing."""

    def choose(_request: Any, response: Any) -> SeccState:
        return done if response.evse_processing == ct.Processing.Finished else state

    choose.__name__ = f"until_finished_then_{done.name.lower()}"
    TARGETS[choose] = (state, done)
    return choose


def after_schedule_exchange(request: cm.ScheduleExchangeReq, response: cm.ScheduleExchangeRes) -> SeccState:
    """AC goes to PowerDelivery; DC to CableCheck (skipped when renegotiating: the cable was checked)."""
    if response.evse_processing != ct.Processing.Finished:
        return S.WAIT_SCHEDULE_EXCHANGE
    return S.WAIT_POWER_DELIVERY


def after_power_delivery(request: cm.PowerDeliveryReq, _response: Any) -> SeccState:
    match request.charge_progress:
        case cm.ChargeProgress.Start | cm.ChargeProgress.Standby:
            return S.CHARGE_LOOP
        case cm.ChargeProgress.Stop:
            return S.POWER_STOPPED
        case cm.ChargeProgress.ScheduleRenegotiation:
            return S.WAIT_SCHEDULE_EXCHANGE


def after_session_stop(request: cm.SessionStopReq, _response: Any) -> SeccState:
    if request.charging_session == cm.ChargingSession.ServiceRenegotiation:
        return S.WAIT_SERVICE_DISCOVERY
    return S.STOPPED


_STOP_ANYTIME: Final = (
    S.WAIT_AUTHORIZATION_SETUP,
    S.WAIT_AUTHORIZATION,
    S.WAIT_SERVICE_DISCOVERY,
    S.WAIT_SERVICE_SELECTION,
    S.WAIT_CHARGE_PARAMETER_DISCOVERY,
    S.WAIT_SCHEDULE_EXCHANGE,
    S.WAIT_CABLE_CHECK,
    S.WAIT_PRE_CHARGE,
    S.WAIT_POWER_DELIVERY,
    S.POWER_STOPPED,
)

TRANSITIONS: Final[dict[tuple[SeccState, type[Any]], Next]] = {
    (S.WAIT_SUPPORTED_APP_PROTOCOL, ap.SupportedAppProtocolReq): S.WAIT_SESSION_SETUP,
    (S.WAIT_SESSION_SETUP, cm.SessionSetupReq): S.WAIT_AUTHORIZATION_SETUP,
    (S.WAIT_AUTHORIZATION_SETUP, cm.AuthorizationSetupReq): S.WAIT_AUTHORIZATION,
    # an EV without a contract may install one first (only when AuthorizationSetupRes offered it)
    (S.WAIT_AUTHORIZATION, cm.CertificateInstallationReq): S.WAIT_AUTHORIZATION,
    (S.WAIT_AUTHORIZATION, cm.AuthorizationReq): _processing(S.WAIT_AUTHORIZATION, S.WAIT_SERVICE_DISCOVERY),
    (S.WAIT_SERVICE_DISCOVERY, cm.ServiceDiscoveryReq): S.WAIT_SERVICE_SELECTION,
    (S.WAIT_SERVICE_SELECTION, cm.ServiceDetailReq): S.WAIT_SERVICE_SELECTION,
    (S.WAIT_SERVICE_SELECTION, cm.ServiceSelectionReq): S.WAIT_CHARGE_PARAMETER_DISCOVERY,
    (S.WAIT_CHARGE_PARAMETER_DISCOVERY, ac.AC_ChargeParameterDiscoveryReq): S.WAIT_SCHEDULE_EXCHANGE,
    (S.WAIT_CHARGE_PARAMETER_DISCOVERY, dc.DC_ChargeParameterDiscoveryReq): S.WAIT_SCHEDULE_EXCHANGE,
    (S.WAIT_SCHEDULE_EXCHANGE, cm.ScheduleExchangeReq): after_schedule_exchange,
    # DC: the EV leads CableCheck and PreCharge after ScheduleExchange
    (S.WAIT_POWER_DELIVERY, dc.DC_CableCheckReq): _processing(S.WAIT_CABLE_CHECK, S.WAIT_PRE_CHARGE),
    (S.WAIT_CABLE_CHECK, dc.DC_CableCheckReq): _processing(S.WAIT_CABLE_CHECK, S.WAIT_PRE_CHARGE),
    (S.WAIT_PRE_CHARGE, dc.DC_PreChargeReq): S.WAIT_PRE_CHARGE,
    (S.WAIT_PRE_CHARGE, cm.PowerDeliveryReq): after_power_delivery,
    (S.WAIT_POWER_DELIVERY, cm.PowerDeliveryReq): after_power_delivery,
    (S.CHARGE_LOOP, ac.AC_ChargeLoopReq): S.CHARGE_LOOP,
    (S.CHARGE_LOOP, dc.DC_ChargeLoopReq): S.CHARGE_LOOP,
    (S.CHARGE_LOOP, cm.MeteringConfirmationReq): S.CHARGE_LOOP,
    (S.CHARGE_LOOP, cm.PowerDeliveryReq): after_power_delivery,
    (S.POWER_STOPPED, dc.DC_WeldingDetectionReq): S.POWER_STOPPED,
    (S.POWER_STOPPED, cm.PowerDeliveryReq): after_power_delivery,
    **{(state, cm.SessionStopReq): after_session_stop for state in _STOP_ANYTIME},
    (S.CHARGE_LOOP, cm.SessionStopReq): after_session_stop,
}


def expected_requests(state: SeccState) -> list[type[Any]]:
    """The request types `state` accepts, in table order."""
    return [msg for (st, msg) in TRANSITIONS if st is state]


def next_state(state: SeccState, request: Any, response: Any) -> SeccState:
    try:
        target = TRANSITIONS[state, type(request)]
    except KeyError:
        raise SequenceError(state.value, type(request).__name__) from None
    return target if isinstance(target, SeccState) else target(request, response)


def check_sequence(state: SeccState, request: Any) -> None:
    """Raise SequenceError (answered FAILED_SequenceError) if `state` does not accept `request`."""
    if (state, type(request)) not in TRANSITIONS:
        raise SequenceError(state.value, type(request).__name__)


TARGETS[after_schedule_exchange] = (S.WAIT_SCHEDULE_EXCHANGE, S.WAIT_POWER_DELIVERY)
TARGETS[after_power_delivery] = (S.CHARGE_LOOP, S.POWER_STOPPED, S.WAIT_SCHEDULE_EXCHANGE)
TARGETS[after_session_stop] = (S.WAIT_SERVICE_DISCOVERY, S.STOPPED)


def mermaid() -> str:
    """The table as a Mermaid state diagram (for docs/iso15118_20.md)."""
    lines = ["stateDiagram-v2", f"    [*] --> {S.WAIT_SUPPORTED_APP_PROTOCOL.value}"]
    for (state, msg), target in TRANSITIONS.items():
        name = msg.__name__.removesuffix("Req")
        if isinstance(target, SeccState):
            lines.append(f"    {state.value} --> {target.value}: {name}")
        else:
            lines.extend(
                f"    {state.value} --> {t.value}: {name} [{target.__name__}]" for t in TARGETS[target]
            )
    lines.append(f"    {S.STOPPED.value} --> [*]")
    return "\n".join(lines)
