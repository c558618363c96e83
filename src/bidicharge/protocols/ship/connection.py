"""The SHIP connection as a sans-I/O state machine (SHIP 1.0.1 clause 13.4).

Rules, in the order a connection lives through them:

1. CMI (13.4.3): the client sends ``00 00``; the server checks it and echoes it.
2. Hello (13.4.4.1): both send ``connectionHello``. A node that trusts the peer's SKI
   sends ``ready`` and waits ``T_hello_init`` (60 s) for the peer's ``ready``; a node that
   still waits for its user sends ``pending`` and asks the ready peer to prolong
   (``prolongationRequest``) 30 s before the peer's announced waiting time runs out; the
   ready peer extends its wait by ``T_hello_inc`` and answers with the time left.
   ``aborted``, a timeout, or the user's rejection end the connection (close 4452).
3. Protocol handshake (13.4.4.2): client ``announceMax``, server ``select``, client echoes
   ``select``. We speak version 1.0 with ``JSON-UTF8``; a peer announcing 1.x is answered
   with 1.0 (the highest common version). Errors: ``messageProtocolHandshakeError``.
4. PIN (13.4.4.3): each side states ``none`` or ``required``; a required PIN is sent with
   ``connectionPinInput`` and confirmed with ``pinOk`` or refused with ``connectionPinError``.
5. Access methods (13.4.6): ``accessMethodsRequest`` <-> ``accessMethods{id}``; the SHIP id
   must match the paired one (close 4450). Data arriving early is buffered.
6. Data (13.4.5) until one side announces ``connectionClose`` and the other confirms (13.4.7).

The table :data:`TRANSITIONS` maps (state, message class) to the handler that decides the
next state; a pair missing from it is a protocol error answered as the phase prescribes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

from bidicharge.protocols.ship import messages as m
from bidicharge.protocols.ship.eebus_json import JsonObject
from bidicharge.protocols.ship.errors import (
    CloseCode,
    HandshakeErrorCode,
    LocalProtocolError,
    RemoteProtocolError,
)

T_HELLO_INIT_S: Final = 60.0
T_HELLO_INC_S: Final = T_HELLO_INIT_S  # SHIP 13.4.4.1.3: same value as T_hello_init
T_HELLO_PROLONG_THR_INC_S: Final = 30.0  # ask for prolongation this long before the peer gives up
T_HELLO_PROLONG_MIN_S: Final = 1.0  # a peer announcing less is broken (or hostile): abort
HANDSHAKE_TIMEOUT_S: Final = 10.0
CLOSE_MAX_TIME_MS: Final = 500
MAX_PIN_ATTEMPTS: Final = 3
SUPPORTED_VERSION: Final = (1, 0)


class Role(Enum):
    CLIENT = "client"
    SERVER = "server"


class ShipState(Enum):
    CMI_CLIENT_WAIT = "cmi client wait"
    CMI_SERVER_WAIT = "cmi server wait"
    HELLO_READY_LISTEN = "hello ready listen"
    HELLO_PENDING_LISTEN = "hello pending listen"
    PROTOCOL_CLIENT_WAIT_SELECT = "protocol client wait select"
    PROTOCOL_SERVER_WAIT_ANNOUNCE = "protocol server wait announceMax"
    PROTOCOL_SERVER_WAIT_SELECT = "protocol server wait select"
    PIN_EXCHANGE = "pin exchange"
    ACCESS_METHODS_WAIT = "access methods wait"
    DATA = "data"
    CLOSE_ANNOUNCED = "close announced"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True, kw_only=True)
class ShipConfig:
    local_ship_id: str
    trusted: bool  # the peer's SKI is paired (or auto-accept is configured)
    expected_remote_ship_id: str | None = None
    local_pin: str | None = None  # we require the peer to enter this PIN
    remote_pin: str | None = None  # the PIN we enter if the peer requires one
    hello_init_s: float = T_HELLO_INIT_S
    handshake_timeout_s: float = HANDSHAKE_TIMEOUT_S


# --- events --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class HandshakeComplete:
    remote_ship_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DataReceived:
    payload: JsonObject


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageDropped:
    """A broken message in the data phase: dropped and reported, the connection stays."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Closed:
    close_code: CloseCode
    reason: str
    by_peer: bool


