"""Two SPINE nodes in memory: discovery, use cases, subscriptions, bindings, writes, results."""

from __future__ import annotations

from typing import Any

import pytest

from bidicharge.protocols.spine import (
    Address,
    BindingChanged,
    CommandRefused,
    ErrorNumber,
    FeatureRole,
    FunctionSpec,
    LocalDataWritten,
    LocalDevice,
    RemoteDataUpdated,
    ResultReceived,
    SpineNode,
    UseCasesReceived,
    UseCaseSupport,
)
from bidicharge.protocols.spine.memory import MemoryLink

LIMITS = "loadControlLimitListData"


def make_pair() -> tuple[MemoryLink, SpineNode, SpineNode, Any, Any]:
    server_dev = LocalDevice("d:_i:99999_CS-1", "EnergyManagementSystem")
    cem = server_dev.add_entity("CEM")
    lc_server = cem.add_feature("LoadControl", FeatureRole.SERVER, (
        FunctionSpec(function="loadControlLimitDescriptionListData"),
        FunctionSpec(function=LIMITS, write=True, partial_write=True)))
    lc_server.data[LIMITS] = {"loadControlLimitData": [
        {"limitId": 0, "isLimitChangeable": True, "isLimitActive": False, "value": {"number": 4200, "scale": 0}},
        {"limitId": 1, "isLimitChangeable": True, "isLimitActive": False, "value": {"number": 10000, "scale": 0}}]}
    client_dev = LocalDevice("d:_i:99999_EG-1", "ControlBox")
    grid = client_dev.add_entity("GridGuard")
    lc_client = grid.add_feature("LoadControl", FeatureRole.CLIENT)
    server, client = SpineNode(server_dev), SpineNode(client_dev)
    server.add_use_case(UseCaseSupport(entity=cem.address, actor="ControllableSystem",
                                       name="limitationOfPowerConsumption", version="1.0.0", scenarios=(1, 2, 3, 4)))
    link = MemoryLink()
    link.add("cs", server)
    link.add("eg", client)
    link.connect("cs", "eg", 0.0)
    return link, server, client, lc_server, lc_client


def remote_lc(client: SpineNode) -> Any:
    (feature,) = client.remote("cs").find("LoadControl", FeatureRole.SERVER)
    return feature


def test_discovery_and_use_cases_are_exchanged_on_connect() -> None:
    link, server, client, _, _ = make_pair()
    assert client.remote("cs").address == "d:_i:99999_CS-1"
    assert client.remote("cs").entity_types[(1,)] == "CEM"
    assert remote_lc(client).functions[LIMITS].partial_write
    ucs = [e for e in client.events() if isinstance(e, UseCasesReceived)]
    assert ucs[0].use_cases[0].name == "limitationOfPowerConsumption"
    # node management subscriptions both ways were acknowledged
    assert len(server.subscriptions) == 1 and len(client.subscriptions) == 1


def test_write_without_binding_is_refused_with_error_9_and_not_applied() -> None:
    link, server, client, lc_server, lc_client = make_pair()
    client.write("cs", lc_client, remote_lc(client).address, LIMITS,
                 {"loadControlLimitData": [{"limitId": 0, "value": {"number": 1, "scale": 0}}]}, 1.0)
    link.pump(1.0)
    results = [e for e in client.events() if isinstance(e, ResultReceived) and e.function == LIMITS]
    assert results[0].error_number is ErrorNumber.BINDING_IS_NECESSARY_FOR_THIS_COMMAND
    assert lc_server.data[LIMITS]["loadControlLimitData"][0]["value"]["number"] == 4200


def test_partial_write_after_binding_keeps_other_limits_and_notifies_subscriber() -> None:
    link, server, client, lc_server, lc_client = make_pair()
    feature = remote_lc(client)
    client.subscribe("cs", lc_client, feature, 1.0)
    client.bind("cs", lc_client, feature, 1.0)
    link.pump(1.0)
    assert any(isinstance(e, BindingChanged) and e.ours for e in client.events())
    client.write("cs", lc_client, feature.address, LIMITS, {"loadControlLimitData": [
        {"limitId": 0, "isLimitActive": True, "timePeriod": {"endTime": "PT2H"},
         "value": {"number": 3000, "scale": 0}}]}, 2.0)
    link.pump(2.0)
    limits = lc_server.data[LIMITS]["loadControlLimitData"]
    assert [(x["limitId"], x["value"]["number"], x["isLimitActive"]) for x in limits] == [(0, 3000, True), (1, 10000, False)]
    assert limits[0]["isLimitChangeable"] is True
    events = list(client.events())
    notify = [e for e in events if isinstance(e, RemoteDataUpdated) and e.function == LIMITS]
    assert notify and notify[-1].data == lc_server.data[LIMITS]
    assert [e.error_number for e in events if isinstance(e, ResultReceived) and e.function == LIMITS] == [0]
    assert any(isinstance(e, LocalDataWritten) for e in server.events())


