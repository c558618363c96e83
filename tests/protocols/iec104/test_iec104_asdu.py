"""ASDU codec (IEC 60870-5-101 clause 7 with the -104 address sizes)."""

from __future__ import annotations

import datetime as dt
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bidicharge.protocols.iec104 import (
    Asdu,
    Cause,
    ClockSync,
    CounterInterrogation,
    Cp56Time2a,
    DoubleCommand,
    DoublePoint,
    DoublePointState,
    EndOfInitialisation,
    InitCause,
    IntegratedTotal,
    Interrogation,
    LocalProtocolError,
    MeasuredFloat,
    MeasuredNormalized,
    MeasuredScaled,
    Quality,
    ReadCommand,
    RemoteProtocolError,
    SetpointFloat,
    SetpointNormalized,
    SetpointScaled,
    SingleCommand,
    SinglePoint,
    TypeId,
    decode_asdu,
    encode_asdu,
)

# The reference's C_SE_NC_1 example: CA 47, IOA 2001, 3000.0 (W), execute; ASDU after 6 APCI octets.
C_SE_NC_1_EXAMPLE = bytes.fromhex("320106002f00d1070000803b4500")


def test_setpoint_example_of_the_reference_decodes_and_encodes() -> None:
    asdu = decode_asdu(C_SE_NC_1_EXAMPLE)
    assert asdu == Asdu(
        type_id=TypeId.C_SE_NC_1,
        cause=Cause.ACTIVATION,
        common_address=47,
        objects=(SetpointFloat(ioa=2001, value=3000.0),),
    )
    assert encode_asdu(asdu) == C_SE_NC_1_EXAMPLE


def test_measured_value_wire_layout() -> None:
    asdu = Asdu(
        type_id=TypeId.M_ME_NC_1,
        cause=Cause.SPONTANEOUS,
        common_address=47,
        objects=(MeasuredFloat(ioa=1001, value=-1.5, quality=Quality.INVALID | Quality.OVERFLOW),),
    )
    raw = encode_asdu(asdu)
    assert raw[:6] == bytes((13, 1, 3, 0, 47, 0))
    assert int.from_bytes(raw[6:9], "little") == 1001
    assert struct.unpack("<f", raw[9:13])[0] == -1.5
    assert raw[13] == 0x81


def test_cp56time2a_carries_the_datetime() -> None:
    when = dt.datetime(2026, 11, 26, 13, 45, 7, 250_000, tzinfo=dt.UTC)
    tag = Cp56Time2a.from_datetime(when)
    assert tag.millisecond == 7250
    assert tag.day_of_week == 4  # a Thursday
    assert Cp56Time2a.decode(tag.encode()).to_datetime() == when


times = st.builds(
    Cp56Time2a,
    year=st.integers(0, 99),
    month=st.integers(1, 12),
    day=st.integers(1, 31),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    millisecond=st.integers(0, 59999),
    day_of_week=st.integers(0, 7),
    invalid=st.booleans(),
    summer_time=st.booleans(),
)
ioas = st.integers(1, 0xFFFFFF)
floats32 = st.floats(width=32, allow_nan=False)
qds = st.sampled_from(
    [Quality.GOOD, Quality.INVALID, Quality.NOT_TOPICAL | Quality.SUBSTITUTED, Quality.BLOCKED]
)


TIMED = (
    TypeId.M_ME_TD_1,
    TypeId.M_ME_TE_1,
    TypeId.C_SE_TA_1,
    TypeId.C_SE_TB_1,
    TypeId.M_SP_TB_1,
    TypeId.M_DP_TB_1,
    TypeId.M_ME_TF_1,
    TypeId.M_IT_TB_1,
    TypeId.C_SC_TA_1,
    TypeId.C_DC_TA_1,
    TypeId.C_SE_TC_1,
)


