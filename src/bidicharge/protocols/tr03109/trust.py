"""Certificate checks against the SM-PKI trust anchor (BSI TR-03109-4).

The SM-PKI is a three-level hierarchy: Root-CA, Sub-CAs (for gateways, for GWAs, for
EMTs), end-entity certificates. Every signature the gateway accepts (a GWA's profile
update) and every signature an EMT accepts (the gateway's meter data) is checked up to a
root the checker was given, with validity at the `now` it was given — never the clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec

from .errors import RemoteProtocolError

MAX_CHAIN: Final = 4  # Root -> Sub-CA -> end entity, with room for a cross certificate


def utc(now: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(now, tz=dt.UTC)


def _valid_at(cert: x509.Certificate, now: float) -> None:
    when = utc(now)
    if not cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
        raise RemoteProtocolError(f"{cert.subject.rfc4514_string()} is not valid at {when.isoformat()}",
                                  reason="certificate-expired")


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except (x509.ExtensionNotFound, x509.DuplicateExtension, ValueError):
        return False


def _issuer_path(
    leaf: x509.Certificate, intermediates: Sequence[x509.Certificate], roots: Sequence[x509.Certificate]
) -> tuple[x509.Certificate, ...]:
    """Leaf, its issuers, up to a root, each signature checked; validity times are not checked here."""
    path = [leaf]
    current = leaf
    for _ in range(MAX_CHAIN):
        if current in roots:
            return tuple(path)
        issuer = next((c for c in (*roots, *intermediates) if c.subject == current.issuer and c != current), None)
        if issuer is None or not _is_ca(issuer):
            break
        try:
            current.verify_directly_issued_by(issuer)
        except (InvalidSignature, ValueError, TypeError):
            raise RemoteProtocolError(f"{current.subject.rfc4514_string()} has a bad issuer signature",
                                      reason="untrusted-certificate") from None
        path.append(issuer)
        if issuer in roots:
            return tuple(path)
        current = issuer
    raise RemoteProtocolError(f"{leaf.subject.rfc4514_string()} does not chain to a trusted root",
                              reason="untrusted-certificate")


def verify_chain(
    leaf: x509.Certificate,
    *,
    intermediates: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    now: float,
    cache: ChainCache | None = None,
) -> None:
    """Raise `RemoteProtocolError` (``untrusted-certificate``) unless `leaf` chains to a root,
    (``certificate-expired``) unless every certificate on the way is valid at `now`."""
    _valid_at(leaf, now)
    path = cache.path(leaf, intermediates, roots) if cache is not None else _issuer_path(leaf, intermediates, roots)
    for cert in path[1:]:
        _valid_at(cert, now)


class ChainCache:
    """Issuer paths already checked, so that a receiver of many messages signed by the same
    certificate checks the path's signatures once, not per message.

    Safe because the key is the certificates themselves (equal DER, compared in full, not a
    fingerprint) together with the trust anchors: a path is reused only for the very same
    leaf, the same certificates offered and the same roots; validity at `now` is still checked
    on every call (`verify_chain`), and a path that failed is never stored. Bounded: the oldest
    entries go first (a gateway's certificate renewal just adds a new entry).
    """

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._paths: dict[tuple[x509.Certificate, tuple[x509.Certificate, ...], tuple[x509.Certificate, ...]],
                          tuple[x509.Certificate, ...]] = {}
        self.hits = 0
        self.misses = 0

    def path(self, leaf: x509.Certificate, intermediates: Sequence[x509.Certificate],
             roots: Sequence[x509.Certificate]) -> tuple[x509.Certificate, ...]:
        key = (leaf, tuple(intermediates), tuple(roots))
        found = self._paths.get(key)
        if found is not None:
            self.hits += 1
            return found
        self.misses += 1
        path = _issuer_path(leaf, intermediates, roots)
        if len(self._paths) >= self.max_entries:
            del self._paths[next(iter(self._paths))]
        self._paths[key] = path
        return path


def ec_public_key(cert: x509.Certificate) -> ec.EllipticCurvePublicKey:
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise RemoteProtocolError("SM-PKI certificates carry EC keys (TR-03116-3)", reason="bad-key")
    return key


def common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()
