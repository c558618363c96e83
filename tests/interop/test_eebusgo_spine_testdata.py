"""spine-go's recorded test data (MIT, copied under data/eebus/spine-go/ with its LICENSE).

Device messages captured by spine-go/eebus-go (Elli and Porsche wallboxes, a HEMS) are
decoded by our SPINE layer, survive EEBUS-JSON and our datagram model unchanged, and are
answered the way spine-go's ``*_send_*_expected.json`` files say.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bidicharge.protocols.ship import eebus_json
from bidicharge.protocols.spine import (
    EntitiesChanged,
    FeatureRole,
    LocalDevice,
    RemoteDataUpdated,
    SpineNode,
    decode_datagram,
)
from bidicharge.protocols.spine.usecase_info import parse_use_case_data

pytestmark = pytest.mark.interop
DATA = Path(__file__).parent / "data/eebus/spine-go"
FILES = sorted(DATA.rglob("*.json"))


def load(name: str) -> dict[str, Any]:
    (path,) = [p for p in FILES if p.name == name]
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def test_licence_is_shipped_with_the_data() -> None:
    assert "MIT" in (DATA / "LICENSE").read_text() or "Permission is hereby granted" in (DATA / "LICENSE").read_text()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_eebusgo_spine_datagram_model_and_eebus_json_round_trip(path: Path) -> None:
    document = json.loads(path.read_text())
    datagram = decode_datagram(document)
    assert datagram.to_json() == document
    wire = eebus_json.encode_document(document)
    assert eebus_json.decode_document(wire) == document
    assert eebus_json.encode_document(eebus_json.decode_document(wire)) == wire


def node_as(device: str) -> SpineNode:
    node = SpineNode(LocalDevice(device, "EnergyManagementSystem"), subscribe_node_management=False)
    node.connect("peer", 0.0)
    node.datagrams_to_send()
    return node


def test_eebusgo_spine_wallbox_discovery_then_ev_plug_in_and_out() -> None:
    node = node_as("HEMS")
    node.receive("peer", load("wallbox_detaileddiscoverydata_recv_reply.json"), 1.0)
    remote = node.remote("peer")
    assert remote.address == "Wallbox"
    assert remote.entity_types[(1,)] == "EVSE"
    node.receive("peer", load("wallbox_detaileddiscoverydata_recv_notify.json"), 2.0)
    changes = [e for e in node.events() if isinstance(e, EntitiesChanged)]
    assert changes[-1].changes == (((1, 1), "added"),)
    assert remote.entity_types[(1, 1)] == "EV"
    assert len([f for (path, _), f in remote.features.items() if path == (1, 1)]) == 10
    assert remote.find("LoadControl", FeatureRole.SERVER, entity_type="EV")
    # the notify asked for an acknowledgement
    (ack,) = [d for _, d in node.datagrams_to_send() if d["datagram"]["header"]["cmdClassifier"] == "result"]
    assert ack["datagram"]["payload"]["cmd"][0]["resultData"] == {"errorNumber": 0}
    node.receive("peer", load("wallbox_detaileddiscoverydata_recv_notify_remove.json"), 3.0)
    assert (1, 1) not in remote.entity_types
    assert not [k for k in remote.features if k[0] == (1, 1)]


def test_eebusgo_spine_porsche_full_notify_adds_ev() -> None:
    node = node_as("d:_n:EVCC_HEMS-EVCC")  # the Porsche addresses its datagrams to this device
    node.receive("peer", load("wallbox_detaileddiscoverydata_recv_reply_full.json"), 1.0)
    remote = node.remote("peer")
    assert remote.address == "d:_i:19667_PorscheEVSE_0011111"
    node.receive("peer", load("wallbox_detaileddiscoverydata_recv_notify_full.json"), 2.0)
    assert remote.entity_types.get((1, 1)) == "EV"
    node.receive("peer", load("wallbox_detaileddiscoverydata_recv_notify_remove_full.json"), 3.0)
    assert (1, 1) not in remote.entity_types


def test_datagram_for_another_device_is_refused_with_destination_unknown() -> None:
    node = node_as("HEMS")
    node.receive("peer", load("wallbox_detaileddiscoverydata_recv_reply_full.json"), 1.0)
    assert node.remote("peer").address is None  # nothing learnt from a datagram not meant for us


def strip_counter(datagram: dict[str, Any]) -> dict[str, Any]:
    header = {k: v for k, v in datagram["datagram"]["header"].items() if k != "msgCounter"}
    return {"header": header, "payload": datagram["datagram"]["payload"]}


@pytest.mark.parametrize(("received", "expected"), [
    ("nm_subscriptionRequestCall_recv_call.json", "nm_subscriptionRequestCall_send_result_expected.json"),
    ("nm_destinationListData_recv_read.json", "nm_destinationListData_send_reply_expected.json"),
])
def test_eebusgo_spine_node_management_answers_as_expected(received: str, expected: str) -> None:
    node = SpineNode(LocalDevice("TestDeviceAddress", "EnergyManagementSystem"))
    node.receive("peer", load(received), 0.0)
    (answer,) = [d for _, d in node.datagrams_to_send()]
    assert strip_counter(answer) == strip_counter(load(expected))


def test_eebusgo_spine_discovery_read_is_answered_with_our_discovery() -> None:
    node = SpineNode(LocalDevice("TestDeviceAddress", "EnergyManagementSystem"))
    for name in ("nm_detaileddiscoverydata_recv_read.json", "nm_detaileddiscoverydata_recv_read_ack.json"):
        node.receive("peer", load(name), 0.0)
        (answer,) = [d for _, d in node.datagrams_to_send()]
        header = answer["datagram"]["header"]
        assert header["cmdClassifier"] == "reply" and header["msgCounterReference"] == 1
        data = answer["datagram"]["payload"]["cmd"][0]["nodeManagementDetailedDiscoveryData"]
        assert data["deviceInformation"]["description"]["deviceAddress"] == {"device": "TestDeviceAddress"}
        assert data["featureInformation"][0]["description"]["featureType"] == "NodeManagement"


def test_eebusgo_spine_elli_use_cases() -> None:
    data = load("nm_usecaseinformationlistdata_recv_reply.json")
    cmd = data["datagram"]["payload"]["cmd"][0]["nodeManagementUseCaseData"]
    names = {(u.actor, u.name) for u in parse_use_case_data(cmd)}
    assert ("EVSE", "evseCommissioningAndConfiguration") in names
    assert ("EV", "overloadProtectionByEvChargingCurrentCurtailment") in names
    assert ("EV", "coordinatedEvCharging") in names


def test_eebusgo_measurement_notify_reaches_remote_copy() -> None:
    node = node_as("HEMS")
    node.receive("peer", load("wallbox_detaileddiscoverydata_recv_reply.json"), 1.0)
    node.receive("peer", load("wallbox_detaileddiscoverydata_recv_notify.json"), 1.0)
    node.receive("peer", load("m_measurementListData_recv_notify.json"), 2.0)
    (update,) = [e for e in node.events() if isinstance(e, RemoteDataUpdated)]
    values = [m["value"]["number"] for m in update.data["measurementData"]]
    assert values == [5, 1185, 1825]


def test_eebusgo_wallbox_ev_data_read_by_our_cem() -> None:
    """Our CEM makes sense of a real wallbox's EV data (ids differ from our own EVSE's)."""
    from bidicharge.protocols.spine.usecases import CemEvClient

    device = LocalDevice("HEMS", "EnergyManagementSystem")
    node = SpineNode(device, subscribe_node_management=False)
    cem = CemEvClient(node, device.add_entity("CEM"))
    node.connect("peer", 0.0)
    node.receive("peer", load("wallbox_detaileddiscoverydata_recv_reply.json"), 1.0)
    node.receive("peer", load("wallbox_detaileddiscoverydata_recv_notify.json"), 2.0)
    assert cem.ev("peer").connected
    sent = [d["datagram"] for _, d in node.datagrams_to_send()]
    bound = {tuple(d["payload"]["cmd"][0]["nodeManagementBindingRequestCall"]["bindingRequest"]["serverAddress"]["entity"])
             for d in sent if "nodeManagementBindingRequestCall" in d["payload"]["cmd"][0]}
    assert bound == {(1, 1)}  # we bind to the EV's writable features before any write
    for name in ("m_descriptionListData_recv_reply.json", "ec_parameterDescriptionListData_recv_reply.json",
                 "ec_permittedvaluesetlistdata_recv_notify_partial.json", "m_measurementListData_recv_notify.json"):
        node.receive("peer", load(name), 3.0)
    ev = cem.ev("peer")
    assert ev.current_A == (5,) and ev.power_W == (1185,) and ev.charged_energy_Wh == 1825
    assert ev.current_min_A == (6,) and ev.current_max_A == (16,)