ShipEvent = HandshakeComplete | DataReceived | MessageDropped | Closed

_HANDSHAKE_STATES: Final = frozenset({ShipState.PROTOCOL_CLIENT_WAIT_SELECT,
                                      ShipState.PROTOCOL_SERVER_WAIT_ANNOUNCE,
                                      ShipState.PROTOCOL_SERVER_WAIT_SELECT})
_HELLO_STATES: Final = frozenset({ShipState.HELLO_READY_LISTEN, ShipState.HELLO_PENDING_LISTEN})


class ShipConnection:
    """One SHIP connection; bytes in, events and bytes out, time given by the caller."""

    def __init__(self, role: Role, config: ShipConfig) -> None:
        self.role = role
        self.config = config
        self.state = ShipState.CMI_CLIENT_WAIT if role is Role.CLIENT else ShipState.CMI_SERVER_WAIT
        self.remote_ship_id: str | None = None
        self.selected_version: tuple[int, int] | None = None
        self._trusted = config.trusted
        self._outbox: list[bytes] = []
        self._events: list[ShipEvent] = []
        self._deadline: float | None = None
        self._prolong_at: float | None = None
        self._peer_ready = False
        self._peer_pin_done = False
        self._local_pin_done = config.local_pin is None
        self._pin_failures = 0
        self._early_data: list[JsonObject] = []
        self._started = False

    # --- intents ---------------------------------------------------------------------

    def start(self, now: float) -> None:
        """Begin the handshake (the client sends CMI; the server starts its CMI timer)."""
        if self._started:
            raise LocalProtocolError("SHIP connection already started")
        self._started = True
        if self.role is Role.CLIENT:
            self._send(m.Cmi())
        self._deadline = now + self.config.handshake_timeout_s

    def approve(self, now: float) -> None:
        """The user trusts the peer (pairing accepted) while hello is pending."""
        self._trusted = True
        if self.state is not ShipState.HELLO_PENDING_LISTEN:
            return
        remaining_ms = int(max(0.0, (self._deadline or now) - now) * 1000)
        self._send(m.ConnectionHello(phase=m.HelloPhase.READY, waiting_ms=remaining_ms))
        self._prolong_at = None
        if self._peer_ready:
            self.state = self._enter_protocol_handshake(now)
        else:
            self.state = ShipState.HELLO_READY_LISTEN

    def reject(self, now: float) -> None:
        """The user refuses the peer: hello ``aborted``, close 4452 (SHIP 13.4.4.1.3)."""
        if self.state in _HELLO_STATES:
            self._send(m.ConnectionHello(phase=m.HelloPhase.ABORTED))
        self._finish(CloseCode.REJECTED_BY_APPLICATION, "node rejected by application", by_peer=False)

    def send_data(self, payload: JsonObject) -> None:
        if self.state is not ShipState.DATA:
            raise LocalProtocolError(f"cannot send data in SHIP state {self.state.value}")
        self._send(m.Data(payload=payload))

    def close(self, now: float) -> None:
        """Announce the end of the connection (13.4.7) and wait for the confirm."""
        if self.state in (ShipState.CLOSED, ShipState.CLOSE_ANNOUNCED):
            return
        self._send(m.ConnectionClose(phase=m.ClosePhase.ANNOUNCE, max_time_ms=CLOSE_MAX_TIME_MS))
        self.state = ShipState.CLOSE_ANNOUNCED
        self._deadline = now + CLOSE_MAX_TIME_MS / 1000

    # --- inputs ----------------------------------------------------------------------

    def receive_bytes(self, frame: bytes, now: float) -> None:
        """One websocket message from the peer."""
        if self.state is ShipState.CLOSED:
            return
        try:
            message = m.decode(frame)
        except RemoteProtocolError as exc:
            if self.state is ShipState.DATA and exc.close_code is CloseCode.PROTOCOL_ERROR:
                self._events.append(MessageDropped(reason=exc.reason))
                return
            self._fail(exc)
            return
        try:
            self.receive_message(message, now)
        except RemoteProtocolError as exc:
            self._fail(exc)

    def receive_message(self, message: m.ShipMessage, now: float) -> None:
        if isinstance(message, m.ConnectionClose) and message.phase is m.ClosePhase.ANNOUNCE:
            self._send(m.ConnectionClose(phase=m.ClosePhase.CONFIRM))
            self._finish(CloseCode.NORMAL, "closed by peer", by_peer=True)
            return
        handler = TRANSITIONS.get((self.state, type(message)))
        if handler is None:
            raise RemoteProtocolError(
                f"unexpected {type(message).__name__} in SHIP state {self.state.value}",
                handshake_error=HandshakeErrorCode.UNEXPECTED_MESSAGE)
        self.state = handler(self, message, now)

    # --- time ------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        times = [t for t in (self._deadline, self._prolong_at) if t is not None]
        return min(times) if times and self.state is not ShipState.CLOSED else None

    def handle_timeout(self, now: float) -> None:
        if self.state is ShipState.CLOSED:
            return
        if self._prolong_at is not None and now >= self._prolong_at:
            self._prolong_at = None
            self._send(m.ConnectionHello(phase=m.HelloPhase.PENDING, prolongation_request=True))
        if self._deadline is None or now < self._deadline:
            return
        if self.state is ShipState.CLOSE_ANNOUNCED:
            self._finish(CloseCode.NORMAL, "close confirm not received in time", by_peer=False)
        elif self.state is ShipState.DATA:
            self._deadline = None
        else:
            self._fail(RemoteProtocolError(f"timeout in SHIP state {self.state.value}",
                                           handshake_error=HandshakeErrorCode.TIMEOUT))

    # --- outputs ---------------------------------------------------------------------

    def data_to_send(self) -> list[bytes]:
        """Websocket binary messages to send, in order."""
        out, self._outbox = self._outbox, []
        return out

    def events(self) -> Iterator[ShipEvent]:
        while self._events:
            yield self._events.pop(0)

    @property
    def closed(self) -> bool:
        return self.state is ShipState.CLOSED

    # --- helpers used by the transition handlers -------------------------------------

    def _send(self, message: m.ShipMessage) -> None:
        self._outbox.append(m.encode(message))

    def _finish(self, code: CloseCode, reason: str, *, by_peer: bool) -> None:
        self.state = ShipState.CLOSED
        self._deadline = self._prolong_at = None
        self._events.append(Closed(close_code=code, reason=reason, by_peer=by_peer))

    def _fail(self, exc: RemoteProtocolError) -> None:
        """Answer a peer's protocol error as the phase prescribes, then close."""
        if self.state in _HELLO_STATES:
            self._send(m.ConnectionHello(phase=m.HelloPhase.ABORTED))
        elif self.state in _HANDSHAKE_STATES:
            error = exc.handshake_error or HandshakeErrorCode.UNEXPECTED_MESSAGE
            self._send(m.ProtocolHandshakeError(error=int(error)))
        elif self.state in (ShipState.DATA, ShipState.PIN_EXCHANGE, ShipState.ACCESS_METHODS_WAIT):
            self._send(m.ConnectionClose(phase=m.ClosePhase.ANNOUNCE, max_time_ms=CLOSE_MAX_TIME_MS,
                                         reason=m.CloseReason.UNSPECIFIC))
        self._finish(exc.close_code, exc.reason, by_peer=False)

    def _enter_hello(self, now: float) -> ShipState:
        self._deadline = now + self.config.hello_init_s
        waiting_ms = int(self.config.hello_init_s * 1000)
        if self._trusted:
            self._send(m.ConnectionHello(phase=m.HelloPhase.READY, waiting_ms=waiting_ms))
            return ShipState.HELLO_READY_LISTEN
        self._send(m.ConnectionHello(phase=m.HelloPhase.PENDING, waiting_ms=waiting_ms))
        return ShipState.HELLO_PENDING_LISTEN

    def _enter_protocol_handshake(self, now: float) -> ShipState:
        self._deadline = now + self.config.handshake_timeout_s
        self._prolong_at = None
        if self.role is Role.CLIENT:
            major, minor = SUPPORTED_VERSION
            self._send(m.ProtocolHandshake(handshake_type=m.HandshakeType.ANNOUNCE_MAX,
                                           version_major=major, version_minor=minor))
            return ShipState.PROTOCOL_CLIENT_WAIT_SELECT
        return ShipState.PROTOCOL_SERVER_WAIT_ANNOUNCE

    def _enter_pin(self, now: float) -> ShipState:
        self._deadline = now + self.config.handshake_timeout_s
        if self.config.local_pin is None:
            self._send(m.ConnectionPinState(pin_state=m.PinState.NONE))
        else:
            self._send(m.ConnectionPinState(pin_state=m.PinState.REQUIRED,
                                            input_permission=m.PinInputPermission.OK))
        return ShipState.PIN_EXCHANGE

    def _after_pin_step(self, now: float) -> ShipState:
        if not (self._peer_pin_done and self._local_pin_done):
            return ShipState.PIN_EXCHANGE
        self._deadline = now + self.config.handshake_timeout_s
        self._send(m.AccessMethodsRequest())
        return ShipState.ACCESS_METHODS_WAIT

    def _schedule_prolongation(self, waiting_ms: int, now: float) -> None:
        """Ask for more time ``T_hello_prolong_thr_inc`` before the peer's announced wait ends."""
        waiting_s = waiting_ms / 1000
        if waiting_s < T_HELLO_PROLONG_MIN_S:
            raise RemoteProtocolError(f"hello waiting time {waiting_ms} ms below the minimum")
        self._prolong_at = now + max(0.0, waiting_s - T_HELLO_PROLONG_THR_INC_S)


