"""IEC 61851-1 Annex A: CP levels, PWM ↔ current, and the CP order around PowerDelivery."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bidicharge.protocols.iec61851 import (
    HLC_DUTY,
    NOMINAL_V,
    CpState,
    DutyMeaning,
    Phase,
    PilotFault,
    PilotMonitor,
    classify_voltage,
    current_from_duty,
    duty_from_current,
)


@pytest.mark.parametrize(
    ("level_V", "state"),
    [
        (12.0, CpState.A),
        (9.4, CpState.B),
        (5.2, CpState.C),
        (3.0, CpState.D),
        (0.3, CpState.E),
        (-12.0, CpState.F),
        (7.5, None),
    ],
)
def test_levels_map_to_states(level_V, state):
    assert classify_voltage(level_V) is state


def test_nominal_levels_classify_as_themselves():
    assert all(classify_voltage(v) is s for s, v in NOMINAL_V.items())


@pytest.mark.parametrize(
    ("current_A", "duty"), [(6, 0.10), (16, 0.2667), (32, 0.5333), (51, 0.85), (63, 0.892), (80, 0.96)]
)
def test_evse_duty_for_current(current_A, duty):
    assert duty_from_current(current_A) == pytest.approx(duty, abs=1e-4)


@pytest.mark.parametrize(
    ("duty", "meaning", "current_A"),
    [
        (0.02, DutyMeaning.NO_CHARGING, None),
        (0.05, DutyMeaning.HIGH_LEVEL_COMMUNICATION, None),
        (0.075, DutyMeaning.NO_CHARGING, None),
        (0.09, DutyMeaning.CURRENT, 6.0),
        (0.25, DutyMeaning.CURRENT, 15.0),
        (0.90, DutyMeaning.CURRENT, 65.0),
        (0.965, DutyMeaning.CURRENT, 80.0),
        (0.99, DutyMeaning.ERROR, None),
    ],
)
def test_ev_reads_duty(duty, meaning, current_A):
    reading = current_from_duty(duty)
    assert reading.meaning is meaning
    assert reading.max_current_A == (pytest.approx(current_A) if current_A is not None else None)


@given(st.floats(min_value=6.0, max_value=80.0))
def test_duty_and_current_are_inverse(current_A):
    reading = current_from_duty(duty_from_current(current_A))
    assert reading.meaning is DutyMeaning.CURRENT
    if 51.0 < current_A <= 52.5:
        # Table A.7 encodes these as 84.4 %…85 %, which Table A.8 reads with the 0.6 A/% slope:
        # the EV may draw slightly less than offered, never more
        assert reading.max_current_A is not None and current_A - 1.5 <= reading.max_current_A <= current_A
    else:
        assert reading.max_current_A == pytest.approx(current_A, abs=1e-6)


def test_hlc_is_five_percent_and_outside_current_range():
    assert HLC_DUTY == 0.05
    assert current_from_duty(HLC_DUTY).meaning is DutyMeaning.HIGH_LEVEL_COMMUNICATION
    with pytest.raises(ValueError):
        duty_from_current(5.0)


def test_session_order_b_start_c_stop_b_unplug():
    m = PilotMonitor()
    m.measure(9.0, 0.0)
    assert m.phase is Phase.HLC and m.duty == HLC_DUTY and not m.contactor_closed
    m.power_delivery_start(1.0)
    assert not m.contactor_closed  # only once the EV is in C
    m.measure(6.0, 1.1)
    assert m.contactor_closed and m.next_deadline() is None
    m.power_delivery_stop(5.0)
    assert not m.contactor_closed and m.phase is Phase.STOPPING  # opened before the EV leaves C
    m.measure(9.0, 5.1)
    m.measure(12.0, 6.0)
    assert m.phase is Phase.UNPLUGGED and m.duty == 0.0
    assert not [e for e in m.events() if isinstance(e, PilotFault)]


def test_ev_that_does_not_reach_c_within_250_ms_is_a_fault():
    m = PilotMonitor()
    m.measure(9.0, 0.0)
    m.power_delivery_start(1.0)
    assert m.next_deadline() == pytest.approx(1.25)
    m.handle_timeout(1.25)
    assert m.phase is Phase.FAULT and not m.contactor_closed
    assert any(isinstance(e, PilotFault) for e in m.events())


@pytest.mark.parametrize("level_V", [0.0, -12.0, 12.0, 7.5])
def test_short_unavailable_unplug_or_garbage_while_energised_opens_the_contactor(level_V):
    m = PilotMonitor()
    m.measure(9.0, 0.0)
    m.power_delivery_start(0.1)
    m.measure(6.0, 0.2)
    assert m.contactor_closed
    m.measure(level_V, 0.3)
    assert not m.contactor_closed and m.phase is Phase.FAULT


def test_start_while_ev_not_in_b_is_a_fault():
    m = PilotMonitor()
    m.power_delivery_start(0.0)  # nothing plugged in
    assert m.phase is Phase.FAULT
