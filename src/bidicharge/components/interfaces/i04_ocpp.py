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

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bidicharge.protocols.ocppj import OcppVersion

if TYPE_CHECKING:
    from bidicharge.runtime.ports import Link
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


def study_carrier(link: Link, trace: TraceRecorder, *, identity: str, version: OcppVersion, action: str,
                  source: str, now: float) -> Callable[[str], str | None]:
    """In a study, how a station's frame reaches its CSMS: over the runtime link to the peer's
    handler, the frame and the answer each traced; None when the peer gave no frame back."""

    def carry(text: str) -> str | None:
        frame = OcppFrame(identity=identity, version=version, text=text)
        trace_frame(trace, frame, interface=link.interface, action=action, source=source,
                    target=link.peer.name, now=now)
        reply = link.peer.handle(link.peer_port.name, frame, link)
        if not isinstance(reply, OcppFrame):
            return None
        trace_frame(trace, reply, interface=link.interface, action=action, source=link.peer.name,
                    target=source, now=now)
        return reply.text

    return carry


class LiveFrameTrace:
    """Live mode: records the frames of one WebSocket connection in the trace, as a study does.

    Given to ``OcppSession.frame_taps`` on the station's side (so a CSMS in the same process
    does not record each frame twice). A response carries only the message id: the action is
    remembered from the CALL it answers (Part 4 §4.2)."""

    def __init__(self, trace: TraceRecorder, *, interface: str, station: str, csms: str, identity: str,
                 version: OcppVersion, now: Callable[[], float]) -> None:
        self.trace, self.interface, self.station, self.csms = trace, interface, station, csms
        self.identity, self.version, self.now = identity, version, now
        self._actions: dict[str, str] = {}  # message id -> action of CALLs not yet answered

    def __call__(self, sent: bool, text: str) -> None:
        if not self.trace.enabled:
            return
        try:
            head = json.loads(text)
            message_id = str(head[1])
        except (ValueError, IndexError, TypeError, KeyError):
            message_id, head = "?", [0]
        kind = head[0] if head else 0
        if kind in (2, 6):  # CALL, SEND: the action is in the frame
            action = str(head[2]) if len(head) > 2 else "?"
            if kind == 2:
                self._actions[message_id] = action
        else:
            action = self._actions.pop(message_id, "?")
        source, target = (self.station, self.csms) if sent else (self.csms, self.station)
        trace_frame(self.trace, OcppFrame(identity=self.identity, version=self.version, text=text),
                    interface=self.interface, action=action, source=source, target=target, now=self.now())
