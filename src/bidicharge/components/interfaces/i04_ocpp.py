"""I-04 (EVSE – CPO backend) and I-05 (EVSE – EVSE backend) in a study: OCPP-J frames on a runtime link.

In live mode these interfaces are OCPP-J over WebSocket. In a study the same frames — produced,
validated and parsed by ``protocols/ocppj`` — travel in memory between the station (``evse``)
and its CSMS (``cpo_backend``/``evse_backend``) as :class:`OcppFrame` envelopes; ``identity``
and ``version`` are what the WebSocket would carry in its URL path and subprotocol. Each frame
is recorded in the trace under its OCPP action (``BootNotification``,
``TransactionEventResponse``, ``SetChargingProfile``, ``CALLERROR SetChargingProfile``, …) with
the frame text as summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bidicharge.protocols.ocppj import OcppVersion

if TYPE_CHECKING:
    from bidicharge.runtime.trace import TraceRecorder


@dataclass(frozen=True, slots=True, kw_only=True)
class OcppFrame:
    identity: str  # the charging station's identity (OCPP-J: the last URL path segment)
    version: OcppVersion  # the negotiated subprotocol
    text: str  # one OCPP-J frame


def frame_name(frame: str, action: str) -> str:
    """The trace name of a frame of the exchange about ``action`` (Part 4 §4.2 message types)."""
    kind = frame[1:2]
    if kind == "2":
        return action
    if kind == "3":
        return f"{action}Response"
    if kind == "4":
        return f"CALLERROR {action}"
    if kind == "5":
        return f"CALLRESULTERROR {action}"
    return f"SEND {action}"


def trace_frame(trace: TraceRecorder, frame: OcppFrame, *, interface: str, action: str, source: str, target: str,
                now: float) -> None:
    if not trace.enabled:
        return
    protocol = "OCPP 2.1" if frame.version is OcppVersion.V2_1 else "OCPP 2.0.1"
    trace.record(time_s=now, interface=interface, source=source, target=target, protocol=protocol,
                 message=frame_name(frame.text, action), summary=frame.text)
