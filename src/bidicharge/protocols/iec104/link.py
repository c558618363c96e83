"""The APCI link of IEC 60870-5-104 clause 5 as a sans-I/O state machine.

Rules (104 5.1-5.3, parameters 9.6 table 3):

* Data transfer is switched on and off with STARTDT/STOPDT; only the controlling
  station sends the activations, the controlled station confirms. The controlled
  station sends I frames only while started; while stopped its ASDUs wait in the
  queue. On STOPDT act it confirms once every I frame it sent has been acknowledged.
* Every I frame carries N(S) (the sender's V(S)) and N(R) (the sender's V(R), which
  acknowledges every I frame below it). A received N(S) other than our V(R), or an
  N(R) acknowledging frames we never sent, closes the connection (5.1).
* At most ``k`` I frames are unacknowledged; the sender stops at ``k`` (the window
  stalls) until an acknowledgement arrives. The receiver acknowledges at the latest
  after ``w`` I frames, or ``t2`` after the first unacknowledged one.
* ``t1``: an I frame or a U activation unacknowledged this long closes the link.
  ``t3``: a link idle this long is tested with TESTFR act. ``t0`` (connection
  establishment) belongs to whoever opens the socket: :attr:`ApciParameters.t0_s`.

The legal STARTDT/STOPDT transitions are :data:`TRANSITIONS`; a failed lookup is a
protocol error of whoever caused it. Time comes in as ``now`` (seconds, any epoch);
outgoing bytes collect in :meth:`data_to_send`, results leave through :meth:`events`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Final

from .apci import SEQ_MODULO, ApduReader, IFrame, SFrame, UFrame, UFunction, encode_i, encode_s, encode_u
from .errors import LocalProtocolError, RemoteProtocolError


class Role(Enum):
    CONTROLLING = "controlling"  # master, TCP client: sends STARTDT act
    CONTROLLED = "controlled"  # outstation, TCP server: confirms STARTDT


class LinkState(Enum):
    STOPPED = "stopped"
    START_PENDING = "start pending"  # STARTDT act sent, waiting for con
    STARTED = "started"
    # STOPDT act sent (controlling), or received while our frames are in flight (controlled)
    STOP_PENDING = "stop pending"
    CLOSED = "closed"


class Intent(Enum):
    START = "start"
    STOP = "stop"


R, S, U = Role, LinkState, UFunction

#: (role, state, local intent or received U function) -> next state.
TRANSITIONS: Final[dict[tuple[Role, LinkState, Intent | UFunction], LinkState]] = {
    (R.CONTROLLING, S.STOPPED, Intent.START): S.START_PENDING,
    (R.CONTROLLING, S.START_PENDING, U.STARTDT_CON): S.STARTED,
    (R.CONTROLLING, S.STARTED, Intent.STOP): S.STOP_PENDING,
    (R.CONTROLLING, S.STOP_PENDING, U.STOPDT_CON): S.STOPPED,
    (R.CONTROLLED, S.STOPPED, U.STARTDT_ACT): S.STARTED,
    (R.CONTROLLED, S.STARTED, U.STARTDT_ACT): S.STARTED,  # repeated activation: confirm again
    (R.CONTROLLED, S.STARTED, U.STOPDT_ACT): S.STOP_PENDING,  # -> STOPPED once our frames are acknowledged
    (R.CONTROLLED, S.STOP_PENDING, U.STOPDT_ACT): S.STOP_PENDING,
    (R.CONTROLLED, S.STOPPED, U.STOPDT_ACT): S.STOPPED,
}

#: States in which a received I frame is legal. The controlling station still takes
#: the frames the controlled station had in flight when it asked to stop.
ACCEPTS_I_FRAMES: Final = frozenset(
    {(R.CONTROLLING, S.STARTED), (R.CONTROLLING, S.STOP_PENDING), (R.CONTROLLED, S.STARTED)}
)

_ACT_CON: Final = {U.STARTDT_ACT: U.STARTDT_CON, U.STOPDT_ACT: U.STOPDT_CON, U.TESTFR_ACT: U.TESTFR_CON}


def next_link_state(role: Role, state: LinkState, trigger: Intent | UFunction) -> LinkState:
    try:
        return TRANSITIONS[role, state, trigger]
    except KeyError:
        message = f"{role.value} station in state {state.value!r} cannot take {trigger.name}"
        if isinstance(trigger, Intent):
            raise LocalProtocolError(message) from None
        raise RemoteProtocolError(message, close_connection=True) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class ApciParameters:
    """Protocol parameters of IEC 60870-5-104 9.6 with the standard's defaults."""

    k: int = 12
    w: int = 8
    t0_s: float = 30.0
    t1_s: float = 15.0
    t2_s: float = 10.0
    t3_s: float = 20.0

    def __post_init__(self) -> None:
        if not 1 <= self.k <= SEQ_MODULO - 1 or not 1 <= self.w <= self.k:
            raise ValueError(f"need 1 <= w <= k <= 32767, got k={self.k} w={self.w}")
        if not 0 < self.t2_s < self.t1_s or self.t3_s <= 0 or self.t0_s <= 0:
            raise ValueError("need 0 < t2 < t1 and positive t0, t3 (104 9.6)")


