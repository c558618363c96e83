"""Property tests: every message the grammar allows survives encode -> decode unchanged."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bidicharge.protocols.exi import (
    DEFAULT_CODEC,
    NS_AC,
    NS_COMMON_MESSAGES,
    NS_XMLDSIG,
    SCHEMA_NAMESPACES,
    decode,
    decode_element,
    encode,
    encode_fragment,
    from_wire_dict,
    to_wire_dict,
)
from bidicharge.protocols.exi.grammar import Grammar
from bidicharge.protocols.exi.messages import ac
from bidicharge.protocols.exi.messages import common_types as ct
from bidicharge.protocols.exi.samples import Unsamplable, sample_message

ROOTS = [
    (ns, local, g)
    for ns in SCHEMA_NAMESPACES
    for local, g in DEFAULT_CODEC.roots(ns)
    if local.endswith(("Req", "Res"))
]


def _draw_message(data: st.DataObject, g: Grammar) -> object:
    try:
        return sample_message(g, lambda n: data.draw(st.integers(0, n - 1)), max_repeat=2)
    except Unsamplable:
        pytest.skip("content is only wildcards")


@pytest.mark.parametrize(("namespace", "local", "grammar"), ROOTS, ids=[r[1] for r in ROOTS])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_decode_inverts_encode(namespace: str, local: str, grammar: Grammar, data: st.DataObject) -> None:
    message = _draw_message(data, grammar)
    assert decode(encode(message, namespace, element=local), namespace) == message


@pytest.mark.parametrize(("namespace", "local", "grammar"), ROOTS[:: max(1, len(ROOTS) // 12)])
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_wire_dict_round_trips(namespace: str, local: str, grammar: Grammar, data: st.DataObject) -> None:
    message = _draw_message(data, grammar)
    assert from_wire_dict(to_wire_dict(message, namespace, element=local), namespace) == message


def _rational(value: int, exponent: int = 0) -> ct.RationalNumber:
    return ct.RationalNumber(exponent=exponent, value=value)


def test_discharge_command_survives_the_wire() -> None:
    """An EVSE commanding -7 kW in AC_BPT Dynamic mode: the EV reads back exactly -7 kW."""
    res = ac.AC_ChargeLoopRes(
        header=ct.MessageHeader(session_id=bytes(8), time_stamp=1_700_000_000),
        response_code=ct.ResponseCode.OK,
        bpt_dynamic_ac_cl_res_control_mode=ac.BPT_Dynamic_AC_CLResControlMode(
            evse_target_active_power=_rational(-7, exponent=3),
        ),
    )
    back = decode(encode(res), NS_AC)
    target = back.bpt_dynamic_ac_cl_res_control_mode.evse_target_active_power
    assert target.value * 10**target.exponent == -7000


SIGNED_ELEMENTS = [
    (NS_COMMON_MESSAGES, "PnC_AReqAuthorizationMode"),
    (NS_COMMON_MESSAGES, "OEMProvisioningCertificateChain"),
    (NS_COMMON_MESSAGES, "SignedMeteringData"),
    (NS_XMLDSIG, "SignedInfo"),
]


@pytest.mark.parametrize(("namespace", "element"), SIGNED_ELEMENTS)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fragment_decode_inverts_encode(namespace: str, element: str, data: st.DataObject) -> None:
    grammar = DEFAULT_CODEC.fragment_grammar(namespace, element)
    message = _draw_message(data, grammar)
    encoded = encode_fragment(message, namespace, element=element)
    assert decode_element(encoded, namespace, fragment=True) == (element, message)
