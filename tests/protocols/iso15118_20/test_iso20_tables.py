"""The SECC's state table, the failure answers, parameter sets and rational numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bidicharge.protocols.exi import encode
from bidicharge.protocols.exi.messages import common_types as ct
from bidicharge.protocols.iso15118_20 import (
    TRANSITIONS,
    SeccState,
    ServiceId,
    bpt_offer,
    from_rational,
    to_rational,
)
from bidicharge.protocols.iso15118_20.responses import FAILED_RESPONSE, failed_response
from bidicharge.protocols.iso15118_20.secc_table import TARGETS, mermaid
from bidicharge.protocols.iso15118_20.services import from_wire, to_wire


def test_every_state_but_stopped_accepts_something_and_stopped_accepts_nothing():
    sources = {state for state, _ in TRANSITIONS}
    assert sources == set(SeccState) - {SeccState.STOPPED}


def test_mermaid_diagram_lists_every_transition():
    diagram = mermaid()
    assert diagram.startswith("stateDiagram-v2")
    edges = sum(1 if isinstance(t, SeccState) else len(TARGETS[t]) for t in TRANSITIONS.values())
    assert diagram.count("-->") == edges + 2
    assert "ChargeLoop --> PowerStopped: PowerDelivery [after_power_delivery]" in diagram
    assert "WaitPreCharge --> WaitPreCharge: DC_PreCharge" in diagram


@pytest.mark.parametrize(
    "request_type", sorted(FAILED_RESPONSE, key=lambda t: t.__name__), ids=lambda t: t.__name__
)
def test_every_failure_answer_is_a_valid_message(request_type):
    answer = failed_response(
        request_type, ct.MessageHeader(session_id=bytes(8), time_stamp=0), ct.ResponseCode.FAILED
    )
    assert encode(answer)  # the schema accepts it


def test_every_request_in_the_table_has_a_failure_answer():
    requests = {msg for _, msg in TRANSITIONS if msg.__name__ != "SupportedAppProtocolReq"}
    assert requests <= set(FAILED_RESPONSE)


@pytest.mark.parametrize("service", [ServiceId.AC_BPT, ServiceId.DC_BPT])
def test_bpt_parameter_sets_carry_channel_generator_mode_and_round_trip(service):
    for ps in bpt_offer(service).parameter_sets:
        wire = to_wire(ps)
        names = {p.name for p in wire.parameter}
        assert {"BPTChannel", "GeneratorMode", "ControlMode", "Connector"} <= names
        assert ("GridCodeIslandingDetectionMethod" in names) is (service is ServiceId.AC_BPT)
        assert from_wire(wire) == ps


@given(st.floats(min_value=-3.2e6, max_value=3.2e6, allow_nan=False))
def test_rational_number_is_within_half_a_step_of_a_16_bit_value(value):
    r = to_rational(value)
    assert -32768 <= r.value <= 32767
    assert from_rational(r) == pytest.approx(value, rel=0.5 / 3276.7, abs=1e-3)


def test_rational_examples():
    assert to_rational(7000) == ct.RationalNumber(exponent=0, value=7000)
    assert to_rational(-11000) == ct.RationalNumber(exponent=0, value=-11000)
    assert to_rational(230.12) == ct.RationalNumber(exponent=-2, value=23012)
    assert to_rational(50_000) == ct.RationalNumber(exponent=1, value=5000)
