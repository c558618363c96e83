"""SHIP framing and EEBUS-JSON: exact wire text, round trips, and a fuzzed decoder."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bidicharge.protocols.ship import eebus_json
from bidicharge.protocols.ship import messages as m
from bidicharge.protocols.ship.errors import RemoteProtocolError


def test_data_payload_is_the_special_case_without_array() -> None:
    datagram = {"datagram": {"header": {"specificationVersion": "1.3.0", "msgCounter": 1},
                             "payload": {"cmd": [{"nodeManagementDetailedDiscoveryData": {}}]}}}
    wire = m.encode(m.Data(payload=datagram))
    assert wire == (b'\x02{"data":[{"header":[{"protocolId":"ee1.0"}]},{"payload":{"datagram":[{"header":'
                    b'[{"specificationVersion":"1.3.0"},{"msgCounter":1}]},{"payload":[{"cmd":'
                    b'[[{"nodeManagementDetailedDiscoveryData":[]}]]}]}]}}]}')
    assert m.decode(wire) == m.Data(payload=datagram)


def test_scalar_lists_stay_plain_and_string_with_brackets_survives() -> None:
    plain = {"x": {"entity": [1, 1], "description": 'a [{"b"},{c}] <&>'}}
    text = eebus_json.encode_document(plain)
    assert '"entity":[1,1]' in text and "\\u003c" in text
    assert eebus_json.decode_document(text) == plain


def test_trailing_nul_is_stripped() -> None:
    assert m.decode(b'\x01{"accessMethodsRequest":[]}\x00') == m.AccessMethodsRequest()


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**9, 10**9), st.text(max_size=8))
plain_values: Any = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(json_scalars, min_size=1, max_size=3),  # [] is an empty element by definition
        st.lists(st.dictionaries(st.text(min_size=1, max_size=5), inner, min_size=1, max_size=3),
                 min_size=1, max_size=3),
        st.dictionaries(st.text(min_size=1, max_size=5), inner, min_size=1, max_size=4),
    ),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=5), plain_values, min_size=1, max_size=4))
def test_plain_round_trip(body: dict[str, Any]) -> None:
    document = {"top": body}
    text = eebus_json.encode_document(document)
    assert eebus_json.decode_document(text) == document
    assert eebus_json.encode_document(eebus_json.decode_document(text)) == text


ship_messages = st.one_of(
    st.builds(m.ConnectionHello, phase=st.sampled_from(m.HelloPhase),
              waiting_ms=st.none() | st.integers(0, 2**31), prolongation_request=st.none() | st.booleans()),
    st.builds(m.ProtocolHandshake, handshake_type=st.sampled_from(m.HandshakeType),
              version_major=st.integers(0, 9), version_minor=st.integers(0, 9),
              formats=st.lists(st.text(min_size=1, max_size=10), min_size=1, max_size=3).map(tuple)),
    st.builds(m.ConnectionPinState, pin_state=st.sampled_from(m.PinState),
              input_permission=st.none() | st.sampled_from(m.PinInputPermission)),
    st.builds(m.ConnectionPinInput, pin=st.text(min_size=1, max_size=16)),
    st.builds(m.AccessMethods, ship_id=st.text(min_size=1, max_size=20), dns_sd_mdns=st.booleans(),
              dns_uri=st.none() | st.text(max_size=20)),
    st.builds(m.ConnectionClose, phase=st.sampled_from(m.ClosePhase),
              max_time_ms=st.none() | st.integers(0, 10**6), reason=st.none() | st.sampled_from(m.CloseReason)),
    st.just(m.AccessMethodsRequest()), st.just(m.Cmi()),
)


@settings(max_examples=300, deadline=None)
@given(ship_messages)
def test_ship_message_round_trip(message: m.ShipMessage) -> None:
    assert m.decode(m.encode(message)) == message


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_decoder_rejects_garbage_only_with_remote_protocol_error(frame: bytes) -> None:
    try:
        m.decode(frame)
    except RemoteProtocolError:
        pass


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([0, 1, 2, 3]), plain_values)
def test_decoder_on_json_shaped_garbage(kind: int, body: Any) -> None:
    frame = bytes([kind]) + json.dumps({"connectionHello": body}).encode()
    try:
        m.decode(frame)
    except RemoteProtocolError:
        pass


def test_unknown_control_message_is_remote_error() -> None:
    with pytest.raises(RemoteProtocolError):
        m.decode(b'\x01{"somethingElse":[]}')