def _objects_for(type_id: TypeId) -> st.SearchStrategy[object]:
    time = times if type_id in TIMED else st.none()
    if type_id in (TypeId.M_DP_NA_1, TypeId.M_DP_TB_1):
        return st.builds(
            DoublePoint, ioa=ioas, state=st.sampled_from(DoublePointState), quality=qds, time=time
        )
    if type_id in (TypeId.C_DC_NA_1, TypeId.C_DC_TA_1):
        return st.builds(
            DoubleCommand,
            ioa=ioas,
            state=st.sampled_from([DoublePointState.OFF, DoublePointState.ON]),
            select=st.booleans(),
            qualifier=st.integers(0, 31),
            time=time,
        )
    if type_id in (TypeId.M_IT_NA_1, TypeId.M_IT_TB_1):
        return st.builds(
            IntegratedTotal,
            ioa=ioas,
            counter=st.integers(-(2**31), 2**31 - 1),
            sequence=st.integers(0, 31),
            carry=st.booleans(),
            adjusted=st.booleans(),
            invalid=st.booleans(),
            time=time,
        )
    nva = st.integers(-32768, 32767).map(lambda n: n / 32768)
    sva = st.integers(-32768, 32767)
    if type_id in (TypeId.M_ME_NA_1, TypeId.M_ME_TD_1):
        return st.builds(MeasuredNormalized, ioa=ioas, value=nva, quality=qds, time=time)
    if type_id in (TypeId.M_ME_NB_1, TypeId.M_ME_TE_1):
        return st.builds(MeasuredScaled, ioa=ioas, value=sva, quality=qds, time=time)
    if type_id in (TypeId.C_SE_NA_1, TypeId.C_SE_TA_1):
        return st.builds(
            SetpointNormalized,
            ioa=ioas,
            value=nva,
            select=st.booleans(),
            qualifier=st.integers(0, 127),
            time=time,
        )
    if type_id in (TypeId.C_SE_NB_1, TypeId.C_SE_TB_1):
        return st.builds(
            SetpointScaled,
            ioa=ioas,
            value=sva,
            select=st.booleans(),
            qualifier=st.integers(0, 127),
            time=time,
        )
    if type_id is TypeId.C_RD_NA_1:
        return st.builds(ReadCommand, ioa=ioas)
    if type_id is TypeId.C_CI_NA_1:
        return st.builds(
            CounterInterrogation, ioa=st.just(0), request=st.integers(1, 5), freeze=st.integers(0, 3)
        )
    if type_id in (TypeId.M_SP_NA_1, TypeId.M_SP_TB_1):
        return st.builds(SinglePoint, ioa=ioas, value=st.booleans(), quality=qds, time=time)
    if type_id in (TypeId.M_ME_NC_1, TypeId.M_ME_TF_1):
        return st.builds(
            MeasuredFloat, ioa=ioas, value=floats32, quality=qds | st.just(Quality.OVERFLOW), time=time
        )
    if type_id in (TypeId.C_SC_NA_1, TypeId.C_SC_TA_1):
        return st.builds(
            SingleCommand,
            ioa=ioas,
            on=st.booleans(),
            select=st.booleans(),
            qualifier=st.integers(0, 31),
            time=time,
        )
    if type_id in (TypeId.C_SE_NC_1, TypeId.C_SE_TC_1):
        return st.builds(
            SetpointFloat,
            ioa=ioas,
            value=floats32,
            select=st.booleans(),
            qualifier=st.integers(0, 127),
            time=time,
        )
    if type_id is TypeId.C_IC_NA_1:
        return st.builds(Interrogation, ioa=st.just(0), qualifier=st.integers(20, 36))
    if type_id is TypeId.C_CS_NA_1:
        return st.builds(ClockSync, ioa=st.just(0), time=times)
    return st.builds(
        EndOfInitialisation,
        ioa=st.just(0),
        cause=st.sampled_from(InitCause),
        after_parameter_change=st.booleans(),
    )


@st.composite
def asdus(draw: st.DrawFn) -> Asdu:
    type_id = draw(st.sampled_from(TypeId))
    objects = tuple(draw(st.lists(_objects_for(type_id), min_size=1, max_size=10)))
    return Asdu(
        type_id=type_id,
        cause=draw(st.sampled_from(Cause)),
        common_address=draw(st.integers(0, 0xFFFF)),
        originator=draw(st.integers(0, 255)),
        negative=draw(st.booleans()),
        test=draw(st.booleans()),
        objects=objects,
    )


@settings(deadline=None)  # a loaded shared machine must not make a codec test flaky
@given(asdus())
def test_decode_inverts_encode(asdu: Asdu) -> None:
    assert decode_asdu(encode_asdu(asdu)) == asdu


