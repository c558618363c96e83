"""Connection establishment of the controlling station: t0 and reconnection back-off (104 9.6)."""

from __future__ import annotations

import pytest

from bidicharge.protocols.iec104 import ApciParameters, Dialer, DialState, LocalProtocolError

P = ApciParameters(t0_s=30.0)


def test_first_attempt_is_due_at_once_and_guarded_by_t0() -> None:
    dialer = Dialer(now=100.0, parameters=P)
    assert dialer.due(100.0)
    dialer.dialling(now=100.0)
    assert dialer.next_deadline() == 130.0
    dialer.handle_timeout(129.9)
    assert dialer.state is DialState.CONNECTING
    dialer.handle_timeout(130.0)
    assert dialer.state is DialState.WAITING
    assert dialer.last_failure is not None and "t0" in dialer.last_failure


def test_failed_attempts_back_off_exponentially_up_to_the_maximum() -> None:
    dialer = Dialer(now=0.0, parameters=P, reconnect_delay_s=1.0, max_reconnect_delay_s=5.0)
    now, waits = 0.0, []
    for _ in range(6):
        dialer.dialling(now=now)
        dialer.failed("refused", now=now)
        deadline = dialer.next_deadline()
        assert deadline is not None
        waits.append(deadline - now)
        assert not dialer.due(deadline - 0.01)
        now = deadline
    assert waits == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


def test_lost_connection_retries_after_the_first_delay_again() -> None:
    dialer = Dialer(now=0.0, parameters=P, reconnect_delay_s=1.0, max_reconnect_delay_s=8.0)
    for now in (0.0, 1.0, 3.0):
        dialer.dialling(now=now)
        dialer.failed("refused", now=now)
    dialer.dialling(now=7.0)
    dialer.connected(now=7.0)
    assert dialer.next_deadline() is None
    dialer.disconnected("t1 expired", now=50.0)
    assert dialer.next_deadline() == 51.0
    dialer.dialling(now=51.0)
    dialer.failed("refused", now=51.0)
    assert dialer.next_deadline() == 52.0  # the back-off starts afresh


def test_dialling_before_it_is_due_is_our_error() -> None:
    dialer = Dialer(now=0.0, parameters=P)
    dialer.dialling(now=0.0)
    with pytest.raises(LocalProtocolError):
        dialer.dialling(now=0.0)
