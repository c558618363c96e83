"""Signed profile updates: the only way a profile reaches the gateway.

The GWA signs the profile JSON as CMS SignedData with its SM-PKI key (`sign_profile`).
`ProfileGuard` is the gateway's side (BSI TR-03109-1: configuration only by the GWA):

* not CMS SignedData / signature broken -> ``bad-der`` / ``bad-signature``
* signer not chaining to the SM-PKI root, or not the gateway's own GWA -> ``untrusted-certificate`` / ``not-gwa``
* signing time older than `max_age_s` or in the future -> ``expired``
* version not above the applied one (a replay, or an old update) -> ``replayed``
* for another gateway or inconsistent -> ``bad-profile``
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from cryptography import x509

from .cms_signed import Signer, sign, verify
from .errors import RemoteProtocolError
from .profile import GatewayProfile, check_profile
from .profile_codec import decode_profile, encode_profile

MAX_AGE_S: Final = 600.0
MAX_SKEW_S: Final = 60.0


def sign_profile(profile: GatewayProfile, gwa: Signer, *, now: float) -> bytes:
    return sign(encode_profile(profile), gwa, now=now)


class ProfileGuard:
    """Applies signed updates from one GWA to one gateway, refusing everything else."""

    def __init__(self, *, gateway_id: str, gwa_certificate: x509.Certificate,
                 roots: Sequence[x509.Certificate], max_age_s: float = MAX_AGE_S) -> None:
        self._gateway_id = gateway_id
        self._gwa = gwa_certificate
        self._roots = tuple(roots)
        self._max_age_s = max_age_s
        self.profile: GatewayProfile | None = None

    def apply(self, data: bytes, *, now: float) -> GatewayProfile:
        verified = verify(data, roots=self._roots, now=now)
        if verified.signer != self._gwa:
            raise RemoteProtocolError("profile not signed by this gateway's administrator", reason="not-gwa")
        if verified.signing_time is None or not (
            now - self._max_age_s <= verified.signing_time <= now + MAX_SKEW_S
        ):
            raise RemoteProtocolError("profile update outside its validity window", reason="expired")
        profile = decode_profile(verified.content)
        if self.profile is not None and profile.version <= self.profile.version:
            raise RemoteProtocolError(
                f"version {profile.version} is not above the applied {self.profile.version}", reason="replayed"
            )
        check_profile(profile, gateway_id=self._gateway_id)
        self.profile = profile
        return profile