@settings(deadline=None)  # a loaded shared machine must not make a codec test flaky
@given(st.integers(1, 48), floats32)
def test_sequence_of_measured_values_carries_one_address(count: int, value: float) -> None:
    objects = tuple(MeasuredFloat(ioa=5000 + i, value=value) for i in range(count))
    asdu = Asdu(
        type_id=TypeId.M_ME_NC_1, cause=Cause.PERIODIC, common_address=1, objects=objects, sequence=True
    )
    raw = encode_asdu(asdu)
    assert len(raw) == 6 + 3 + 5 * count
    assert decode_asdu(raw) == asdu


def test_unknown_type_id_is_answered_with_a_negative_mirror_cause_44() -> None:
    request = bytes.fromhex("7f0106002f00d10700 01".replace(" ", ""))  # type 127, not defined
    with pytest.raises(RemoteProtocolError) as info:
        decode_asdu(request)
    answer = info.value.wire_answer
    assert answer is not None
    assert answer[2] == 0x40 | 44
    assert answer[:2] + answer[3:] == request[:2] + request[3:]
    assert not info.value.close_connection


def test_unknown_cause_is_answered_with_cause_45() -> None:
    request = bytearray(C_SE_NC_1_EXAMPLE)
    request[2] = 63
    with pytest.raises(RemoteProtocolError) as info:
        decode_asdu(bytes(request))
    assert info.value.wire_answer is not None and info.value.wire_answer[2] == 0x40 | 45


@pytest.mark.parametrize("cut", [1, 5, 10, len(C_SE_NC_1_EXAMPLE) - 1])
def test_truncated_asdu_closes_the_connection(cut: int) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        decode_asdu(C_SE_NC_1_EXAMPLE[:cut])
    assert info.value.close_connection


def test_object_of_the_wrong_kind_is_our_error() -> None:
    asdu = Asdu(
        type_id=TypeId.M_ME_NC_1,
        cause=Cause.SPONTANEOUS,
        common_address=1,
        objects=(SinglePoint(ioa=1, value=True),),
    )
    with pytest.raises(LocalProtocolError):
        encode_asdu(asdu)


def test_timed_type_without_time_is_our_error() -> None:
    asdu = Asdu(
        type_id=TypeId.M_ME_TF_1,
        cause=Cause.SPONTANEOUS,
        common_address=1,
        objects=(MeasuredFloat(ioa=1, value=1.0),),
    )
    with pytest.raises(LocalProtocolError):
        encode_asdu(asdu)


def test_too_many_objects_for_one_apdu_is_our_error() -> None:
    objects = tuple(MeasuredFloat(ioa=i + 1, value=0.0) for i in range(40))
    with pytest.raises(LocalProtocolError):
        encode_asdu(Asdu(type_id=TypeId.M_ME_NC_1, cause=Cause.PERIODIC, common_address=1, objects=objects))


def test_integrated_total_layout_follows_bcr() -> None:
    asdu = Asdu(
        type_id=TypeId.M_IT_NA_1,
        cause=Cause.REQUESTED_BY_GENERAL_COUNTER,
        common_address=47,
        objects=(IntegratedTotal(ioa=3001, counter=-2, sequence=5, carry=True, invalid=True),),
    )
    raw = encode_asdu(asdu)
    assert raw[9:] == bytes.fromhex("feffffff") + bytes((0x80 | 0x20 | 5,))


def test_double_command_with_an_indeterminate_state_is_our_error() -> None:
    asdu = Asdu(
        type_id=TypeId.C_DC_NA_1,
        cause=Cause.ACTIVATION,
        common_address=47,
        objects=(DoubleCommand(ioa=1, state=DoublePointState.INDETERMINATE),),
    )
    with pytest.raises(LocalProtocolError):
        encode_asdu(asdu)


@pytest.mark.parametrize(("value", "wire"), [(0.5, "0040"), (-1.0, "0080"), (1 - 2**-15, "ff7f")])
def test_normalised_value_is_value_times_two_to_the_fifteen(value: float, wire: str) -> None:
    asdu = Asdu(
        type_id=TypeId.M_ME_NA_1,
        cause=Cause.SPONTANEOUS,
        common_address=1,
        objects=(MeasuredNormalized(ioa=1, value=value),),
    )
    assert encode_asdu(asdu)[9:11] == bytes.fromhex(wire)


def test_normalised_value_of_one_does_not_fit() -> None:
    asdu = Asdu(
        type_id=TypeId.M_ME_NA_1,
        cause=Cause.SPONTANEOUS,
        common_address=1,
        objects=(MeasuredNormalized(ioa=1, value=1.0),),
    )
    with pytest.raises(LocalProtocolError):
        encode_asdu(asdu)
