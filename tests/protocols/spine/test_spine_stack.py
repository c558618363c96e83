"""EebusStack: SHIP connections around one SPINE node, in memory, with a misbehaving peer."""

from __future__ import annotations

from bidicharge.protocols.ship import messages as m
from bidicharge.protocols.ship.connection import Role
from bidicharge.protocols.ship.errors import CloseCode
from bidicharge.protocols.spine import LocalDevice, SpineNode
from bidicharge.protocols.spine.stack import EebusStack, PeerConnected, PeerDisconnected, ShipMessageDropped
from bidicharge.protocols.spine.trace import TraceRecord
from bidicharge.protocols.spine.usecases.energy_guard import EnergyGuard
from bidicharge.protocols.spine.usecases.lpc import (
    ControllableSystem,
    Direction,
    PowerLimitConfig,
)


def pump(pairs: dict[str, tuple[EebusStack, str, EebusStack, str]], now: float) -> None:
    for _ in range(200):
        moved = False
        for a, a_peer, b, b_peer in pairs.values():
            for src, dst, dst_peer in ((a, b, b_peer), (b, a, a_peer)):
                for peer, frame in src.bytes_to_send():
                    if (src is a and peer == a_peer) or (src is b and peer == b_peer):
                        dst.receive_bytes(dst_peer, frame, now)
                        moved = True
        if not moved:
            return


def test_broken_peer_is_closed_and_the_good_one_keeps_its_limit() -> None:
    hems_dev = LocalDevice("d:_i:1_HEMS", "EnergyManagementSystem")
    hems_node = SpineNode(hems_dev)
    cs = ControllableSystem(hems_node, hems_dev.add_entity("CEM"), now=0.0,
                            consumption=PowerLimitConfig(nominal_max_W=11_000, failsafe_limit_W=4_200))
    records: list[TraceRecord] = []
    hems = EebusStack(hems_node, local_ship_id="HEMS", tracer=records.append)
    box_dev = LocalDevice("d:_i:1_Box", "ElectricitySupplySystem")
    box_node = SpineNode(box_dev)
    eg = EnergyGuard(box_node, box_dev.add_entity("GridGuard"), now=0.0)
    box = EebusStack(box_node, local_ship_id="Box")
    hems.open("box-ski", Role.SERVER, 0.0, trusted=True)
    box.open("hems-ski", Role.CLIENT, 0.0, trusted=True)
    pairs = {"good": (hems, "box-ski", box, "hems-ski")}
    pump(pairs, 0.0)
    assert "hems-ski" in eg.systems
    # a second peer connects and sends garbage right after CMI
    hems.open("rogue-ski", Role.SERVER, 1.0, trusted=True)
    hems.receive_bytes("rogue-ski", b"\x00\x00", 1.0)
    hems.receive_bytes("rogue-ski", b"\x01{this is not json", 1.0)
    answers = [f for p, f in hems.bytes_to_send() if p == "rogue-ski"]
    assert answers[-1] == m.encode(m.ConnectionHello(phase=m.HelloPhase.ABORTED))
    events = list(hems.events())
    assert any(isinstance(e, PeerDisconnected) and e.peer == "rogue-ski" for e in events)
    # the good connection carries on: garbage inside its data phase is dropped, a limit still works
    hems.receive_bytes("box-ski", b"\x02{broken", 2.0)
    assert any(isinstance(e, ShipMessageDropped) for e in hems.events())
    eg.write_limit("hems-ski", Direction.CONSUME, 4_200, 3.0)
    pump(pairs, 3.0)
    assert cs.limit_W() == 4_200
    assert any(isinstance(e, PeerConnected) for e in box.events())
    # the trace shows both layers, in order, with the write and its result
    kinds = [(r.direction, r.protocol, r.message_type) for r in records if r.peer == "box-ski"]
    assert kinds[0] == ("rx", "SHIP", "Cmi")
    assert ("tx", "SHIP", "ConnectionHello") in kinds
    write = kinds.index(("rx", "SPINE", "write loadControlLimitListData"))
    assert ("tx", "SPINE", "result resultData") in kinds[write:]
    assert any(r.protocol == "SHIP" and r.message_type == "invalid" for r in records)


def test_untrusted_peer_never_reaches_spine() -> None:
    hems_node = SpineNode(LocalDevice("d:_i:1_HEMS", "EnergyManagementSystem"))
    hems = EebusStack(hems_node, local_ship_id="HEMS")
    box = EebusStack(SpineNode(LocalDevice("d:_i:1_Box", "ElectricitySupplySystem")), local_ship_id="Box")
    hems.open("box", Role.SERVER, 0.0, trusted=False)
    box.open("hems", Role.CLIENT, 0.0, trusted=True)
    pump({"p": (hems, "box", box, "hems")}, 0.0)
    assert hems_node.peers() == []
    hems.handle_timeout(61.0)
    pump({"p": (hems, "box", box, "hems")}, 61.0)
    assert [e.close_code for e in hems.events() if isinstance(e, PeerDisconnected)] == [CloseCode.PROTOCOL_ERROR]
    assert hems_node.peers() == []