# --- transition handlers: (connection, message, now) -> next state -----------------------

Handler = Callable[[ShipConnection, Any, float], ShipState]


def _client_cmi(c: ShipConnection, msg: m.Cmi, now: float) -> ShipState:
    return c._enter_hello(now)


def _server_cmi(c: ShipConnection, msg: m.Cmi, now: float) -> ShipState:
    c._send(m.Cmi())
    return c._enter_hello(now)


def _hello_ready_listen(c: ShipConnection, msg: m.ConnectionHello, now: float) -> ShipState:
    if msg.phase is m.HelloPhase.READY:
        return c._enter_protocol_handshake(now)
    if msg.phase is m.HelloPhase.ABORTED:
        c._finish(CloseCode.REJECTED_BY_APPLICATION, "peer aborted hello", by_peer=True)
        return ShipState.CLOSED
    if msg.prolongation_request:  # the pending peer needs more time: extend (not restart) our wait
        c._deadline = (c._deadline if c._deadline is not None else now) + T_HELLO_INC_S
        c._send(m.ConnectionHello(phase=m.HelloPhase.READY, waiting_ms=int((c._deadline - now) * 1000)))
    return ShipState.HELLO_READY_LISTEN


def _hello_pending_listen(c: ShipConnection, msg: m.ConnectionHello, now: float) -> ShipState:
    if msg.phase is m.HelloPhase.ABORTED:
        c._finish(CloseCode.REJECTED_BY_APPLICATION, "peer aborted hello", by_peer=True)
        return ShipState.CLOSED
    if msg.phase is m.HelloPhase.READY:
        if msg.waiting_ms is None:
            raise RemoteProtocolError("hello ready without waiting time while we are pending")
        c._peer_ready = True
        c._schedule_prolongation(msg.waiting_ms, now)
    elif msg.prolongation_request:
        c._send(m.ConnectionHello(phase=m.HelloPhase.PENDING, waiting_ms=int(c.config.hello_init_s * 1000)))
    elif msg.waiting_ms is not None:
        c._schedule_prolongation(msg.waiting_ms, now)
    return ShipState.HELLO_PENDING_LISTEN


