"""CMS SignedData for meter data and GWA profile updates (RFC 5652 clause 5,
BSI TR-03109-1 Anlage I "CMS-Datenformat": the gateway signs with its signature key).

Built here rather than with `cryptography`'s PKCS7SignatureBuilder because that builder
stamps signingTime from the system clock; a sans-I/O core takes `now`. Signatures are
ECDSA (RFC 5753 / RFC 5758) with SHA-256 for 256-bit curves and SHA-384 above, made
deterministic (RFC 6979) so the same input gives the same bytes. One signer, identified
by issuer and serial number; the signer's certificate (and any Sub-CA) travel along.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from . import der
from .errors import LocalProtocolError, RemoteProtocolError
from .trust import ChainCache, ec_public_key, utc, verify_chain

ID_DATA: Final = "1.2.840.113549.1.7.1"
ID_SIGNED_DATA: Final = "1.2.840.113549.1.7.2"
ID_CONTENT_TYPE: Final = "1.2.840.113549.1.9.3"
ID_MESSAGE_DIGEST: Final = "1.2.840.113549.1.9.4"
ID_SIGNING_TIME: Final = "1.2.840.113549.1.9.5"
_DIGESTS: Final = {  # digest OID -> (hashlib name, ecdsa-with-X OID, cryptography hash)
    "2.16.840.1.101.3.4.2.1": ("sha256", "1.2.840.10045.4.3.2"),
    "2.16.840.1.101.3.4.2.2": ("sha384", "1.2.840.10045.4.3.3"),
    "2.16.840.1.101.3.4.2.3": ("sha512", "1.2.840.10045.4.3.4"),
}
_HASHES: Final[dict[str, hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512(),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Signer:
    """A private key with its certificate and the Sub-CA certificates to send along."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedContent:
    content: bytes
    signer: x509.Certificate
    signing_time: float | None


def _digest_oid(key: ec.EllipticCurvePrivateKey) -> str:
    return "2.16.840.1.101.3.4.2.1" if key.curve.key_size <= 256 else "2.16.840.1.101.3.4.2.2"


def _time(now: float) -> bytes:
    when = utc(now)
    if 1950 <= when.year < 2050:  # RFC 5652 11.3: UTCTime within these years
        return der.tlv(der.UTC_TIME, when.strftime("%y%m%d%H%M%SZ").encode())
    return der.tlv(der.GENERALIZED_TIME, when.strftime("%Y%m%d%H%M%SZ").encode())


def _parse_time(node: der.Node) -> float:
    text = node.content.decode("ascii", "replace")
    fmt = "%y%m%d%H%M%SZ" if node.tag == der.UTC_TIME else "%Y%m%d%H%M%SZ"
    try:
        return dt.datetime.strptime(text, fmt).replace(tzinfo=dt.UTC).timestamp()
    except ValueError:
        raise RemoteProtocolError(f"bad signing time {text!r}", reason="bad-der") from None


# A gateway signs and an EMT checks thousands of messages with the same few certificates:
# the DER of a certificate's IssuerAndSerialNumber (RFC 5652 10.2.4) and of the certificate
# itself are pure functions of it, so they are encoded once (keyed by the certificate, whose
# equality is its full DER).
@lru_cache(maxsize=1024)
def issuer_and_serial(cert: x509.Certificate) -> bytes:
    return der.seq(cert.issuer.public_bytes(), der.integer(cert.serial_number))


@lru_cache(maxsize=1024)
def _certificate_der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _attribute(type_oid: str, value: bytes) -> bytes:
    return der.seq(der.oid(type_oid), der.set_of(value))


def sign(content: bytes, signer: Signer, *, now: float) -> bytes:
    """ContentInfo(SignedData) over `content` (id-data, encapsulated), signed at `now`."""
    if not isinstance(signer.key, ec.EllipticCurvePrivateKey):
        raise LocalProtocolError("the gateway signs with an EC key (TR-03116-3)")
    digest_oid = _digest_oid(signer.key)
    hash_name, sig_oid = _DIGESTS[digest_oid]
    algorithm = der.seq(der.oid(digest_oid))
    attrs = der.set_of(
        _attribute(ID_CONTENT_TYPE, der.oid(ID_DATA)),
        _attribute(ID_SIGNING_TIME, _time(now)),
        _attribute(ID_MESSAGE_DIGEST, der.octets(hashlib.new(hash_name, content).digest())),
    )
    signature = signer.key.sign(attrs, ec.ECDSA(_HASHES[hash_name], deterministic_signing=True))
    signer_info = der.seq(
        der.integer(1),
        issuer_and_serial(signer.certificate),
        algorithm,
        der.tlv(0xA0, der.decode(attrs).content),  # signedAttrs [0] IMPLICIT
        der.seq(der.oid(sig_oid)),
        der.octets(signature),
    )
    certs = b"".join(_certificate_der(c) for c in (signer.certificate, *signer.chain))
    signed_data = der.seq(
        der.integer(1),
        der.set_of(algorithm),
        der.seq(der.oid(ID_DATA), der.explicit(0, der.octets(content))),
        der.tlv(0xA0, certs),  # certificates [0] IMPLICIT SET OF
        der.set_of(signer_info),
    )
    return der.seq(der.oid(ID_SIGNED_DATA), der.explicit(0, signed_data))


