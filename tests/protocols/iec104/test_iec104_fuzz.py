"""Whatever a peer sends, the stations answer or close the link; they never raise."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bidicharge.protocols.iec104 import (
    ControlledStation,
    ControllingStation,
    PointDatabase,
    TypeId,
    UFrame,
    UFunction,
    encode_apdu,
)
from bidicharge.protocols.iec104.apci import encode_i

STARTDT_ACT = encode_apdu(UFrame(function=UFunction.STARTDT_ACT))
STARTDT_CON = encode_apdu(UFrame(function=UFunction.STARTDT_CON))


def outstation() -> ControlledStation:
    db = PointDatabase(47)
    db.add_monitor(1001, TypeId.M_ME_NC_1)
    db.add_monitor(1002, TypeId.M_SP_TB_1)
    db.add_command(2001, TypeId.C_SE_NC_1, feedback_ioa=1001)
    db.add_command(2002, TypeId.C_SC_NA_1)
    db.add_command(2003, TypeId.C_DC_NA_1, select_before_operate=True)
    db.add_monitor(3002, TypeId.M_IT_NA_1, value=7)
    return ControlledStation([db], now=0.0, on_command=lambda request: True)


# Well-framed I frames with arbitrary ASDUs reach the ASDU decoder instead of the framer.
asdu_bodies = st.builds(
    lambda type_id, vsq, cot, rest: bytes((type_id, vsq, cot, 0, 47, 0)) + rest,
    st.sampled_from([*TypeId, 2, 127, 200]),
    st.integers(0, 255),
    st.integers(0, 255),
    st.binary(max_size=40),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(asdu_bodies, min_size=1, max_size=6))
def test_controlled_station_survives_arbitrary_asdus(bodies: list[bytes]) -> None:
    station = outstation()
    station.receive_data(STARTDT_ACT, now=0.0)
    for n, body in enumerate(bodies):
        station.receive_data(encode_i(n, 0, body), now=1.0)
        station.data_to_send()
        list(station.events())
    assert station.started or station.closed


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_controlled_station_survives_arbitrary_bytes(data: bytes) -> None:
    station = outstation()
    station.receive_data(STARTDT_ACT + data, now=0.0)
    station.data_to_send()
    list(station.events())


@settings(max_examples=300, deadline=None)
@given(st.lists(asdu_bodies, min_size=1, max_size=6))
def test_controlling_station_survives_arbitrary_asdus(bodies: list[bytes]) -> None:
    station = ControllingStation(now=0.0)
    station.start(now=0.0)
    station.receive_data(STARTDT_CON, now=0.0)
    for n, body in enumerate(bodies):
        station.receive_data(encode_i(n, 1, body), now=1.0)
        station.data_to_send()
        list(station.events())
    assert station.started or station.closed


ELEMENT_OCTETS = {
    TypeId.C_SC_NA_1: 1,
    TypeId.C_DC_NA_1: 1,
    TypeId.C_DC_TA_1: 8,
    TypeId.C_CI_NA_1: 1,
    TypeId.M_DP_NA_1: 1,
    TypeId.C_SE_NC_1: 5,
    TypeId.C_SC_TA_1: 8,
    TypeId.C_SE_TC_1: 12,
    TypeId.C_IC_NA_1: 1,
    TypeId.C_CS_NA_1: 7,
    TypeId.M_ME_NC_1: 5,
}


@st.composite
def well_formed_requests(draw: st.DrawFn) -> bytes:
    type_id = draw(st.sampled_from(sorted(ELEMENT_OCTETS)))
    cot = draw(st.sampled_from([6, 8, 6 | 0x80]) | st.integers(0, 255))  # mostly (de)activations
    ca = draw(st.sampled_from([47, 47, 48, 0xFFFF]))
    ioa = draw(st.sampled_from([0, 1001, 2001, 2002, 2003, 9999]))
    element = draw(st.binary(min_size=ELEMENT_OCTETS[type_id], max_size=ELEMENT_OCTETS[type_id]))
    return bytes((type_id, 1, cot, 0)) + ca.to_bytes(2, "little") + ioa.to_bytes(3, "little") + element


@settings(max_examples=300, deadline=None)
@given(well_formed_requests())
def test_every_well_formed_request_gets_an_answer_and_the_link_stays(request: bytes) -> None:
    station = outstation()
    station.receive_data(STARTDT_ACT, now=0.0)
    station.data_to_send()
    station.receive_data(encode_i(0, 0, request), now=1.0)
    answer = station.data_to_send()
    assert station.started
    assert answer[:1] == b"\x68" and answer[2] & 1 == 0  # at least one I frame comes back