def _hello_after_handshake_started(c: ShipConnection, msg: m.ConnectionHello, now: float) -> ShipState:
    # The peer may repeat "ready" (answer to a prolongation) after we moved on: harmless.
    if msg.phase is not m.HelloPhase.READY:
        raise RemoteProtocolError("hello after the hello phase")
    return c.state


def _check_offer(msg: m.ProtocolHandshake) -> None:
    if m.FORMAT_JSON_UTF8 not in msg.formats:
        raise RemoteProtocolError("no common SHIP format",
                                  handshake_error=HandshakeErrorCode.SELECTION_MISMATCH)
    if msg.version_major != SUPPORTED_VERSION[0]:
        raise RemoteProtocolError(f"SHIP version {msg.version_major}.{msg.version_minor} not supported",
                                  handshake_error=HandshakeErrorCode.SELECTION_MISMATCH)


def _client_select(c: ShipConnection, msg: m.ProtocolHandshake, now: float) -> ShipState:
    if msg.handshake_type is not m.HandshakeType.SELECT:
        raise RemoteProtocolError("expected select", handshake_error=HandshakeErrorCode.UNEXPECTED_MESSAGE)
    _check_offer(msg)
    if (msg.version_major, msg.version_minor) > SUPPORTED_VERSION or len(msg.formats) != 1:
        raise RemoteProtocolError("server selected what we did not announce",
                                  handshake_error=HandshakeErrorCode.SELECTION_MISMATCH)
    c.selected_version = (msg.version_major, msg.version_minor)
    c._send(msg)  # the client confirms by echoing the selection
    return c._enter_pin(now)


