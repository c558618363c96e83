"""CMS EnvelopedData for one EMT: ECDH key agreement + AES (RFC 5652 clause 6 with the
KeyAgreeRecipientInfo of RFC 5753; BSI TR-03109-1 Anlage I, ECKA with the EMT's
encryption certificate, curves of TR-03116-3: brainpoolP256r1/384r1/512r1, P-256, P-384).

`cryptography` envelopes only for RSA recipients (KeyTransRecipientInfo), so the ECDH
recipient info is built here: an ephemeral key pair (derived from the injected random
bytes), ECDH with the recipient's public key, the ANSI X9.63 KDF over ECC-CMS-SharedInfo
(RFC 5753 7.2), AES key wrap (RFC 3394) of a fresh content key, AES-CBC of the content.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from . import der
from .cms_signed import ID_DATA, content_info, issuer_and_serial
from .errors import LocalProtocolError, RemoteProtocolError
from .trust import ec_public_key

ID_ENVELOPED_DATA: Final = "1.2.840.113549.1.7.3"
ID_EC_PUBLIC_KEY: Final = "1.2.840.10045.2.1"
# RFC 5753 7.1.4 dhSinglePass-stdDH-*kdf-scheme -> KDF hash
_KDFS: Final[dict[str, hashes.HashAlgorithm]] = {
    "1.3.133.16.840.63.0.2": hashes.SHA1(),  # what `openssl cms -encrypt` picks by default
    "1.3.132.1.11.1": hashes.SHA256(),
    "1.3.132.1.11.2": hashes.SHA384(),
    "1.3.132.1.11.3": hashes.SHA512(),
}
_KDF_SHA256: Final = "1.3.132.1.11.1"
# AES key wrap (RFC 3565) -> KEK length; AES-CBC content encryption -> key length
_WRAPS: Final = {"2.16.840.1.101.3.4.1.5": 16, "2.16.840.1.101.3.4.1.25": 24, "2.16.840.1.101.3.4.1.45": 32}
_CBCS: Final = {"2.16.840.1.101.3.4.1.2": 16, "2.16.840.1.101.3.4.1.22": 24, "2.16.840.1.101.3.4.1.42": 32}
AES256_WRAP: Final = "2.16.840.1.101.3.4.1.45"
AES256_CBC: Final = "2.16.840.1.101.3.4.1.42"
RandomBytes = Callable[[int], bytes]


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipient:
    """An EMT's decryption side: its encryption key and certificate."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate


def _shared_info(wrap_oid: str, kek_len: int) -> bytes:
    return der.seq(der.seq(der.oid(wrap_oid)), der.explicit(2, der.octets((8 * kek_len).to_bytes(4, "big"))))


def _kek(shared: bytes, kdf_hash: hashes.HashAlgorithm, wrap_oid: str) -> bytes:
    length = _WRAPS[wrap_oid]
    return X963KDF(algorithm=kdf_hash, length=length, sharedinfo=_shared_info(wrap_oid, length)).derive(shared)


def _ephemeral_key(curve: ec.EllipticCurve, random_bytes: RandomBytes) -> ec.EllipticCurvePrivateKey:
    size = (curve.key_size + 7) // 8 + 8  # 64 extra bits make the reduction bias negligible
    for _ in range(8):
        value = int.from_bytes(random_bytes(size), "big")
        try:
            # the group order is not exposed; reducing below 2**(bits-1) stays inside every curve
            return ec.derive_private_key(value % (1 << (curve.key_size - 1)) or 1, curve)
        except ValueError:
            continue
    raise LocalProtocolError("the random source gave no usable ephemeral key")


def envelope(content: bytes, recipient: x509.Certificate, *, random_bytes: RandomBytes) -> bytes:
    """ContentInfo(EnvelopedData) of `content` readable only with `recipient`'s key."""
    public = ec_public_key(recipient)
    ephemeral = _ephemeral_key(public.curve, random_bytes)
    kek = _kek(ephemeral.exchange(ec.ECDH(), public), hashes.SHA256(), AES256_WRAP)
    cek = random_bytes(32)
    iv = random_bytes(16)
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(cek), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padder.update(content) + padder.finalize()) + encryptor.finalize()
    point = ephemeral.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    originator = der.tlv(0xA1, der.seq(der.oid(ID_EC_PUBLIC_KEY)) + der.bit_string(point))  # [1] OriginatorPublicKey
    kari = der.tlv(0xA1, b"".join((  # [1] IMPLICIT KeyAgreeRecipientInfo
        der.integer(3),
        der.explicit(0, originator),
        der.seq(der.oid(_KDF_SHA256), der.seq(der.oid(AES256_WRAP))),
        der.seq(der.seq(issuer_and_serial(recipient), der.octets(aes_key_wrap(kek, cek)))),
    )))
    enveloped = der.seq(
        der.integer(2),  # RFC 5652 6.1: version 2 when a kari is present
        der.set_of(kari),
        der.seq(der.oid(ID_DATA), der.seq(der.oid(AES256_CBC), der.octets(iv)), der.tlv(0x80, ciphertext)),
    )
    return der.seq(der.oid(ID_ENVELOPED_DATA), der.explicit(0, enveloped))


