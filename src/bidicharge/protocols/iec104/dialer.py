"""When a controlling station dials, and when it gives up: t0 and reconnection, sans-I/O.

IEC 60870-5-104 9.6 defines t0 as the time-out of connection establishment; clause 10
(redundancy, and the general rule that the controlling station re-establishes a lost
connection) leaves the retry interval to the implementation. Here: retry after
``reconnect_delay_s``, doubling after every failed attempt up to ``max_reconnect_delay_s``,
back to the first delay once a connection has been up. The adapter asks
:meth:`Dialer.next_deadline`, dials when :meth:`Dialer.due` says so, and reports what
happened; it never decides timing itself.
"""

from __future__ import annotations

from enum import Enum

from .errors import LocalProtocolError
from .link import ApciParameters


class DialState(Enum):
    WAITING = "waiting"  # until the next attempt is due
    CONNECTING = "connecting"  # TCP connect under way, guarded by t0
    CONNECTED = "connected"


class Dialer:
    def __init__(
        self,
        *,
        now: float,
        parameters: ApciParameters | None = None,
        reconnect_delay_s: float = 0.5,
        max_reconnect_delay_s: float = 30.0,
    ) -> None:
        if not 0 < reconnect_delay_s <= max_reconnect_delay_s:
            raise ValueError("need 0 < reconnect_delay_s <= max_reconnect_delay_s")
        self.parameters = parameters or ApciParameters()
        self.reconnect_delay_s = reconnect_delay_s
        self.max_reconnect_delay_s = max_reconnect_delay_s
        self.state = DialState.WAITING
        self._delay_s = reconnect_delay_s
        self._next_attempt = now  # the first attempt is due at once
        self._t0_deadline: float | None = None
        self.attempts = 0
        self.last_failure: str | None = None

    def due(self, now: float) -> bool:
        """True when a connection attempt should start now."""
        return self.state is DialState.WAITING and now >= self._next_attempt

    def dialling(self, *, now: float) -> None:
        if not self.due(now):
            raise LocalProtocolError(f"no connection attempt is due ({self.state.value})")
        self.state = DialState.CONNECTING
        self._t0_deadline = now + self.parameters.t0_s
        self.attempts += 1

    def connected(self, *, now: float) -> None:
        if self.state is not DialState.CONNECTING:
            raise LocalProtocolError("connected without dialling")
        self.state = DialState.CONNECTED
        self._t0_deadline = None
        self._delay_s = self.reconnect_delay_s

    def failed(self, reason: str, *, now: float) -> None:
        """The attempt failed (refused, unreachable, t0): wait, longer each time."""
        self.last_failure = reason
        self.state = DialState.WAITING
        self._t0_deadline = None
        self._next_attempt = now + self._delay_s
        self._delay_s = min(self._delay_s * 2, self.max_reconnect_delay_s)

    def disconnected(self, reason: str, *, now: float) -> None:
        """An established connection ended: try again after the first delay."""
        self.last_failure = reason
        self.state = DialState.WAITING
        self._next_attempt = now + self.reconnect_delay_s

    def next_deadline(self) -> float | None:
        if self.state is DialState.CONNECTING:
            return self._t0_deadline
        if self.state is DialState.WAITING:
            return self._next_attempt
        return None

    def handle_timeout(self, now: float) -> None:
        if self._t0_deadline is not None and now >= self._t0_deadline:
            self.failed(f"t0 expired: no connection within {self.parameters.t0_s} s", now=now)
