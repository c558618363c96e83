"""SHIP identity: the Subject Key Identifier (SKI) of a node's certificate (SHIP 9.1, 12.1).

A SHIP node is known by the SKI of its self-signed certificate: SHA-1 over the bit string
of the subject public key (RFC 5280 §4.2.1.2 method 1), written as 40 lower-case hex
digits. Pairing means storing the peer's SKI; trust is never derived from a CA.
"""

from __future__ import annotations

import re
from typing import Final, NewType

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

Ski = NewType("Ski", str)
_SKI_RE: Final = re.compile(r"^[0-9a-f]{40}$")


def normalise_ski(text: str) -> Ski:
    """Accept the forms users paste (spaces, colons, upper case) and return 40 hex digits."""
    ski = re.sub(r"[\s:-]", "", text).lower()
    if not _SKI_RE.match(ski):
        raise ValueError(f"not a SHIP SKI (40 hex digits): {text!r}")
    return Ski(ski)


def ski_of_public_key(public_key: CertificatePublicKeyTypes) -> Ski:
    """SHA-1 of the subject public key bit string (RFC 5280 §4.2.1.2 method 1)."""
    return Ski(x509.SubjectKeyIdentifier.from_public_key(public_key).digest.hex())


def ski_of_certificate_der(der: bytes) -> Ski | None:
    """The SKI a peer presents in its SubjectKeyIdentifier extension (SHIP 12.1), if any."""
    cert = x509.load_der_x509_certificate(der)
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    except x509.ExtensionNotFound:
        return None
    digest = ext.value.digest
    return Ski(digest.hex()) if len(digest) == 20 else None
