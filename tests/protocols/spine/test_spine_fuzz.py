"""Hypothesis against the SPINE decoder and node: bad input never escapes as an exception."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bidicharge.protocols.spine import (
    Address,
    Cmd,
    CmdClassifier,
    Datagram,
    FeatureRole,
    FunctionSpec,
    Header,
    LocalDevice,
    RemoteProtocolError,
    SpineNode,
    decode_datagram,
)
from bidicharge.protocols.spine.values import (
    float_to_scaled,
    format_duration_s,
    parse_duration_s,
    scaled_to_float,
)

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(
    ["read", "write", "call", "reply", "notify", "result", "loadControlLimitListData", "x"]))
json_values: Any = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(
        ["datagram", "header", "payload", "cmd", "msgCounter", "cmdClassifier", "addressSource",
         "addressDestination", "entity", "feature", "device", "function", "filter", "cmdControl", "partial",
         "loadControlLimitListData", "loadControlLimitData", "limitId", "ackRequest"]), inner, max_size=4)),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_decoder_raises_only_remote_protocol_error(document: Any) -> None:
    try:
        decode_datagram(document)
    except RemoteProtocolError:
        pass


def make_node() -> SpineNode:
    device = LocalDevice("d:_i:1_Fuzz", "EnergyManagementSystem")
    feature = device.add_entity("CEM").add_feature("LoadControl", FeatureRole.SERVER, (
        FunctionSpec(function="loadControlLimitListData", write=True, partial_write=True),))
    feature.data["loadControlLimitListData"] = {"loadControlLimitData": [{"limitId": 0}]}
    return SpineNode(device)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["header", "payload"]), json_values, max_size=2))
def test_node_survives_any_datagram(body: dict[str, Any]) -> None:
    node = make_node()
    node.receive("peer", {"datagram": body}, 0.0)
    node.datagrams_to_send()
    list(node.events())


addresses = st.builds(Address, device=st.none() | st.text(min_size=1, max_size=10),
                      entity=st.lists(st.integers(0, 5), max_size=3).map(tuple),
                      feature=st.none() | st.integers(0, 10))


@settings(max_examples=200, deadline=None)
@given(addresses, addresses, st.integers(0, 2**31), st.sampled_from(CmdClassifier), st.booleans(),
       st.dictionaries(st.text(min_size=1, max_size=5), st.integers(), max_size=3))
def test_datagram_round_trip(src: Address, dst: Address, counter: int, classifier: CmdClassifier,
                             partial: bool, data: dict[str, int]) -> None:
    datagram = Datagram(header=Header(address_source=src, address_destination=dst, msg_counter=counter,
                                      cmd_classifier=classifier),
                        cmds=(Cmd(function="measurementListData", data=data, partial=partial,
                                  explicit_function=partial),))
    assert decode_datagram(datagram.to_json()) == datagram


@given(st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: round(x, 3)))
def test_scaled_number_round_trip(value: float) -> None:
    assert scaled_to_float(float_to_scaled(value)) == value


@given(st.integers(0, 10 * 86400))
def test_duration_round_trip(seconds: int) -> None:
    assert parse_duration_s(format_duration_s(seconds)) == seconds
