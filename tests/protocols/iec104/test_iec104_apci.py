"""APCI framing (IEC 60870-5-104 clause 5): frames from the reference, round trips, a split stream."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bidicharge.protocols.iec104 import (
    ApduReader,
    IFrame,
    RemoteProtocolError,
    SFrame,
    UFrame,
    UFunction,
    decode_apdu,
    encode_apdu,
)

# Frames quoted in the project's IEC 104 reference (after lib60870 / the standard).
C_IC_NA_1_NS1 = bytes.fromhex("680e0200000064010600 2f00 000000 14".replace(" ", ""))
S_FRAME_NR5 = bytes.fromhex("680401000a00")


def test_s_frame_of_the_reference_acknowledges_five() -> None:
    assert decode_apdu(S_FRAME_NR5) == SFrame(recv_seq=5)
    assert encode_apdu(SFrame(recv_seq=5)) == S_FRAME_NR5


def test_i_frame_of_the_reference_has_send_sequence_one() -> None:
    frame = decode_apdu(C_IC_NA_1_NS1)
    assert frame == IFrame(send_seq=1, recv_seq=0, asdu=C_IC_NA_1_NS1[6:])


@pytest.mark.parametrize(
    ("function", "wire"),
    [
        (UFunction.STARTDT_ACT, "680407000000"),
        (UFunction.STARTDT_CON, "68040b000000"),
        (UFunction.STOPDT_ACT, "680413000000"),
        (UFunction.STOPDT_CON, "680423000000"),
        (UFunction.TESTFR_ACT, "680443000000"),
        (UFunction.TESTFR_CON, "680483000000"),
    ],
)
def test_u_frames_match_the_standard(function: UFunction, wire: str) -> None:
    assert encode_apdu(UFrame(function=function)) == bytes.fromhex(wire)
    assert decode_apdu(bytes.fromhex(wire)) == UFrame(function=function)


seq = st.integers(min_value=0, max_value=32767)
apdus = st.one_of(
    st.builds(IFrame, send_seq=seq, recv_seq=seq, asdu=st.binary(min_size=1, max_size=249)),
    st.builds(SFrame, recv_seq=seq),
    st.builds(UFrame, function=st.sampled_from(UFunction)),
)


@settings(deadline=None)  # a loaded shared machine must not make a codec test flaky
@given(apdus)
def test_decode_inverts_encode(apdu: IFrame | SFrame | UFrame) -> None:
    assert decode_apdu(encode_apdu(apdu)) == apdu


@settings(deadline=None)  # a loaded shared machine must not make a codec test flaky
@given(st.lists(apdus, min_size=1, max_size=8), st.data())
def test_stream_cut_anywhere_yields_the_same_frames(
    frames: list[IFrame | SFrame | UFrame], data: st.DataObject
) -> None:
    stream = b"".join(encode_apdu(f) for f in frames)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    reader = ApduReader()
    decoded = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        decoded.extend(reader.feed(stream[start:end]))
    assert decoded == frames
    assert reader.buffered == 0


@pytest.mark.parametrize(
    "garbage",
    [
        "690407000000",  # wrong start octet
        "680200000000",  # length below four
        "680407010000",  # U frame with reserved octets set
        "68040f000000",  # two U functions at once
        "680401010a00",  # S frame with CF2 set
        "680402000000",  # I frame without ASDU
        "68050100000000",  # S frame carrying an octet
    ],
)
def test_malformed_apdu_asks_to_close_the_connection(garbage: str) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        list(ApduReader().feed(bytes.fromhex(garbage)))
    assert info.value.close_connection


def test_frames_before_garbage_are_still_delivered() -> None:
    reader = ApduReader()
    got = []
    with pytest.raises(RemoteProtocolError):
        for frame in reader.feed(S_FRAME_NR5 + b"\x00\x00"):
            got.append(frame)
    assert got == [SFrame(recv_seq=5)]