def _server_announce(c: ShipConnection, msg: m.ProtocolHandshake, now: float) -> ShipState:
    if msg.handshake_type is not m.HandshakeType.ANNOUNCE_MAX:
        raise RemoteProtocolError("expected announceMax", handshake_error=HandshakeErrorCode.UNEXPECTED_MESSAGE)
    _check_offer(msg)
    c.selected_version = min(SUPPORTED_VERSION, (msg.version_major, msg.version_minor))
    major, minor = c.selected_version
    c._send(m.ProtocolHandshake(handshake_type=m.HandshakeType.SELECT, version_major=major,
                                version_minor=minor))
    return ShipState.PROTOCOL_SERVER_WAIT_SELECT


def _server_select(c: ShipConnection, msg: m.ProtocolHandshake, now: float) -> ShipState:
    if (msg.handshake_type is not m.HandshakeType.SELECT
            or (msg.version_major, msg.version_minor) != c.selected_version
            or msg.formats != (m.FORMAT_JSON_UTF8,)):
        raise RemoteProtocolError("client select differs from ours",
                                  handshake_error=HandshakeErrorCode.SELECTION_MISMATCH)
    return c._enter_pin(now)


def _handshake_error(c: ShipConnection, msg: m.ProtocolHandshakeError, now: float) -> ShipState:
    c._finish(CloseCode.PROTOCOL_ERROR, f"peer reported handshake error {msg.error}", by_peer=True)
    return ShipState.CLOSED


def _pin_state(c: ShipConnection, msg: m.ConnectionPinState, now: float) -> ShipState:
    if msg.pin_state in (m.PinState.NONE, m.PinState.PIN_OK):
        c._peer_pin_done = True
    elif c.config.remote_pin is not None:
        if msg.input_permission is not m.PinInputPermission.BUSY:
            c._send(m.ConnectionPinInput(pin=c.config.remote_pin))
    elif msg.pin_state is m.PinState.OPTIONAL:
        c._peer_pin_done = True
    else:
        raise RemoteProtocolError("peer requires a PIN and none is configured")
    return c._after_pin_step(now)


def _pin_input(c: ShipConnection, msg: m.ConnectionPinInput, now: float) -> ShipState:
    if c.config.local_pin is None:
        raise RemoteProtocolError("PIN sent but none required")
    if msg.pin == c.config.local_pin:
        c._local_pin_done = True
        c._send(m.ConnectionPinState(pin_state=m.PinState.PIN_OK))
        return c._after_pin_step(now)
    c._pin_failures += 1
    c._send(m.ConnectionPinError(error=1))
    if c._pin_failures >= MAX_PIN_ATTEMPTS:
        raise RemoteProtocolError("too many wrong PINs")
    return ShipState.PIN_EXCHANGE


def _pin_error(c: ShipConnection, msg: m.ConnectionPinError, now: float) -> ShipState:
    raise RemoteProtocolError(f"peer refused our PIN (error {msg.error})")


def _access_methods_request(c: ShipConnection, msg: m.AccessMethodsRequest, now: float) -> ShipState:
    c._send(m.AccessMethods(ship_id=c.config.local_ship_id))
    return c.state


