"""SupportedAppProtocol handshake (ISO 15118-20, schema ``urn:iso:15118:2:2010:AppProtocol``).

The EVCC lists the protocol namespaces it speaks, each with a version, a SchemaID and a
priority (1 = most wanted); the SECC answers with the SchemaID of the one it picks.
We speak ISO 15118-20 (major version 1) in its AC and DC flavours.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from bidicharge.protocols.exi.messages import app_protocol as ap

NS_ISO20_AC: Final = "urn:iso:std:iso:15118:-20:AC"
NS_ISO20_DC: Final = "urn:iso:std:iso:15118:-20:DC"
ISO20_MAJOR: Final = 1
ISO20_MINOR: Final = 0
SUPPORTED_NAMESPACES: Final = (NS_ISO20_AC, NS_ISO20_DC)


def offer(namespaces: Sequence[str] = SUPPORTED_NAMESPACES) -> ap.SupportedAppProtocolReq:
    """The EVCC's request: `namespaces` in order of preference, SchemaIDs 1, 2, …"""
    return ap.SupportedAppProtocolReq(
        app_protocol=tuple(
            ap.AppProtocol(
                protocol_namespace=ns,
                version_number_major=ISO20_MAJOR,
                version_number_minor=ISO20_MINOR,
                schema_id=i + 1,
                priority=i + 1,
            )
            for i, ns in enumerate(namespaces)
        )
    )


def negotiate(
    request: ap.SupportedAppProtocolReq, supported: Sequence[str] = SUPPORTED_NAMESPACES
) -> tuple[ap.SupportedAppProtocolRes, str | None]:
    """The SECC's answer and the namespace it chose (None when nothing matches).

    The EV's priority decides among the protocols both sides speak; a different minor
    version is accepted with ``OK_SuccessfulNegotiationWithMinorDeviation``.
    """
    candidates = sorted(
        (
            p
            for p in request.app_protocol
            if p.protocol_namespace in supported and p.version_number_major == ISO20_MAJOR
        ),
        key=lambda p: p.priority,
    )
    if not candidates:
        return ap.SupportedAppProtocolRes(response_code=ap.ResponseCode.Failed_NoNegotiation), None
    chosen = candidates[0]
    code = (
        ap.ResponseCode.OK_SuccessfulNegotiation
        if chosen.version_number_minor == ISO20_MINOR
        else ap.ResponseCode.OK_SuccessfulNegotiationWithMinorDeviation
    )
    return ap.SupportedAppProtocolRes(
        response_code=code, schema_id=chosen.schema_id
    ), chosen.protocol_namespace


def chosen_namespace(request: ap.SupportedAppProtocolReq, response: ap.SupportedAppProtocolRes) -> str | None:
    """On the EVCC side: the namespace the SECC's SchemaID names (None on failure)."""
    if response.response_code == ap.ResponseCode.Failed_NoNegotiation:
        return None
    return next(
        (p.protocol_namespace for p in request.app_protocol if p.schema_id == response.schema_id), None
    )
