"""Bad input: garbage from a peer raises RemoteProtocolError (never anything else); a
message that does not fit the schema raises LocalProtocolError before any byte is sent."""

from __future__ import annotations

import dataclasses

import pytest
from exi_vector_fixtures import load_vectors
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bidicharge.protocols.exi import (
    NS_AC,
    NS_APP_PROTOCOL,
    NS_COMMON_MESSAGES,
    SCHEMA_NAMESPACES,
    LocalProtocolError,
    RemoteProtocolError,
    decode,
    decode_element,
    encode,
)
from bidicharge.protocols.exi.messages import app_protocol as sap
from bidicharge.protocols.exi.messages import common_messages as cm
from bidicharge.protocols.exi.messages import common_types as ct

NAMESPACES = list(SCHEMA_NAMESPACES)
VALID = [bytes.fromhex(v[3]) for v in load_vectors()]
HEADER = ct.MessageHeader(session_id=bytes(8), time_stamp=1)


def _decode_or_reject(data: bytes, namespace: str) -> None:
    try:
        element, message = decode_element(data, namespace)
    except RemoteProtocolError as exc:
        assert exc.response_code == "FAILED"
        return
    # whatever decodes is a valid message: it encodes again without complaint
    encode(message, namespace, element=element)


@settings(max_examples=400, deadline=None)
@given(data=st.binary(max_size=200), namespace=st.sampled_from(NAMESPACES))
def test_arbitrary_bytes_raise_only_remote_protocol_error(data: bytes, namespace: str) -> None:
    _decode_or_reject(b"\x80" + data, namespace)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    valid=st.sampled_from(VALID),
    flips=st.lists(st.integers(min_value=8, max_value=4000), min_size=1, max_size=4),
    cut=st.integers(min_value=1, max_value=400),
    namespace=st.sampled_from(NAMESPACES),
)
def test_corrupted_valid_messages_raise_only_remote_protocol_error(
    valid: bytes, flips: list[int], cut: int, namespace: str
) -> None:
    buf = bytearray(valid[:cut])
    for bit in flips:
        if bit // 8 < len(buf):
            buf[bit // 8] ^= 0x80 >> (bit % 8)
    _decode_or_reject(bytes(buf), namespace)


@pytest.mark.parametrize("data", [b"", b"\x00", b"$EXI\x80", b"\x81\x00", b"\xa0"])
def test_wrong_header_is_the_peers_fault(data: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        decode(data, NS_COMMON_MESSAGES)


def test_truncated_message_is_the_peers_fault() -> None:
    data = encode(cm.SessionSetupReq(header=HEADER, evccid="PIXV12345678901231"))
    with pytest.raises(RemoteProtocolError):
        decode(data[:-4], NS_COMMON_MESSAGES)


def test_enumeration_index_beyond_the_list_is_rejected() -> None:
    # supportedAppProtocolRes: SE code, ResponseCode SE, CH, 2-bit index 3 (only 3 values)
    res = encode(sap.SupportedAppProtocolRes(response_code=sap.ResponseCode.Failed_NoNegotiation))
    bits = int.from_bytes(res, "big") | (1 << (len(res) * 8 - 8 - 2 - 1 - 1 - 2))
    with pytest.raises(RemoteProtocolError):
        decode(bits.to_bytes(len(res), "big"), NS_APP_PROTOCOL)


def test_message_of_another_schema_set_is_refused() -> None:
    with pytest.raises(LocalProtocolError):
        encode(cm.SessionSetupReq(header=HEADER, evccid="X"), NS_AC)


def test_missing_required_field_is_our_fault() -> None:
    broken = dataclasses.replace(
        cm.SessionStopReq(header=HEADER, charging_session=cm.ChargingSession.Terminate)
    )
    object.__setattr__(broken, "charging_session", None)
    with pytest.raises(LocalProtocolError, match="charging_session"):
        encode(broken)


def test_two_choices_at_once_are_our_fault() -> None:
    req = cm.AuthorizationReq(
        header=HEADER,
        selected_authorization_service=cm.Authorization.EIM,
        eim_a_req_authorization_mode=cm.EIM_AReqAuthorizationMode(),
        pnc_a_req_authorization_mode=cm.PnC_AReqAuthorizationMode(
            id="a1",
            gen_challenge=bytes(16),
            contract_certificate_chain=cm.ContractCertificateChain(
                certificate=b"\x30", sub_certificates=cm.SubCertificates(certificate=(b"\x30",))
            ),
        ),
    )
    with pytest.raises(LocalProtocolError):
        encode(req)


@pytest.mark.parametrize(
    "message",
    [
        cm.SessionSetupReq(
            header=ct.MessageHeader(session_id=bytes(9), time_stamp=1), evccid="X"
        ),  # 8 octets
        cm.SessionSetupReq(
            header=ct.MessageHeader(session_id=bytes(8), time_stamp=-1), evccid="X"
        ),  # unsigned
        cm.SessionSetupReq(header=HEADER, evccid="X" * 256),  # maxLength 255
        sap.SupportedAppProtocolReq(
            app_protocol=(
                sap.AppProtocol(
                    protocol_namespace="urn:iso:std:iso:15118:-20:AC",
                    version_number_major=1,
                    version_number_minor=0,
                    schema_id=1,
                    priority=21,  # 1..20
                ),
            )
        ),
    ],
)
def test_values_outside_the_schema_facets_are_our_fault(message: object) -> None:
    with pytest.raises(LocalProtocolError):
        encode(message)


def test_too_many_repetitions_are_our_fault() -> None:
    protocol = sap.AppProtocol(
        protocol_namespace="urn:iso:std:iso:15118:-20:DC",
        version_number_major=1,
        version_number_minor=0,
        schema_id=1,
        priority=1,
    )
    with pytest.raises(LocalProtocolError):
        encode(sap.SupportedAppProtocolReq(app_protocol=(protocol,) * 21))  # maxOccurs 20
