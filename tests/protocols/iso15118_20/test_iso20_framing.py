"""V2GTP framing and SDP messages (ISO 15118-20 §8.5, Table 12)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bidicharge.protocols.iso15118_20 import RemoteProtocolError, sdp
from bidicharge.protocols.iso15118_20.v2gtp import FrameReader, PayloadType, decode_frame, encode_frame


def test_header_layout_is_version_inverse_type_length():
    assert encode_frame(PayloadType.MAIN, b"\x80\x01") == bytes.fromhex("01fe8002000000028001")


@given(payloads=st.lists(st.binary(max_size=300), min_size=1, max_size=5), cut=st.integers(min_value=0))
def test_reader_reassembles_frames_split_anywhere(payloads, cut):
    stream = b"".join(encode_frame(PayloadType.AC_MAIN, p) for p in payloads)
    cut %= len(stream) + 1
    reader = FrameReader()
    reader.feed(stream[:cut])
    got = [f.payload for f in reader.frames()]
    reader.feed(stream[cut:])
    got += [f.payload for f in reader.frames()]
    assert got == payloads
    assert reader.buffered == 0


@pytest.mark.parametrize("header", ["02fd800200000000", "01ff800200000000", "01fe8002ffffffff"])
def test_bad_header_is_the_peers_fault(header):
    reader = FrameReader()
    reader.feed(bytes.fromhex(header))
    with pytest.raises(RemoteProtocolError):
        list(reader.frames())


def test_sdp_request_is_two_bytes_security_then_transport():
    data = sdp.encode_request(sdp.SdpRequest(security=sdp.Security.NO_TLS))
    assert data == bytes.fromhex("01fe9000000000021000")
    assert sdp.decode_request(data) == sdp.SdpRequest(security=sdp.Security.NO_TLS)


@given(
    address=st.integers(min_value=0, max_value=2**128 - 1),
    port=st.integers(min_value=49152, max_value=65535),
    security=st.sampled_from(sdp.Security),
)
def test_sdp_response_round_trip(address, port, security):
    response = sdp.SdpResponse(address=ipaddress.IPv6Address(address), port=port, security=security)
    data = sdp.encode_response(response)
    assert len(data) == 8 + 20
    assert sdp.decode_response(data) == response


@pytest.mark.parametrize(
    "datagram",
    [
        "01fe9000000000021020",  # transport 0x20 undefined
        "01fe900000000003100000",  # three bytes
        "01fe9001000000021000",  # a response type with a request body
    ],
)
def test_bad_sdp_request_rejected(datagram):
    with pytest.raises(RemoteProtocolError):
        sdp.decode_request(bytes.fromhex(datagram))


@given(st.binary(max_size=40))
def test_sdp_decoders_raise_only_remote_protocol_error(data):
    for decode in (sdp.decode_request, sdp.decode_response, decode_frame):
        try:
            decode(data)
        except RemoteProtocolError:
            pass
