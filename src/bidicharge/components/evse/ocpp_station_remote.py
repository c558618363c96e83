"""What a charging station does when its CSMS asks it to start, stop or send something.

OCPP 2.0.1 / 2.1 Part 2: F01/F02 RequestStartTransaction, F03 RequestStopTransaction, F06
TriggerMessage. Each request is answered first; the work it asks for (a TransactionEvent, the
triggered message) is sent *after* the answer (F01.FR.01…, F06.FR.06: "after sending the
TriggerMessageResponse"). So the decision here returns the answer and, when accepted, a
follow-up for the caller to carry out once the answer is on its way — the study wrapper
(:mod:`.ocpp`) at the end of its step, with frames in memory.

Without I/O, on a :class:`.ocpp_station_core.StationCore`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .ocpp_station_core import StationCore, messages_of

# F06: the messages this station sends on request (others: NotImplemented, F06.FR.08)
TRIGGERABLE = frozenset({"BootNotification", "Heartbeat", "StatusNotification", "MeterValues"})


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoteStart:
    """F01: open a transaction on ``evse_id`` for ``id_token``, TransactionEvent Started / RemoteStart."""

    evse_id: int
    id_token: str
    token_type: str
    remote_start_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoteStop:
    """F03: end the transaction on ``evse_id``, TransactionEvent Ended / RemoteStop, stoppedReason Remote."""

    evse_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Trigger:
    """F06: send ``message`` (for each of ``evse_ids`` where it is per EVSE)."""

    message: str
    evse_ids: tuple[int, ...]


FollowUp = RemoteStart | RemoteStop | Trigger


def answer_request_start(core: StationCore, r: Any, *, ev_connected: Callable[[int], bool]) -> tuple[Any, RemoteStart | None]:
    """F01: accepted for a known EVSE without a transaction whose EV is connected.

    This station starts its transactions at EVConnected (TxStartPoint), so an EV plugged in
    without a transaction is one whose transaction the CSMS ended; an empty connector is refused
    (statusInfo ``NoEV``) rather than waiting for a cable (EVConnectionTimeOut is not modelled).
    """
    m = messages_of(core.version)
    evse_id = r.evse_id or 1  # without evseId the station picks one: this station has one
    evse = core.evses.get(evse_id)

    def rejected(code: str, text: str) -> tuple[Any, None]:
        return m.RequestStartTransactionResponse(status=m.RequestStartStopStatusEnumType.REJECTED,
                                                 status_info=m.StatusInfoType(reason_code=code, additional_info=text)), None

    if evse is None:
        return rejected("UnknownEvse", f"no EVSE {evse_id}")
    if evse.transaction_id is not None:
        return rejected("TxInProgress", f"transaction {evse.transaction_id} is running")
    if not ev_connected(evse_id):
        return rejected("NoEV", "no EV connected")
    token_type = str(r.id_token.type)
    response = m.RequestStartTransactionResponse(status=m.RequestStartStopStatusEnumType.ACCEPTED)
    return response, RemoteStart(evse_id=evse_id, id_token=r.id_token.id_token, token_type=token_type,
                                 remote_start_id=r.remote_start_id)


def answer_request_stop(core: StationCore, r: Any) -> tuple[Any, RemoteStop | None]:
    """F03: accepted when a transaction with that id runs here (F03.FR.08: else Rejected)."""
    m = messages_of(core.version)
    for evse in core.evses.values():
        if evse.transaction_id is not None and evse.transaction_id == r.transaction_id:
            return (m.RequestStopTransactionResponse(status=m.RequestStartStopStatusEnumType.ACCEPTED),
                    RemoteStop(evse_id=evse.evse_id))
    return m.RequestStopTransactionResponse(status=m.RequestStartStopStatusEnumType.REJECTED), None


def answer_trigger(core: StationCore, r: Any) -> tuple[Any, Trigger | None]:
    """F06: Accepted for the messages in ``TRIGGERABLE``; NotImplemented for others; Rejected
    for an EVSE this station does not have (F06.FR.17)."""
    m = messages_of(core.version)
    what = str(r.requested_message)
    if what not in TRIGGERABLE:
        return m.TriggerMessageResponse(status=m.TriggerMessageStatusEnumType.NOT_IMPLEMENTED), None
    if r.evse is not None and r.evse.id not in core.evses:
        return m.TriggerMessageResponse(status=m.TriggerMessageStatusEnumType.REJECTED), None
    evse_ids = tuple(core.evses) if r.evse is None else (r.evse.id,)
    return m.TriggerMessageResponse(status=m.TriggerMessageStatusEnumType.ACCEPTED), Trigger(message=what,
                                                                                               evse_ids=evse_ids)


def meter_values_request(core: StationCore, evse_id: int) -> Any:
    """J01 MeterValues: the EVSE meter's import and export registers, apart (outside a transaction
    or on a trigger)."""
    m = messages_of(core.version)
    evse = core.evses[evse_id]
    unit = m.UnitOfMeasureType(unit="Wh")
    values = (m.SampledValueType(value=evse.import_Wh, measurand=m.MeasurandEnumType.ENERGY_ACTIVE_IMPORT_REGISTER,
                                 unit_of_measure=unit, context=m.ReadingContextEnumType.TRIGGER),
              m.SampledValueType(value=evse.export_Wh, measurand=m.MeasurandEnumType.ENERGY_ACTIVE_EXPORT_REGISTER,
                                 unit_of_measure=unit, context=m.ReadingContextEnumType.TRIGGER))
    return m.MeterValuesRequest(evse_id=evse_id, meter_value=(m.MeterValueType(timestamp=core.now(),
                                                                               sampled_value=values),))


def triggered_requests(core: StationCore, trigger: Trigger) -> list[Any]:
    """The requests a ``Trigger`` sends, in order."""
    if trigger.message == "BootNotification":
        return [core.boot_request("Triggered")]
    if trigger.message == "Heartbeat":
        return [core.heartbeat_request()]
    if trigger.message == "StatusNotification":
        return [core.status_request(evse_id) for evse_id in trigger.evse_ids]
    return [meter_values_request(core, evse_id) for evse_id in trigger.evse_ids]