def _content_info(data: bytes, expected: str) -> der.Node:
    try:
        type_node, body = der.decode(data).expect(der.SEQUENCE).children()
    except ValueError:
        raise RemoteProtocolError("ContentInfo has not two elements", reason="bad-der") from None
    if type_node.as_oid() != expected:
        raise RemoteProtocolError(f"content type {type_node.as_oid()}, expected {expected}", reason="wrong-content-type")
    (inner,) = body.expect(0xA0).children()
    return inner


def content_info(data: bytes, expected: str) -> der.Node:
    """The [0] content of a ContentInfo of type `expected`."""
    try:
        return _content_info(data, expected)
    except ValueError:
        raise RemoteProtocolError("malformed ContentInfo", reason="bad-der") from None


def _attributes(node: der.Node) -> dict[str, der.Node]:
    found: dict[str, der.Node] = {}
    for attr in node.children():
        type_node, values = attr.expect(der.SEQUENCE).children()
        value_nodes = values.expect(der.SET).children()
        if len(value_nodes) != 1 or type_node.as_oid() in found:
            raise RemoteProtocolError("signed attribute with not exactly one value", reason="bad-der")
        found[type_node.as_oid()] = value_nodes[0]
    return found


def verify(data: bytes, *, roots: Sequence[x509.Certificate], now: float,
           intermediates: Sequence[x509.Certificate] = (), chain_cache: ChainCache | None = None) -> VerifiedContent:
    """Check SignedData: signer chains to `roots` at `now`, digest and signature match.

    `intermediates` adds Sub-CA certificates the sender did not include; `chain_cache` keeps
    issuer paths already checked (the content's own signature is checked every time).
    """
    try:
        return _verify(data, roots=roots, now=now, intermediates=intermediates, chain_cache=chain_cache)
    except (ValueError, x509.DuplicateExtension):
        raise RemoteProtocolError("malformed SignedData", reason="bad-der") from None


def _verify(data: bytes, *, roots: Sequence[x509.Certificate], now: float,
            intermediates: Sequence[x509.Certificate], chain_cache: ChainCache | None) -> VerifiedContent:
    signed = content_info(data, ID_SIGNED_DATA).expect(der.SEQUENCE).children()
    version, algs, encap, *rest = signed
    algs.expect(der.SET)
    if version.as_int() not in (1, 3):
        raise RemoteProtocolError(f"SignedData version {version.as_int()}", reason="unsupported")
    signer_infos = rest[-1].expect(der.SET).children()
    cert_nodes = next((n for n in rest[:-1] if n.tag == 0xA0), None)
    if cert_nodes is None:
        raise RemoteProtocolError("SignedData carries no signer certificate", reason="untrusted-certificate")
    certs = [x509.load_der_x509_certificate(n.raw) for n in cert_nodes.children()]
    content_type, *wrapped = encap.expect(der.SEQUENCE).children()
    if content_type.as_oid() != ID_DATA or len(wrapped) != 1:
        raise RemoteProtocolError("no encapsulated id-data content", reason="wrong-content-type")
    (content_node,) = wrapped[0].expect(0xA0).children()
    content = content_node.as_octets()
    if len(signer_infos) != 1:
        raise RemoteProtocolError("exactly one signer expected", reason="bad-signature")
    version, sid, digest_alg, attrs_node, sig_alg, signature, *_ = signer_infos[0].expect(der.SEQUENCE).children()
    if version.as_int() != 1:
        raise RemoteProtocolError("SignerInfo identifies its signer by issuer and serial (v1)", reason="unsupported")
    signer = next((c for c in certs if issuer_and_serial(c) == sid.raw), None)
    if signer is None:
        raise RemoteProtocolError("signer certificate not included", reason="untrusted-certificate")
    verify_chain(signer, intermediates=(*certs, *intermediates), roots=roots, now=now, cache=chain_cache)
    digest_oid = digest_alg.expect(der.SEQUENCE).children()[0].as_oid()
    if digest_oid not in _DIGESTS:
        raise RemoteProtocolError(f"digest {digest_oid} not allowed", reason="bad-signature")
    hash_name, sig_oid = _DIGESTS[digest_oid]
    if sig_alg.expect(der.SEQUENCE).children()[0].as_oid() != sig_oid:
        raise RemoteProtocolError("signature algorithm does not match the digest", reason="bad-signature")
    attrs = _attributes(attrs_node.expect(0xA0))
    if attrs.get(ID_CONTENT_TYPE) is None or attrs[ID_CONTENT_TYPE].as_oid() != ID_DATA:
        raise RemoteProtocolError("contentType attribute missing", reason="bad-signature")
    digest = attrs.get(ID_MESSAGE_DIGEST)
    if digest is None or digest.as_octets() != hashlib.new(hash_name, content).digest():
        raise RemoteProtocolError("message digest does not match the content", reason="bad-signature")
    signed_bytes = der.tlv(der.SET, attrs_node.content)  # RFC 5652 5.4: hashed with the SET OF tag
    try:
        ec_public_key(signer).verify(signature.as_octets(), signed_bytes, ec.ECDSA(_HASHES[hash_name]))
    except InvalidSignature:
        raise RemoteProtocolError("signature does not verify", reason="bad-signature") from None
    signing_time = attrs.get(ID_SIGNING_TIME)
    return VerifiedContent(content=content, signer=signer,
                           signing_time=None if signing_time is None else _parse_time(signing_time))
