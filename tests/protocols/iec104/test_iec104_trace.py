"""Every ASDU a station sends or receives reaches its tracer, and reads as a trace line."""

from __future__ import annotations

from iec104_pairs import exchange

from bidicharge.protocols.iec104 import (
    ControlledStation,
    ControllingStation,
    PointDatabase,
    TypeId,
    describe_asdu,
)


def test_tracers_see_the_same_asdus_from_both_ends() -> None:
    db = PointDatabase(47)
    db.add_monitor(1001, TypeId.M_ME_NC_1, value=2950.0)
    db.add_monitor(1003, TypeId.M_ME_NC_1)
    db.add_command(2001, TypeId.C_SE_NC_1, feedback_ioa=1003)
    master_trace: list[tuple[str, bytes]] = []
    outstation_trace: list[tuple[str, bytes]] = []
    master = ControllingStation(now=0.0, tracer=lambda d, raw: master_trace.append((d, raw)))
    outstation = ControlledStation(
        [db], now=0.0, on_command=lambda r: True, tracer=lambda d, raw: outstation_trace.append((d, raw))
    )
    master.start(now=0.0)
    exchange(master, outstation, now=0.0)
    master.send_setpoint(47, 2001, 3000.0, now=1.0)
    master.send_setpoint(47, 9999, 1.0, now=1.0)
    exchange(master, outstation, now=1.0)

    flipped = [("rx" if d == "tx" else "tx", raw) for d, raw in outstation_trace]
    assert sorted(flipped) == sorted(master_trace)
    lines = [describe_asdu(raw) for d, raw in master_trace]
    assert lines[0] == ("C_IC_NA_1 act", "CA=65535 QOI=20")
    assert ("C_SE_NC_1 act", "CA=47 2001=3000") in lines
    assert ("C_SE_NC_1 actcon", "CA=47 2001=3000") in lines
    assert ("M_ME_NC_1 retrem", "CA=47 1003=3000") in lines
    assert ("M_ME_NC_1 inrogen", "CA=47 1001=2950 1003=0") in lines
    assert ("C_SE_NC_1 unknown IOA negative", "CA=47 9999=1") in lines


def test_undecodable_asdu_is_described_by_its_octets() -> None:
    assert describe_asdu(bytes((127, 1, 6, 0, 47, 0))) == ("type 127", "7f 01 06 00 2f 00")
