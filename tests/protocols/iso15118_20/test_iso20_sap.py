"""SupportedAppProtocol negotiation (ISO 15118-20 §8.3.3)."""

from __future__ import annotations

from bidicharge.protocols.exi.messages import app_protocol as ap
from bidicharge.protocols.iso15118_20 import sap


def _proto(ns: str, priority: int, schema_id: int, major: int = 1, minor: int = 0) -> ap.AppProtocol:
    return ap.AppProtocol(
        protocol_namespace=ns,
        version_number_major=major,
        version_number_minor=minor,
        schema_id=schema_id,
        priority=priority,
    )


def test_ev_priority_decides_among_common_protocols():
    request = ap.SupportedAppProtocolReq(
        app_protocol=(
            _proto("urn:iso:15118:2:2013:MsgDef", 1, 10, major=2),
            _proto(sap.NS_ISO20_DC, 3, 11),
            _proto(sap.NS_ISO20_AC, 2, 12),
        )
    )
    response, ns = sap.negotiate(request)
    assert (response.response_code, response.schema_id, ns) == (
        ap.ResponseCode.OK_SuccessfulNegotiation,
        12,
        sap.NS_ISO20_AC,
    )
    assert sap.chosen_namespace(request, response) == sap.NS_ISO20_AC


def test_other_minor_version_is_a_minor_deviation():
    request = ap.SupportedAppProtocolReq(app_protocol=(_proto(sap.NS_ISO20_DC, 1, 4, minor=1),))
    response, ns = sap.negotiate(request)
    assert response.response_code == ap.ResponseCode.OK_SuccessfulNegotiationWithMinorDeviation
    assert ns == sap.NS_ISO20_DC


def test_nothing_in_common_fails_without_schema_id():
    request = ap.SupportedAppProtocolReq(app_protocol=(_proto("urn:din:70121:2012:MsgDef", 1, 1, major=2),))
    response, ns = sap.negotiate(request)
    assert response == ap.SupportedAppProtocolRes(response_code=ap.ResponseCode.Failed_NoNegotiation)
    assert ns is None
    assert sap.chosen_namespace(request, response) is None


def test_secc_offering_only_dc_ignores_ac():
    response, ns = sap.negotiate(sap.offer(), [sap.NS_ISO20_DC])
    assert ns == sap.NS_ISO20_DC and response.schema_id == 2
