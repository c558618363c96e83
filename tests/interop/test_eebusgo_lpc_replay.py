"""Replay of a recorded eebus-go session against our stack (Energy Guard side) and the reverse.

Recording: ``data/eebus/lpc_energy_guard_vs_eebus_go_hems.json`` (see the README next to
it): a Python Energy Guard talking to the eebus-go demo "hems" (eebus-go b0c682b) over TLS.
We play the Energy Guard: every SHIP control message we send must equal the recorded one
byte for byte; every request eebus-go made must be answered like the recorded answer; every
request the recorded guard made must also be made by ours (eebus-go's answers are matched to
ours by function and destination, since msgCounters are the sender's own), and the limit
write must carry the recorded command. Then we play eebus-go's side: the recorded guard's
datagrams against our Controllable System must be answered as eebus-go answered them.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bidicharge.protocols.ship import messages as ship_messages
from bidicharge.protocols.ship.connection import Role
from bidicharge.protocols.spine import Address, LocalDevice, SpineNode
from bidicharge.protocols.spine.stack import EebusStack, PeerConnected
from bidicharge.protocols.spine.usecases.energy_guard import EnergyGuard, LimitWriteResult
from bidicharge.protocols.spine.usecases.lpc import (
    ControllableSystem,
    Direction,
    LimitState,
    PowerLimitConfig,
)

pytestmark = pytest.mark.interop
TRACE = json.loads((Path(__file__).parent / "data/eebus/lpc_energy_guard_vs_eebus_go_hems.json").read_text())
PEER = "db0f66cdbadb2eca24bcc1da60ba494d80cc1773"  # the eebus-go SKI in the recording


def recorded_frame(msg: dict[str, Any]) -> bytes:
    if "raw" in msg:
        return bytes([msg["type"]]) + bytes.fromhex(msg["raw"])
    return bytes([msg["type"]]) + msg["json"].encode()


def datagram_of(frame: bytes) -> dict[str, Any]:
    decoded = ship_messages.decode(frame)
    assert isinstance(decoded, ship_messages.Data)
    return decoded.payload["datagram"]


def key_of(dg: dict[str, Any]) -> tuple[str, str, tuple[int, ...], int | None]:
    header = dg["header"]
    (cmd,) = dg["payload"]["cmd"]
    function = cmd.get("function") or next(k for k in cmd if k not in ("function", "filter"))
    dest = header["addressDestination"]
    return header["cmdClassifier"], function, tuple(dest.get("entity", [])), dest.get("feature")


def test_every_recorded_message_round_trips_byte_for_byte() -> None:
    frames = [recorded_frame(e["msg"]) for e in TRACE if isinstance(e["msg"], dict) and "type" in e["msg"]]
    assert len(frames) >= 25
    for frame in frames:
        assert ship_messages.encode(ship_messages.decode(frame)) == frame


def test_eebusgo_ship_spine_lpc_replay_as_energy_guard() -> None:
    device = LocalDevice("d:_i:99999_PyEG-0001", "ElectricitySupplySystem")
    node = SpineNode(device, subscribe_node_management=False)  # the recorded guard did not subscribe to NM
    guard = EnergyGuard(node, device.add_entity("GridGuard"), now=0.0)
    stack = EebusStack(node, local_ship_id="PyEG-0001")
    stack.open(PEER, Role.CLIENT, 0.0, trusted=True, expected_remote_ship_id="Demo-HEMS-123456789")

    recorded_requests: dict[int, tuple[str, str, tuple[int, ...], int | None]] = {}
    our_requests: dict[tuple[str, str, tuple[int, ...], int | None], list[int]] = {}
    ours_out: list[bytes] = []
    wrote = False

    def flush() -> None:
        for peer, frame in stack.bytes_to_send():
            assert peer == PEER
            ours_out.append(frame)
            if frame[0] == 2:
                dg = datagram_of(frame)
                if dg["header"]["cmdClassifier"] in ("read", "call", "write"):
                    our_requests.setdefault(key_of(dg), []).append(dg["header"]["msgCounter"])

    flush()
    control_sent = [recorded_frame(e["msg"]) for e in TRACE if e["dir"] == ">>" and isinstance(e["msg"], dict)
                    and "type" in e["msg"]]
    control_sent.insert(0, b"\x00\x00")  # logged as text "CMI init 0000"
    for entry in TRACE:
        msg = entry["msg"]
        if entry["dir"] == ">>" and isinstance(msg, dict) and "datagram" in msg:
            dg = msg["datagram"]
            if dg["header"]["cmdClassifier"] in ("read", "call", "write"):
                recorded_requests[dg["header"]["msgCounter"]] = key_of(msg["datagram"])
            if dg["header"]["cmdClassifier"] == "write" and not wrote:
                wrote = True
                guard.write_limit(PEER, Direction.CONSUME, 3000, entry["t_ms"] / 1000, duration_s=7200)
                flush()
                ours = datagram_of(ours_out[-1])
                assert ours["payload"] == dg["payload"]
                assert {k: v for k, v in ours["header"].items() if k != "msgCounter"} == \
                    {k: v for k, v in dg["header"].items() if k != "msgCounter"}
            elif wrote and dg["header"]["cmdClassifier"] == "read":
                # the recorded application read the limits back after the write; so do we
                dest = dg["header"]["addressDestination"]
                node.read(PEER, guard.load_control, Address(entity=tuple(dest["entity"]), feature=dest["feature"]),
                          key_of(dg)[1], entry["t_ms"] / 1000)
                flush()
            continue
        if entry["dir"] != "<<":
            continue
        frame = recorded_frame(msg)
        if frame[0] == 2:
            theirs = datagram_of(frame)
            reference = theirs["header"].get("msgCounterReference")
            if reference is not None and theirs["header"]["cmdClassifier"] in ("reply", "result"):
                wanted = recorded_requests[reference]
                assert our_requests.get(wanted), f"our guard never made the request {wanted} eebus-go answered"
                theirs = copy.deepcopy(theirs)
                theirs["header"]["msgCounterReference"] = our_requests[wanted].pop(0)
                frame = ship_messages.encode(ship_messages.Data(payload={"datagram": theirs}))
        before = len(ours_out)
        stack.receive_bytes(PEER, frame, entry["t_ms"] / 1000)
        flush()
        if frame[0] == 2:
            theirs = datagram_of(frame)
            if theirs["header"]["cmdClassifier"] in ("read", "call") or theirs["header"].get("ackRequest"):
                answers = [datagram_of(f) for f in ours_out[before:] if f[0] == 2]
                answer = [a for a in answers if a["header"].get("msgCounterReference") == theirs["header"]["msgCounter"]]
                assert answer, f"no answer to {key_of(theirs)}"
                (cmd,) = answer[0]["payload"]["cmd"]
                if "resultData" in cmd:
                    assert cmd["resultData"] == {"errorNumber": 0}
                else:
                    assert key_of(theirs)[1] in cmd

    # SHIP: every control message we sent is the recorded one, byte for byte, in order
    assert [f for f in ours_out if f[0] != 2] == control_sent[:len([f for f in ours_out if f[0] != 2])]
    assert len([f for f in ours_out if f[0] != 2]) == len(control_sent)
    assert any(isinstance(e, PeerConnected) and e.remote_ship_id == "Demo-HEMS-123456789" for e in stack.events())
    results = [e for e in guard.events() if isinstance(e, LimitWriteResult)]
    assert [r.accepted for r in results] == [True]
    state = guard.state_of(PEER)
    assert state.limits_W == {Direction.CONSUME: 3000, Direction.PRODUCE: 10000}
    assert state.active == {Direction.CONSUME: True, Direction.PRODUCE: False}


def test_eebusgo_spine_lpc_replay_recorded_guard_against_our_controllable_system() -> None:
    """Our CS in the place of eebus-go's demo HEMS answers the recorded guard the same way."""
    device = LocalDevice("d:_n:Demo_HEMS-123456789", "EnergyManagementSystem")
    node = SpineNode(device, subscribe_node_management=False)
    cs = ControllableSystem(node, device.add_entity("CEM"), now=0.0,
                            consumption=PowerLimitConfig(nominal_max_W=4200, failsafe_limit_W=4200),
                            production=PowerLimitConfig(nominal_max_W=10000, failsafe_limit_W=10000))
    node.connect("guard", 0.0)
    node.datagrams_to_send()
    guard_msgs = [e["msg"] for e in TRACE if e["dir"] == ">>" and isinstance(e["msg"], dict) and "datagram" in e["msg"]]
    # The recorded guard read our discovery first, so give it ours (its reply is in the trace)
    answers: dict[int, dict[str, Any]] = {}
    for msg in guard_msgs:
        node.receive("guard", msg, 1.0)
        for _, out in node.datagrams_to_send():
            ref = out["datagram"]["header"].get("msgCounterReference")
            if ref is not None:
                answers[ref] = out["datagram"]
    recorded_answers = {}
    for e in TRACE:
        if e["dir"] == "<<" and isinstance(e["msg"], dict) and e["msg"].get("type") == 2:
            dg = datagram_of(recorded_frame(e["msg"]))
            ref = dg["header"].get("msgCounterReference")
            if ref is not None:
                recorded_answers[ref] = dg
    # the subscription/binding calls, the write: results 0 like eebus-go
    for counter in (8, 9, 12):
        assert answers[counter]["payload"] == recorded_answers[counter]["payload"]
    # the read-back after the write shows the same limits eebus-go showed
    assert answers[13]["payload"] == recorded_answers[13]["payload"]
    assert cs.state[Direction.CONSUME] is LimitState.LIMITED and cs.limit_W(Direction.CONSUME) == 3000
