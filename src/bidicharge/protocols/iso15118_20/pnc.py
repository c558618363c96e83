"""Plug & Charge: the signed AuthorizationReq and the contract certificate chain
(ISO 15118-20 Authorization and its XML signature profile, as libcbv2g and Josev apply it).

The EVCC signs its `PnC_AReqAuthorizationMode` (Id, GenChallenge, ContractCertificateChain)
with the contract certificate's key; the signature sits in the request header:

* digest = SHA-512 over the EXI *fragment* encoding of the signed element (CommonMessages
  fragment grammar), referenced as ``#<Id>`` with the canonical-EXI transform;
* SignatureValue = ECDSA (secp521r1, SHA-512) over the EXI fragment of `SignedInfo`
  (xmldsig schema alone), as the raw ``r || s`` (each padded to the curve's size).

The SECC checks, in order: GenChallenge is the one it sent (else
``WARNING_ChallengeInvalid``), the chain leads to one of its trust anchors and every
certificate is valid now (else ``WARNING_CertificateValidationError``), the digest and the
signature hold (else ``FAILED_SignatureError``). All pure: certificates and keys in, verdict
out; time is the `now` given.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.x509.oid import NameOID

from bidicharge.protocols.exi import NS_COMMON_MESSAGES, NS_XMLDSIG, encode_fragment
from bidicharge.protocols.exi.messages import common_messages as cm
from bidicharge.protocols.exi.messages import common_types as ct
from bidicharge.protocols.exi.messages import xmldsig as ds

from .errors import RemoteProtocolError

ALG_CANONICAL_EXI: Final = "http://www.w3.org/TR/canonical-exi/"
ALG_ECDSA_SHA512: Final = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"
ALG_SHA512: Final = "http://www.w3.org/2001/04/xmlenc#sha512"
SIGNED_ELEMENT: Final = "PnC_AReqAuthorizationMode"


@dataclass(frozen=True, slots=True, kw_only=True)
class ContractCredentials:
    """The EV's contract certificate (DER), its sub-CAs (DER, leaf side first) and private key."""

    certificate: bytes
    sub_certificates: tuple[bytes, ...]
    private_key: ec.EllipticCurvePrivateKey
    sha256: bool = False  # sign with ISO 15118-2's ECDSA-SHA-256 (for peers such as Josev)


# ISO 15118-20 signs with SHA-512; ISO 15118-2's SHA-256 is used or accepted only when asked
# for (Josev's EXI jar always writes the -2 algorithms, see docs/exi.md).
_SHA256_DIGEST: Final = "http://www.w3.org/2001/04/xmlenc#sha256"
_ECDSA_SHA256: Final = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
_DIGESTS: Final = {ALG_SHA512: hashlib.sha512, _SHA256_DIGEST: hashlib.sha256}
_SIGNATURES: Final = {ALG_ECDSA_SHA512: hashes.SHA512, _ECDSA_SHA256: hashes.SHA256}


SignedElement = (
    cm.PnC_AReqAuthorizationMode | cm.SignedMeteringData | cm.SignedCertificateChain | cm.SignedInstallationData
)
# the element that carries a signed type when its name is not the type's (CertificateInstallationReq)
_ELEMENT_OF: Final[dict[type[object], str]] = {cm.SignedCertificateChain: "OEMProvisioningCertificateChain"}


def _fragment(element: SignedElement) -> bytes:
    """The signed element as an EXI fragment of CommonMessages (as libcbv2g digests it; the
    Josev jar writes the globally declared SignedMeteringData as a document, see docs/exi.md)."""
    name = _ELEMENT_OF.get(type(element), type(element).__name__)
    return encode_fragment(element, NS_COMMON_MESSAGES, element=name)


def _signed_info(element: SignedElement, *, sha256: bool) -> ds.SignedInfo:
    digest = _SHA256_DIGEST if sha256 else ALG_SHA512
    fragment = _fragment(element)
    return ds.SignedInfo(
        canonicalization_method=ds.CanonicalizationMethod(algorithm=ALG_CANONICAL_EXI),
        signature_method=ds.SignatureMethod(algorithm=_ECDSA_SHA256 if sha256 else ALG_ECDSA_SHA512),
        reference=(
            ds.Reference(
                uri=f"#{element.id}",
                transforms=ds.Transforms(transform=(ds.Transform(algorithm=ALG_CANONICAL_EXI),)),
                digest_method=ds.DigestMethod(algorithm=digest),
                digest_value=_DIGESTS[digest](fragment).digest(),
            ),
        ),
    )


def _key_bytes(key: ec.EllipticCurvePublicKey) -> int:
    return (key.curve.key_size + 7) // 8