# --- events --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DataTransferStarted:
    """STARTDT confirmed: I frames flow."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DataTransferStopped:
    """STOPDT confirmed: no I frames flow."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AsduReceived:
    asdu: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkClosed:
    """The link must be (or was) closed; the adapter closes the socket."""

    reason: str


LinkEvent = DataTransferStarted | DataTransferStopped | AsduReceived | LinkClosed


def _distance(low: int, high: int) -> int:
    return (high - low) % SEQ_MODULO


class ApciLink:
    """One TCP connection's APCI state: sequence numbers, windows, timers, STARTDT."""

    def __init__(self, role: Role, *, now: float, parameters: ApciParameters | None = None) -> None:
        self.role = role
        self.parameters = parameters or ApciParameters()
        self.state = LinkState.STOPPED
        self._reader = ApduReader()
        self._out = bytearray()
        self._events: deque[LinkEvent] = deque()
        self._queue: deque[bytes] = deque()
        self._vs = 0  # V(S): N(S) of our next I frame
        self._va = 0  # oldest of our I frames not yet acknowledged
        self._vr = 0  # V(R): N(S) we expect next
        self._acked_vr = 0  # the last N(R) we sent
        self._sent_at: deque[float] = deque()  # send time of each unacknowledged I frame, oldest first
        self._pending_u: dict[UFunction, float] = {}  # our U activations awaiting con -> sent at
        self._t2_since: float | None = None
        self._last_rx = now
        self.closed_reason: str | None = None

    # --- intents ---------------------------------------------------------------------

    def start_data_transfer(self, *, now: float) -> None:
        """Controlling station: send STARTDT act."""
        self.state = next_link_state(self.role, self.state, Intent.START)
        self._send_u(U.STARTDT_ACT, now)

    def stop_data_transfer(self, *, now: float) -> None:
        """Controlling station: acknowledge what we hold, then send STOPDT act."""
        self.state = next_link_state(self.role, self.state, Intent.STOP)
        self._acknowledge()
        self._send_u(U.STOPDT_ACT, now)

    def send_asdu(self, asdu: bytes, *, now: float) -> None:
        """Queue an ASDU; it leaves as an I frame when started and the k window is open."""
        if self.state is LinkState.CLOSED:
            raise LocalProtocolError("link is closed")
        self._queue.append(asdu)
        self._flush(now)

    def connection_lost(self, reason: str = "connection lost") -> None:
        """The transport lost the socket."""
        self._close(reason)

    def close(self, reason: str = "closed locally") -> None:
        self._close(reason)

    # --- inputs ----------------------------------------------------------------------

    def receive_data(self, data: bytes, *, now: float) -> None:
        """Take octets from the socket. Faults close the link (see :meth:`events`)."""
        if self.state is LinkState.CLOSED:
            return
        self._last_rx = now
        try:
            for apdu in self._reader.feed(data):
                if isinstance(apdu, IFrame):
                    self._on_i(apdu, now)
                elif isinstance(apdu, SFrame):
                    self._on_ack(apdu.recv_seq, now)
                else:
                    self._on_u(apdu, now)
                if self.closed_reason is not None:
                    return
        except RemoteProtocolError as exc:
            self._close(str(exc))

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timeout` next has something to do, or None."""
        if self.state is LinkState.CLOSED:
            return None
        p = self.parameters
        deadlines = [self._last_rx + p.t3_s]
        if self._sent_at:
            deadlines.append(self._sent_at[0] + p.t1_s)
        deadlines.extend(sent + p.t1_s for sent in self._pending_u.values())
        if self._t2_since is not None:
            deadlines.append(self._t2_since + p.t2_s)
        return min(deadlines)

    def handle_timeout(self, now: float) -> None:
        if self.state is LinkState.CLOSED:
            return
        p = self.parameters
        if self._sent_at and now >= self._sent_at[0] + p.t1_s:
            # 104 5.2: no acknowledgement of an I frame within t1 -> close.
            self._close(f"t1 expired: I frame N(S)={self._va} unacknowledged for {p.t1_s} s")
            return
        for function, sent in self._pending_u.items():
            if now >= sent + p.t1_s:
                self._close(f"t1 expired: {function.name} unconfirmed for {p.t1_s} s")
                return
        if self._t2_since is not None and now >= self._t2_since + p.t2_s:
            self._acknowledge()
        if now >= self._last_rx + p.t3_s:
            if U.TESTFR_ACT not in self._pending_u:
                self._send_u(U.TESTFR_ACT, now)
            self._last_rx = now  # t3 runs again; the TESTFR itself is guarded by t1

    # --- outputs ---------------------------------------------------------------------

    def data_to_send(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def events(self) -> Iterator[LinkEvent]:
        while self._events:
            yield self._events.popleft()

    @property
    def unacknowledged_sent(self) -> int:
        return _distance(self._va, self._vs)

    @property
    def queued(self) -> int:
        """ASDUs waiting for STARTDT or for the k window."""
        return len(self._queue)

    @property
    def send_sequence(self) -> int:
        return self._vs

    @property
    def receive_sequence(self) -> int:
        return self._vr

    # --- internals -------------------------------------------------------------------

    def _on_i(self, frame: IFrame, now: float) -> None:
        if (self.role, self.state) not in ACCEPTS_I_FRAMES:
            raise RemoteProtocolError(
                f"I frame while {self.state.value}: data transfer was not started", close_connection=True
            )
        if frame.send_seq != self._vr:
            raise RemoteProtocolError(
                f"sequence error: received N(S)={frame.send_seq}, expected {self._vr}", close_connection=True
            )
        self._vr = (self._vr + 1) % SEQ_MODULO
        self._on_ack(frame.recv_seq, now)
        self._events.append(AsduReceived(asdu=frame.asdu))
        # Acknowledge at w frames (5.5); while stopping, at once so the peer can confirm STOPDT.
        if _distance(self._acked_vr, self._vr) >= self.parameters.w or self.state is LinkState.STOP_PENDING:
            self._acknowledge()
        elif self._t2_since is None:
            self._t2_since = now

    def _on_ack(self, recv_seq: int, now: float) -> None:
        acked = _distance(self._va, recv_seq)
        if acked > self.unacknowledged_sent:
            raise RemoteProtocolError(
                f"sequence error: N(R)={recv_seq} acknowledges frames never sent "
                f"(unacknowledged {self._va}..{self._vs})",
                close_connection=True,
            )
        for _ in range(acked):
            self._sent_at.popleft()
        self._va = recv_seq
        if acked:
            self._flush(now)
        if self.state is LinkState.STOP_PENDING and self.role is Role.CONTROLLED and not self._sent_at:
            self._confirm_stop()

    def _on_u(self, frame: UFrame, now: float) -> None:
        function = frame.function
        if function is U.TESTFR_ACT:
            self._out += encode_u(U.TESTFR_CON)
            return
        if function is U.TESTFR_CON:
            self._pending_u.pop(U.TESTFR_ACT, None)  # an unsolicited con is harmless
            return
        before = self.state
        self.state = next_link_state(self.role, self.state, function)
        if function in (U.STARTDT_CON, U.STOPDT_CON):
            self._pending_u.pop(U.STARTDT_ACT if function is U.STARTDT_CON else U.STOPDT_ACT, None)
        if function is U.STARTDT_ACT:
            self._out += encode_u(U.STARTDT_CON)
        elif function is U.STOPDT_ACT:
            self._acknowledge()
            if not self._sent_at:
                self._confirm_stop()
            return
        if self.state is LinkState.STARTED and before is not LinkState.STARTED:
            self._events.append(DataTransferStarted())
            self._flush(now)
        elif self.state is LinkState.STOPPED and before is not LinkState.STOPPED:
            self._events.append(DataTransferStopped())

    def _confirm_stop(self) -> None:
        was = self.state
        self.state = LinkState.STOPPED
        self._out += encode_u(U.STOPDT_CON)
        if was is not LinkState.STOPPED:
            self._events.append(DataTransferStopped())

    def _flush(self, now: float) -> None:
        if self.state is not LinkState.STARTED:
            return
        k = self.parameters.k
        while self._queue and _distance(self._va, self._vs) < k:
            self._out += encode_i(self._vs, self._vr, self._queue.popleft())
            self._sent_at.append(now)
            self._vs = (self._vs + 1) % SEQ_MODULO
            self._acked_vr = self._vr
            self._t2_since = None

    def _acknowledge(self) -> None:
        if self._acked_vr != self._vr:
            self._out += encode_s(self._vr)
            self._acked_vr = self._vr
        self._t2_since = None

    def _send_u(self, function: UFunction, now: float) -> None:
        self._out += encode_u(function)
        if function in _ACT_CON:
            self._pending_u[function] = now

    def _close(self, reason: str) -> None:
        if self.state is LinkState.CLOSED:
            return
        self.state = LinkState.CLOSED
        self.closed_reason = reason
        self._queue.clear()
        self._events.append(LinkClosed(reason=reason))
