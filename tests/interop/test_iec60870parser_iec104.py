"""An independent decoder (PyPI ``iec60870-parser``, MIT) reads the frames our stations put on the wire.

The parser checks APCI framing and decodes the ASDU header, IOAs and the single-point
types 1 and 30 (value and CP56Time2a); float payloads stay ``unparsed`` and are read
here with ``struct`` as its documentation says.
"""

from __future__ import annotations

import struct

import pytest

from bidicharge.protocols.iec104 import (
    Cause,
    ControlledStation,
    ControllingStation,
    Cp56Time2a,
    PointDatabase,
    Quality,
    TypeId,
)

iec60870 = pytest.importorskip("iec60870")

pytestmark = pytest.mark.interop

CA = 47
T = Cp56Time2a(year=26, month=11, day=26, hour=13, minute=45, millisecond=7250, day_of_week=4)


def session_wire() -> tuple[bytes, bytes]:
    """Bytes each side sent in a session: STARTDT, GI, a set-point, a spontaneous value, a timed status."""
    db = PointDatabase(CA)
    db.add_monitor(1001, TypeId.M_ME_NC_1, value=2950.0)
    db.add_monitor(1002, TypeId.M_SP_TB_1, value=True)
    db.add_monitor(1003, TypeId.M_ME_NC_1)
    db.add_command(2001, TypeId.C_SE_NC_1, feedback_ioa=1003)
    master = ControllingStation(now=0.0)
    outstation = ControlledStation([db], now=0.0, on_command=lambda request: True)
    master.start(now=0.0)
    from_master, from_outstation = bytearray(), bytearray()

    def pump() -> None:
        while True:
            a, b = master.data_to_send(), outstation.data_to_send()
            if not a and not b:
                return
            from_master.extend(a)
            from_outstation.extend(b)
            outstation.receive_data(a, now=0.0)
            master.receive_data(b, now=0.0)

    pump()
    master.send_setpoint(CA, 2001, -3000.0, now=1.0)
    pump()
    outstation.update(CA, 1001, 3100.5, now=2.0, quality=Quality.NOT_TOPICAL)
    outstation.update(CA, 1002, False, time=T, now=2.0)
    pump()
    master.handle_timeout(1000.0)  # t2: the master acknowledges what it holds
    pump()
    return bytes(from_master), bytes(from_outstation)


def parse_all(wire: bytes) -> list[object]:
    stream = iec60870.FrameStream(protocol="t104")
    results = stream.feed(wire)
    assert stream.buffered_bytes == b""
    assert all(r.status is iec60870.FrameStatus.VALID for r in results), [r.error for r in results]
    return results


def test_iec60870parser_accepts_every_frame_of_our_controlled_station() -> None:
    _, wire = session_wire()
    results = parse_all(wire)
    i_frames = [r.fields for r in results if r.frame_type == "I"]
    assert [f["send_sequence"] for f in i_frames] == list(range(len(i_frames)))
    headers = [(f["asdu"]["type_id"], f["asdu"]["cot"] & 0x3F, f["asdu"]["common_address"]) for f in i_frames]
    assert headers == [
        (100, Cause.ACTIVATION_CON, CA),
        (13, Cause.INTERROGATED_BY_STATION, CA),
        (1, Cause.INTERROGATED_BY_STATION, CA),  # the timed point travels untimed in a GI
        (100, Cause.ACTIVATION_TERMINATION, CA),
        (50, Cause.ACTIVATION_CON, CA),
        (13, Cause.RETURN_INFO_REMOTE, CA),
        (50, Cause.ACTIVATION_TERMINATION, CA),
        (13, Cause.SPONTANEOUS, CA),
        (30, Cause.SPONTANEOUS, CA),
    ]
    assert results[0].frame_type == "U" and results[0].fields["u_function"] == "STARTDT con"


def test_iec60870parser_reads_our_values_and_time_tags() -> None:
    _, wire = session_wire()
    i_frames = [r.fields["asdu"] for r in parse_all(wire) if r.frame_type == "I"]
    gi_floats = i_frames[1]
    # For types it does not know (13) the parser reads IOAs back to back without skipping
    # elements, so only the count and the first IOA of a multi-object ASDU are meaningful.
    assert (gi_floats["count"], gi_floats["information_objects"][0]["ioa"]) == (2, 1001)
    feedback = i_frames[5]  # one object: IOA, then float + QDS left unparsed
    assert feedback["information_objects"][0]["ioa"] == 1003
    assert struct.unpack("<fB", feedback["unparsed"]) == (-3000.0, 0)
    spontaneous = i_frames[7]
    value, qds = struct.unpack("<fB", spontaneous["unparsed"][-5:])
    assert (value, qds) == (3100.5, Quality.NOT_TOPICAL)
    status = i_frames[8]["information_objects"][0]
    assert (status["ioa"], status["value"]) == (1002, 0)
    assert status["timestamp"] == {
        "year": 2026,
        "month": 11,
        "day": 26,
        "hour": 13,
        "minute": 45,
        "second": 7,
        "millisecond": 250,
    }


def test_iec60870parser_accepts_every_frame_of_our_controlling_station() -> None:
    wire, _ = session_wire()
    results = parse_all(wire)
    kinds = [r.frame_type for r in results]
    assert kinds[0] == "U" and results[0].fields["u_function"] == "STARTDT act"
    commands = [r.fields["asdu"] for r in results if r.frame_type == "I"]
    assert [(c["type_id"], c["cot"], c["information_objects"][0]["ioa"]) for c in commands] == [
        (100, Cause.ACTIVATION, 0),
        (50, Cause.ACTIVATION, 2001),
    ]
    assert struct.unpack("<fB", commands[1]["unparsed"]) == (-3000.0, 0)
    acks = [r.fields["receive_sequence"] for r in results if r.frame_type == "S"]
    assert acks and acks[-1] == 9  # the t2 acknowledgement covers all nine I frames received