def sign(element: SignedElement, key: ec.EllipticCurvePrivateKey, *, sha256: bool = False) -> ds.Signature:
    """The header Signature over `element`."""
    info = _signed_info(element, sha256=sha256)
    hash_ = hashes.SHA256() if sha256 else hashes.SHA512()
    der = key.sign(encode_fragment(info, NS_XMLDSIG, element="SignedInfo"), ec.ECDSA(hash_))
    r, s = decode_dss_signature(der)
    n = _key_bytes(key.public_key())
    return ds.Signature(
        signed_info=info, signature_value=ds.SignatureValue(value=r.to_bytes(n, "big") + s.to_bytes(n, "big"))
    )


def _fail(message: str, code: ct.ResponseCode) -> RemoteProtocolError:
    return RemoteProtocolError(message, response_code=code)


def verify_signature(
    signature: ds.Signature | None,
    element: SignedElement,
    cert: x509.Certificate,
    *,
    allow_sha256: bool = False,
    bad: ct.ResponseCode = ct.ResponseCode.FAILED_SignatureError,
) -> None:
    """RemoteProtocolError(`bad`) unless `signature` signs `element` with `cert`'s key."""
    name = type(element).__name__
    if signature is None:
        raise _fail(f"{name} without a signature", bad)
    allowed = {ALG_SHA512, ALG_ECDSA_SHA512} | ({_SHA256_DIGEST, _ECDSA_SHA256} if allow_sha256 else set())
    refs = [r for r in signature.signed_info.reference if r.uri == f"#{element.id}"]
    if len(refs) != 1 or refs[0].digest_method.algorithm not in allowed:
        raise _fail(f"no usable reference to {name}", bad)
    if refs[0].digest_value != _DIGESTS[refs[0].digest_method.algorithm](_fragment(element)).digest():
        raise _fail(f"digest of {name} does not match", bad)
    method = signature.signed_info.signature_method.algorithm
    if method not in allowed or method not in _SIGNATURES:
        raise _fail(f"signature method {method} not accepted", bad)
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise _fail("signing certificate has no EC key", bad)
    raw, n = signature.signature_value.value, _key_bytes(key)
    if len(raw) != 2 * n:
        raise _fail(f"signature of {len(raw)} bytes, expected {2 * n}", bad)
    der = encode_dss_signature(int.from_bytes(raw[:n], "big"), int.from_bytes(raw[n:], "big"))
    try:
        signed = encode_fragment(signature.signed_info, NS_XMLDSIG, element="SignedInfo")
        key.verify(der, signed, ec.ECDSA(_SIGNATURES[method]()))
    except InvalidSignature:
        raise _fail("signature over SignedInfo does not verify", bad) from None


def verify_chain(
    chain: cm.ContractCertificateChain | cm.CertificateChain | cm.SignedCertificateChain,
    trust_anchors: Sequence[bytes],
    now: float,
) -> x509.Certificate:
    """The leaf (e.g. the contract certificate), once its chain leads to a trust anchor and all
    are valid at `now`."""
    invalid = ct.ResponseCode.WARNING_CertificateValidationError
    try:
        leaf = x509.load_der_x509_certificate(chain.certificate)
        subs = [x509.load_der_x509_certificate(c) for c in (chain.sub_certificates.certificate
                                                             if chain.sub_certificates is not None else ())]
        anchors = [x509.load_der_x509_certificate(a) for a in trust_anchors]
    except ValueError as exc:
        raise _fail(f"certificate not DER: {exc}", invalid) from None
    when = dt.datetime.fromtimestamp(now, tz=dt.UTC)
    path = [leaf, *subs]
    for cert in path:
        if not cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
            raise _fail(f"{cert.subject.rfc4514_string()} not valid at {when:%Y-%m-%d}", invalid)
    for child, parent in zip(path, path[1:], strict=False):
        _issued_by(child, parent, invalid)
    top = path[-1]
    for anchor in anchors:
        if anchor.subject == top.issuer:
            _issued_by(top, anchor, invalid)
            return leaf
    raise _fail("certificate chain leads to no trusted root", invalid)


def _issued_by(child: x509.Certificate, parent: x509.Certificate, code: ct.ResponseCode) -> None:
    try:
        constraints = parent.extensions.get_extension_for_class(x509.BasicConstraints).value
        if not constraints.ca:
            raise _fail(f"{parent.subject.rfc4514_string()} is not a CA", code)
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
        raise _fail(
            f"{child.subject.rfc4514_string()} not issued by {parent.subject.rfc4514_string()}", code
        ) from None


def emaid_of(cert: x509.Certificate) -> str:
    """The contract id (eMAID) is the contract certificate's common name."""
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""