def decrypt(data: bytes, recipient: Recipient) -> bytes:
    """The content of EnvelopedData addressed to `recipient` (``not-for-us``, ``bad-der``, ``decrypt-failed``)."""
    try:
        return _decrypt(data, recipient)
    except (ValueError, KeyError):
        raise RemoteProtocolError("malformed EnvelopedData", reason="bad-der") from None


def _find_kari(infos: tuple[der.Node, ...], rid: bytes) -> tuple[der.Node, bytes]:
    for info in infos:
        if info.tag != 0xA1:
            continue
        _version, originator, *middle, keys = info.children()
        for entry in keys.expect(der.SEQUENCE).children():
            entry_rid, wrapped = entry.expect(der.SEQUENCE).children()
            if entry_rid.raw == rid:
                return der.Node(tag=der.SEQUENCE, content=info.content, raw=info.raw), wrapped.as_octets()
    raise RemoteProtocolError("no key agreement recipient info for our certificate", reason="not-for-us")


def _decrypt(data: bytes, recipient: Recipient) -> bytes:
    version, infos, *rest = content_info(data, ID_ENVELOPED_DATA).expect(der.SEQUENCE).children()
    if version.as_int() != 2:  # RFC 5652 6.1: 2 with a kari, no originatorInfo/attributes
        raise RemoteProtocolError(f"EnvelopedData version {version.as_int()}", reason="unsupported")
    if infos.tag != der.SET:  # originatorInfo [0] present
        infos, *rest = rest
    kari, wrapped = _find_kari(infos.children(), issuer_and_serial(recipient.certificate))
    kari_version, originator, *optional, key_alg, _keys = kari.children()
    (orig_key,) = originator.expect(0xA0).children()
    if orig_key.tag != 0xA1 or kari_version.as_int() != 3:
        raise RemoteProtocolError("originator is not an ephemeral public key", reason="bad-der")
    orig_alg, orig_point = orig_key.children()
    if orig_alg.expect(der.SEQUENCE).children()[0].as_oid() != ID_EC_PUBLIC_KEY:
        raise RemoteProtocolError("originator key is not an EC key", reason="bad-der")
    point = orig_point.as_bits()
    ephemeral = ec.EllipticCurvePublicKey.from_encoded_point(recipient.key.curve, point)
    kdf_oid, wrap_alg = key_alg.expect(der.SEQUENCE).children()
    wrap_oid = wrap_alg.expect(der.SEQUENCE).children()[0].as_oid()
    if kdf_oid.as_oid() not in _KDFS or wrap_oid not in _WRAPS:
        raise RemoteProtocolError(f"key agreement {kdf_oid.as_oid()} / {wrap_oid} not supported", reason="unsupported")
    ukm = next((n.children()[0].as_octets() for n in optional if n.tag == 0xA1), None)
    shared = recipient.key.exchange(ec.ECDH(), ephemeral)
    length = _WRAPS[wrap_oid]
    info = der.seq(der.seq(der.oid(wrap_oid)),
                   *(() if ukm is None else (der.explicit(0, der.octets(ukm)),)),
                   der.explicit(2, der.octets((8 * length).to_bytes(4, "big"))))
    kek = X963KDF(algorithm=_KDFS[kdf_oid.as_oid()], length=length, sharedinfo=info).derive(shared)
    try:
        cek = aes_key_unwrap(kek, wrapped)
    except InvalidUnwrap:
        raise RemoteProtocolError("content key does not unwrap", reason="decrypt-failed") from None
    content_type, cipher_alg, encrypted = rest[0].expect(der.SEQUENCE).children()
    if content_type.as_oid() != ID_DATA:
        raise RemoteProtocolError("enveloped content is not id-data", reason="wrong-content-type")
    cipher_oid, iv = cipher_alg.expect(der.SEQUENCE).children()
    if cipher_oid.as_oid() not in _CBCS or len(cek) != _CBCS[cipher_oid.as_oid()]:
        raise RemoteProtocolError(f"content cipher {cipher_oid.as_oid()} not supported", reason="unsupported")
    decryptor = Cipher(algorithms.AES(cek), modes.CBC(iv.as_octets())).decryptor()
    if encrypted.tag == 0x80:
        ciphertext = encrypted.content
    else:  # constructed [0] of OCTET STRING segments
        ciphertext = b"".join(c.as_octets() for c in encrypted.expect(0xA0).children())
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise RemoteProtocolError("bad padding after decryption", reason="decrypt-failed") from None
