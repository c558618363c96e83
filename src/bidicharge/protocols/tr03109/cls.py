"""CLS channel access decisions (BSI TR-03109-1 HAN scenario HKS4: a transparent channel
from an active EMT through the gateway to a controllable local system).

The gateway terminates the aEMP's TLS, so it knows the client certificate; the aEMP names
the channel by TLS SNI. Only a permission in the GWA-set profile opens the way to the
control unit: the channel must exist, the certificate must chain to the SM-PKI root and
be valid now, and its fingerprint must be the one the permission names. The payload is
never looked at — the proxy is transparent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .errors import RemoteProtocolError
from .profile import ClsPermission, GatewayProfile
from .trust import ChainCache, common_name, verify_chain


@dataclass(frozen=True, slots=True, kw_only=True)
class ClsDecision:
    allowed: bool
    reason: str  # "allowed" or a refusal code
    channel_id: str | None
    client: str  # the client certificate's CN, or "anonymous"
    permission: ClsPermission | None = None


def certificate_sha256(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def decide(profile: GatewayProfile | None, *, channel_id: str | None, client_certificate_der: bytes | None,
           roots: Sequence[x509.Certificate], now: float,
           intermediates: Sequence[x509.Certificate] = (), chain_cache: ChainCache | None = None) -> ClsDecision:
    """May this client use `channel_id`? (`intermediates`: Sub-CA certificates the gateway holds;
    `chain_cache`: issuer paths already checked — the aEMP opens a channel per command with the
    same certificate, validity at `now` is still checked every time.)"""
    if client_certificate_der is None:
        return ClsDecision(allowed=False, reason="no-client-certificate", channel_id=channel_id, client="anonymous")
    try:
        cert = x509.load_der_x509_certificate(client_certificate_der)
    except ValueError:
        return ClsDecision(allowed=False, reason="bad-certificate", channel_id=channel_id, client="anonymous")
    client = common_name(cert)
    permission = None if profile is None else next((p for p in profile.cls if p.channel_id == channel_id), None)
    if permission is None:
        return ClsDecision(allowed=False, reason="unknown-channel", channel_id=channel_id, client=client)
    try:
        verify_chain(cert, intermediates=intermediates, roots=roots, now=now, cache=chain_cache)
    except RemoteProtocolError as exc:
        return ClsDecision(allowed=False, reason=exc.reason, channel_id=channel_id, client=client)
    fingerprint = certificate_sha256(cert.public_bytes(serialization.Encoding.DER))
    if fingerprint != permission.aemp_certificate_sha256.lower():
        return ClsDecision(allowed=False, reason="not-permitted", channel_id=channel_id, client=client)
    return ClsDecision(allowed=True, reason="allowed", channel_id=channel_id, client=client, permission=permission)