def _access_methods(c: ShipConnection, msg: m.AccessMethods, now: float) -> ShipState:
    expected = c.config.expected_remote_ship_id
    if expected is not None and msg.ship_id != expected:
        raise RemoteProtocolError(f"SHIP id {msg.ship_id!r} is not the paired {expected!r}",
                                  close_code=CloseCode.SHIP_ID_MISMATCH)
    c.remote_ship_id = msg.ship_id
    c._deadline = None
    c._events.append(HandshakeComplete(remote_ship_id=msg.ship_id))
    for payload in c._early_data:
        c._events.append(DataReceived(payload=payload))
    c._early_data.clear()
    return ShipState.DATA


def _access_methods_again(c: ShipConnection, msg: m.AccessMethods, now: float) -> ShipState:
    if msg.ship_id != c.remote_ship_id:
        raise RemoteProtocolError("SHIP id changed", close_code=CloseCode.SHIP_ID_MISMATCH)
    return c.state


def _early_data(c: ShipConnection, msg: m.Data, now: float) -> ShipState:
    c._early_data.append(msg.payload)  # SHIP 13.4.6: the peer may finish before us
    return c.state


def _data(c: ShipConnection, msg: m.Data, now: float) -> ShipState:
    if msg.protocol_id != m.SHIP_PROTOCOL_ID:
        c._events.append(MessageDropped(reason=f"unknown protocolId {msg.protocol_id!r}"))
    else:
        c._events.append(DataReceived(payload=msg.payload))
    return c.state


def _close_confirm(c: ShipConnection, msg: m.ConnectionClose, now: float) -> ShipState:
    c._finish(CloseCode.NORMAL, "closed", by_peer=False)
    return ShipState.CLOSED


S = ShipState
TRANSITIONS: Final[dict[tuple[ShipState, type], Handler]] = {
    (S.CMI_CLIENT_WAIT, m.Cmi): _client_cmi,
    (S.CMI_SERVER_WAIT, m.Cmi): _server_cmi,
    (S.HELLO_READY_LISTEN, m.ConnectionHello): _hello_ready_listen,
    (S.HELLO_PENDING_LISTEN, m.ConnectionHello): _hello_pending_listen,
    (S.PROTOCOL_CLIENT_WAIT_SELECT, m.ConnectionHello): _hello_after_handshake_started,
    (S.PROTOCOL_SERVER_WAIT_ANNOUNCE, m.ConnectionHello): _hello_after_handshake_started,
    (S.PROTOCOL_CLIENT_WAIT_SELECT, m.ProtocolHandshake): _client_select,
    (S.PROTOCOL_SERVER_WAIT_ANNOUNCE, m.ProtocolHandshake): _server_announce,
    (S.PROTOCOL_SERVER_WAIT_SELECT, m.ProtocolHandshake): _server_select,
    (S.PROTOCOL_CLIENT_WAIT_SELECT, m.ProtocolHandshakeError): _handshake_error,
    (S.PROTOCOL_SERVER_WAIT_ANNOUNCE, m.ProtocolHandshakeError): _handshake_error,
    (S.PROTOCOL_SERVER_WAIT_SELECT, m.ProtocolHandshakeError): _handshake_error,
    (S.PIN_EXCHANGE, m.ConnectionPinState): _pin_state,
    (S.PIN_EXCHANGE, m.ConnectionPinInput): _pin_input,
    (S.PIN_EXCHANGE, m.ConnectionPinError): _pin_error,
    (S.PIN_EXCHANGE, m.AccessMethodsRequest): _access_methods_request,
    (S.ACCESS_METHODS_WAIT, m.AccessMethodsRequest): _access_methods_request,
    (S.ACCESS_METHODS_WAIT, m.AccessMethods): _access_methods,
    (S.ACCESS_METHODS_WAIT, m.Data): _early_data,
    (S.DATA, m.AccessMethodsRequest): _access_methods_request,
    (S.DATA, m.AccessMethods): _access_methods_again,
    (S.DATA, m.Data): _data,
    (S.CLOSE_ANNOUNCED, m.Data): _data,
    (S.CLOSE_ANNOUNCED, m.ConnectionClose): _close_confirm,
}


def mermaid() -> str:
    """The transition table as a Mermaid state diagram (for the docs)."""
    lines = ["stateDiagram-v2"]
    for (state, message), handler in TRANSITIONS.items():
        lines.append(f"    {state.name} --> {state.name}: {message.__name__} / {handler.__name__.lstrip('_')}")
    return "\n".join(lines)
