"""A throw-away SM-PKI (BSI TR-03109-4 shape) for tests, demos and simulated worlds.

Root-CA -> Sub-CA -> end entities: the gateway (signature and TLS), the GWA, EMTs
(encryption and TLS), aEMPs, CLS devices. Real SM-PKI certificates come from the BSI
root; this one is generated from injected random bytes so a seeded world gets the same
keys every run. Curves as TR-03116-3 allows: brainpoolP256r1/384r1/512r1, P-256, P-384.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .cms_enveloped import Recipient
from .cms_signed import Signer
from .trust import utc

CURVES: Final[dict[str, ec.EllipticCurve]] = {
    "brainpoolP256r1": ec.BrainpoolP256R1(),
    "brainpoolP384r1": ec.BrainpoolP384R1(),
    "brainpoolP512r1": ec.BrainpoolP512R1(),
    "secp256r1": ec.SECP256R1(),
    "secp384r1": ec.SECP384R1(),
}
_KEY_USAGE_FLAGS: Final = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
                           "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")


@dataclass(frozen=True, slots=True, kw_only=True)
class Identity:
    """A key, its certificate and the Sub-CA certificate that issued it."""

    name: str
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]

    @property
    def signer(self) -> Signer:
        return Signer(key=self.key, certificate=self.certificate, chain=self.chain)

    @property
    def recipient(self) -> Recipient:
        return Recipient(key=self.key, certificate=self.certificate)

    def certificate_pem(self) -> bytes:
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (self.certificate, *self.chain))

    def key_pem(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())


def _key(curve: ec.EllipticCurve, random_bytes: Callable[[int], bytes]) -> ec.EllipticCurvePrivateKey:
    value = int.from_bytes(random_bytes((curve.key_size + 7) // 8 + 8), "big")
    return ec.derive_private_key(value % (1 << (curve.key_size - 1)) or 1, curve)


def _usage(*flags: str) -> x509.KeyUsage:
    return x509.KeyUsage(**{flag: flag in flags for flag in _KEY_USAGE_FLAGS})


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "bidicharge test SM-PKI"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


class DemoSmPki:
    """Issues SM-PKI-like certificates; `root` is the trust anchor everybody is given."""

    def __init__(self, *, random_bytes: Callable[[int], bytes], now: float, curve: str = "secp256r1",
                 lifetime_s: float = 10 * 365 * 86_400.0) -> None:
        self._random_bytes = random_bytes
        self._curve = CURVES[curve]
        self._not_before = utc(now - 3600.0)
        self._not_after = utc(now + lifetime_s)
        self._serial = 0x1000
        root_key = _key(self._curve, random_bytes)
        self.root = self._build(_name("bidicharge SM-Root-CA"), root_key.public_key(), _name("bidicharge SM-Root-CA"),
                                root_key, ca=True)
        self._sub_key = _key(self._curve, random_bytes)
        self.sub_ca = self._build(_name("bidicharge SM-Sub-CA"), self._sub_key.public_key(), self.root.subject,
                                  root_key, ca=True)

    def _build(self, subject: x509.Name, public: ec.EllipticCurvePublicKey, issuer: x509.Name,
               issuer_key: ec.EllipticCurvePrivateKey, *, ca: bool, san: tuple[str, ...] = (),
               not_after: dt.datetime | None = None) -> x509.Certificate:
        self._serial += 1
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public)
                   .serial_number(self._serial).not_valid_before(self._not_before)
                   .not_valid_after(not_after or self._not_after)
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False))
        if ca:
            builder = builder.add_extension(_usage("key_cert_sign", "crl_sign"), critical=True)
        else:
            builder = builder.add_extension(_usage("digital_signature", "key_agreement"), critical=True)
            builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                                   ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            if san:
                builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in san]),
                                                critical=False)
        digest = hashes.SHA256() if self._curve.key_size <= 256 else hashes.SHA384()
        return builder.sign(issuer_key, digest, ecdsa_deterministic=True)

    def issue(self, name: str, *, dns_names: tuple[str, ...] = ("localhost",), not_after: float | None = None) -> Identity:
        """An end-entity identity (CN = `name`, SAN = `dns_names`) issued by the Sub-CA."""
        key = _key(self._curve, self._random_bytes)
        cert = self._build(_name(name), key.public_key(), self.sub_ca.subject, self._sub_key, ca=False,
                           san=dns_names, not_after=None if not_after is None else utc(not_after))
        return Identity(name=name, key=key, certificate=cert, chain=(self.sub_ca,))

    def root_pem(self) -> bytes:
        return self.root.public_bytes(serialization.Encoding.PEM)
