"""SECC Discovery Protocol (SDP) messages of ISO 15118-20 (UDP port 15118, ``FF02::1``).

The EVCC multicasts an SDP request (what security and transport it wants) on the IPv6
link-local all-nodes group; the SECC answers by unicast with the address and TCP port to
connect to. Both travel in V2GTP frames of payload type 0x9000 / 0x9001. Bytes in, typed
message out; the UDP socket lives in ``transports/iso15118_tcp.py``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from .errors import RemoteProtocolError
from .v2gtp import PayloadType, decode_frame, encode_frame

SDP_PORT: Final = 15118
SDP_MULTICAST_ADDRESS: Final = "ff02::1"
# EVCC retries: 250 ms per request, up to 50 requests (Josev SDP_MAX_REQUEST_COUNTER, Timeouts.SDP_REQ)
SDP_REQUEST_TIMEOUT_s: Final = 0.25
SDP_MAX_REQUESTS: Final = 50
# The SECC's TCP port lies in the dynamic range (ISO 15118-20 SDP response; Josev rejects others)
TCP_PORT_RANGE: Final = range(49152, 65536)


class Security(IntEnum):
    TLS = 0x00
    NO_TLS = 0x10


class TransportProtocol(IntEnum):
    TCP = 0x00
    UDP = 0x10


@dataclass(frozen=True, slots=True, kw_only=True)
class SdpRequest:
    security: Security
    transport: TransportProtocol = TransportProtocol.TCP


@dataclass(frozen=True, slots=True, kw_only=True)
class SdpResponse:
    address: ipaddress.IPv6Address
    port: int
    security: Security
    transport: TransportProtocol = TransportProtocol.TCP


def encode_request(request: SdpRequest) -> bytes:
    return encode_frame(PayloadType.SDP_REQUEST, bytes((request.security, request.transport)))


def encode_response(response: SdpResponse) -> bytes:
    payload = (
        response.address.packed
        + response.port.to_bytes(2, "big")
        + bytes((response.security, response.transport))
    )
    return encode_frame(PayloadType.SDP_RESPONSE, payload)


def _enum(cls: type[Security] | type[TransportProtocol], value: int, what: str) -> int:
    try:
        return int(cls(value))
    except ValueError:
        raise RemoteProtocolError(f"SDP {what} {value:#04x} is not defined") from None


def decode_request(datagram: bytes) -> SdpRequest:
    frame = decode_frame(datagram)
    if frame.payload_type != PayloadType.SDP_REQUEST or len(frame.payload) != 2:
        raise RemoteProtocolError(
            f"not an SDP request: type {frame.payload_type:#06x}, {len(frame.payload)} bytes"
        )
    return SdpRequest(
        security=Security(_enum(Security, frame.payload[0], "security")),
        transport=TransportProtocol(_enum(TransportProtocol, frame.payload[1], "transport")),
    )


def decode_response(datagram: bytes) -> SdpResponse:
    frame = decode_frame(datagram)
    if frame.payload_type != PayloadType.SDP_RESPONSE or len(frame.payload) != 20:
        raise RemoteProtocolError(
            f"not an SDP response: type {frame.payload_type:#06x}, {len(frame.payload)} bytes"
        )
    p = frame.payload
    return SdpResponse(
        address=ipaddress.IPv6Address(p[:16]),
        port=int.from_bytes(p[16:18], "big"),
        security=Security(_enum(Security, p[18], "security")),
        transport=TransportProtocol(_enum(TransportProtocol, p[19], "transport")),
    )