def test_full_write_replaces_whole_list() -> None:
    link, server, client, lc_server, lc_client = make_pair()
    feature = remote_lc(client)
    client.bind("cs", lc_client, feature, 1.0)
    link.pump(1.0)
    # a full write is refused? no: the function announces write, a full write is allowed and replaces
    client.write("cs", lc_client, feature.address, LIMITS,
                 {"loadControlLimitData": [{"limitId": 0, "value": {"number": 3000, "scale": 0}}]}, 2.0,
                 partial=False)
    link.pump(2.0)
    assert lc_server.data[LIMITS] == {"loadControlLimitData": [{"limitId": 0, "value": {"number": 3000, "scale": 0}}]}


def test_application_can_deny_a_write_with_error_7() -> None:
    link, server, client, lc_server, lc_client = make_pair()
    lc_server.write_guards[LIMITS] = lambda request: ErrorNumber.COMMAND_REJECTED
    feature = remote_lc(client)
    client.bind("cs", lc_client, feature, 1.0)
    link.pump(1.0)
    client.write("cs", lc_client, feature.address, LIMITS, {"loadControlLimitData": [{"limitId": 0}]}, 2.0)
    link.pump(2.0)
    assert [e.error_number for e in client.events() if isinstance(e, ResultReceived) and e.function == LIMITS] \
        == [ErrorNumber.COMMAND_REJECTED]
    assert lc_server.data[LIMITS]["loadControlLimitData"][0]["value"]["number"] == 4200


@pytest.mark.parametrize(("function", "destination", "expected"), [
    ("loadControlNodeData", Address(entity=(1,), feature=1), ErrorNumber.COMMAND_NOT_SUPPORTED),
    ("loadControlLimitDescriptionListData", Address(entity=(1,), feature=1), ErrorNumber.COMMAND_NOT_SUPPORTED),
    (LIMITS, Address(entity=(7,), feature=1), ErrorNumber.DESTINATION_UNKNOWN),
])
def test_bad_writes_are_answered_with_the_error_number(function: str, destination: Address,
                                                       expected: ErrorNumber) -> None:
    link, server, client, lc_server, lc_client = make_pair()
    client.write("cs", lc_client, destination, function, {}, 1.0, partial=False)
    link.pump(1.0)
    assert [e.error_number for e in client.events() if isinstance(e, ResultReceived) and e.function == function] \
        == [expected]
    assert any(isinstance(e, CommandRefused) for e in server.events())


def test_read_reply_updates_remote_copy() -> None:
    link, server, client, lc_server, lc_client = make_pair()
    client.read("cs", lc_client, remote_lc(client).address, LIMITS, 1.0)
    link.pump(1.0)
    (update,) = [e for e in client.events() if isinstance(e, RemoteDataUpdated)]
    assert update.data == lc_server.data[LIMITS]


@pytest.mark.parametrize("document", [
    {}, {"datagram": "x"}, {"datagram": {"header": {"cmdClassifier": "read"}}},
    {"datagram": {"header": {"msgCounter": 5, "cmdClassifier": "read", "addressSource": {"entity": [1], "feature": 1},
                             "addressDestination": {"entity": [1], "feature": 1}}, "payload": {"cmd": []}}},
    {"datagram": {"header": {"msgCounter": 5, "cmdClassifier": "frobnicate"}, "payload": {}}},
])
def test_malformed_datagrams_never_raise_and_the_node_stays_usable(document: dict[str, Any]) -> None:
    link, server, client, lc_server, lc_client = make_pair()
    server.receive("eg", document, 1.0)
    link.pump(1.0)
    assert any(isinstance(e, CommandRefused) for e in server.events())
    client.read("cs", lc_client, remote_lc(client).address, LIMITS, 2.0)
    link.pump(2.0)
    assert any(isinstance(e, RemoteDataUpdated) for e in client.events())


def test_request_without_answer_times_out() -> None:
    link, server, client, lc_server, lc_client = make_pair()
    client.read("cs", lc_client, remote_lc(client).address, LIMITS, 1.0)
    client.datagrams_to_send()  # lost
    deadline = client.next_deadline()
    assert deadline is not None
    client.handle_timeout(deadline)
    assert any(type(e).__name__ == "RequestTimedOut" for e in client.events())


def test_unbind_makes_the_next_write_fail_with_error_9() -> None:
    link, server, client, lc_server, lc_client = make_pair()
    feature = remote_lc(client)
    client.bind("cs", lc_client, feature, 1.0)
    link.pump(1.0)
    assert len(server.bindings) == 1
    client.unbind("cs", lc_client, feature, 2.0)
    link.pump(2.0)
    assert not server.bindings and not client.remote_bindings
    client.write("cs", lc_client, feature.address, LIMITS, {"loadControlLimitData": [{"limitId": 0}]}, 3.0)
    link.pump(3.0)
    assert [e.error_number for e in client.events() if isinstance(e, ResultReceived) and e.function == LIMITS] \
        == [ErrorNumber.BINDING_IS_NECESSARY_FOR_THIS_COMMAND]


def test_unsubscribe_stops_notifications() -> None:
    link, server, client, lc_server, lc_client = make_pair()
    feature = remote_lc(client)
    client.subscribe("cs", lc_client, feature, 1.0)
    link.pump(1.0)
    client.unsubscribe("cs", lc_client, feature, 2.0)
    link.pump(2.0)
    list(client.events())
    server.set_data(lc_server, LIMITS, {"loadControlLimitData": []}, 3.0)
    link.pump(3.0)
    assert not [e for e in client.events() if isinstance(e, RemoteDataUpdated)]
