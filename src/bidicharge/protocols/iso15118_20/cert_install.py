"""Plug & Charge certificate installation (ISO 15118-20 CertificateInstallationReq/Res and
the contract key encryption of clause 7.9.2.5), pure: certificates, keys and `now` in,
messages and verdicts out.

The EV, which has no contract yet, sends its OEM provisioning certificate chain (signed with
the provisioning key, the signature in the header over the ``OEMProvisioningCertificateChain``
fragment) and the V2G roots it trusts. The CPS (through the SECC, on behalf of the eMSP)
answers with the contract certificate chain, the contract private key encrypted for the EV,
and its own chain; ``SignedInstallationData`` is signed with the CPS leaf key.

Encryption of the 521-bit contract key ([V2G20-2497..2499], [V2G20-2492]):

* ECDHE: the sender's ephemeral secp521r1 key against the provisioning certificate's key;
  ``DHPublicKey`` = the ephemeral public key as an uncompressed point (133 bytes);
* session key: NIST SP 800-56A concatenation KDF, SHA-512, 256 bits, OtherInfo
  ``AlgorithmID 0x01 || PartyUInfo 0x55 || PartyVInfo 0x56`` — the parameters of
  ISO 15118-2 [V2G2-818] with -20's hash; the -20 text of 7.9.2.5.4 was not at hand to
  re-check, so this is the doubtful part (docs/iso15118_20.md says so);
* AES-GCM-256 with a random 96-bit IV over the key padded to 528 bits (66 bytes, big-endian);
  AAD = PCID (the provisioning certificate's common name, 18 characters) followed by the
  contract certificate's SubjectKeyIdentifier as upper-case hex text;
* ``SECP521_EncryptedPrivateKey`` = IV (12) || ciphertext (66) || tag (16) = 94 bytes.

X448 and TPM-encrypted keys are recognised and refused (``ECDHCurve`` X448 is not offered).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash
from cryptography.x509.oid import NameOID

from bidicharge.protocols.exi.messages import common_messages as cm
from bidicharge.protocols.exi.messages import common_types as ct
from bidicharge.protocols.exi.messages import xmldsig as ds

from . import pnc
from .errors import RemoteProtocolError

RC = ct.ResponseCode
KDF_OTHER_INFO: Final = b"\x01\x55\x56"  # AlgorithmID, PartyUInfo "U", PartyVInfo "V"
IV_BYTES: Final = 12
KEY_BYTES_521: Final = 66  # 521 bits padded to 528
ENCRYPTED_521_BYTES: Final = IV_BYTES + KEY_BYTES_521 + 16
OEM_CHAIN_ID: Final = "OEMChain"
INSTALLATION_DATA_ID: Final = "SID1"


@dataclass(frozen=True, slots=True, kw_only=True)
class ProvisioningCredentials:
    """What an EV brings to certificate installation: its OEM provisioning certificate (DER),
    sub-CAs (leaf side first), private key, and the V2G roots (DER) it trusts for the CPS."""

    certificate: bytes
    sub_certificates: tuple[bytes, ...]
    private_key: ec.EllipticCurvePrivateKey
    v2g_roots: tuple[bytes, ...]
    max_contract_chains: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class InstallationAnswer:
    """The signed part of a CertificateInstallationRes, as a CPS produces it."""

    cps_certificate_chain: cm.CertificateChain
    signed_installation_data: cm.SignedInstallationData
    signature: ds.Signature
    remaining_contract_chains: int = 0


# The SECC's provider: request and `now` in, the answer out (RemoteProtocolError with a
# WARNING_… code when no contract can be issued).
InstallationProvider = Callable[[cm.CertificateInstallationReq, float], InstallationAnswer]


def _fail(message: str, code: RC) -> RemoteProtocolError:
    return RemoteProtocolError(message, response_code=code)


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def _ski_hex(cert: x509.Certificate) -> str:
    try:
        ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        ski = x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest
    return ski.hex().upper()


def aad(pcid: str, contract: x509.Certificate) -> bytes:
    """[V2G20-2492]: PCID, then the contract certificate's SKI as upper-case hex text."""
    return pcid.encode("ascii") + _ski_hex(contract).encode("ascii")


def _session_key(own: ec.EllipticCurvePrivateKey, peer: ec.EllipticCurvePublicKey) -> bytes:
    shared = own.exchange(ec.ECDH(), peer)
    return ConcatKDFHash(algorithm=hashes.SHA512(), length=32, otherinfo=KDF_OTHER_INFO).derive(shared)


def root_ids(roots: Sequence[bytes]) -> ct.ListOfRootCertificateIDs:
    """ListOfRootCertificateIDs: issuer and serial number of each trusted root."""
    ids = []
    for der in roots:
        cert = x509.load_der_x509_certificate(der)
        ids.append(ds.X509IssuerSerial(x509_issuer_name=cert.issuer.rfc4514_string(),
                                       x509_serial_number=cert.serial_number))
    return ct.ListOfRootCertificateIDs(root_certificate_id=tuple(ids))


# ---- the EV ------------------------------------------------------------------------------------
def installation_request(
    session_id: bytes, now: float, creds: ProvisioningCredentials
) -> cm.CertificateInstallationReq:
    """The EV's request, its provisioning chain signed with the provisioning key."""
    chain = cm.SignedCertificateChain(
        id=OEM_CHAIN_ID,
        certificate=creds.certificate,
        sub_certificates=cm.SubCertificates(certificate=creds.sub_certificates) if creds.sub_certificates else None,
    )
    header = ct.MessageHeader(session_id=session_id, time_stamp=max(0, int(now)),
                              signature=pnc.sign(chain, creds.private_key))
    return cm.CertificateInstallationReq(
        header=header,
        oem_provisioning_certificate_chain=chain,
        list_of_root_certificate_ids=root_ids(creds.v2g_roots),
        maximum_contract_certificate_chains=creds.max_contract_chains,
    )


def install_contract(
    response: cm.CertificateInstallationRes, creds: ProvisioningCredentials, now: float
) -> pnc.ContractCredentials:
    """Check the CPS chain and signature, decrypt the contract key and check that it belongs to
    the contract certificate; the EV's new contract credentials."""
    cps = pnc.verify_chain(response.cps_certificate_chain, creds.v2g_roots, now)
    data = response.signed_installation_data
    pnc.verify_signature(response.header.signature, data, cps)
    if data.ecdh_curve != cm.EcdhCurve.SECP521 or data.secp521_encrypted_private_key is None:
        raise _fail(f"contract key for {data.ecdh_curve} not supported (SECP521 only)", RC.FAILED)
    contract = x509.load_der_x509_certificate(data.contract_certificate_chain.certificate)
    pcid = _common_name(x509.load_der_x509_certificate(creds.certificate))
    key = decrypt_private_key(data, creds.private_key, aad(pcid, contract))
    if key.public_key().public_numbers() != contract.public_key().public_numbers():  # type: ignore[union-attr]
        raise _fail("the decrypted key does not belong to the contract certificate", RC.FAILED)
    return pnc.ContractCredentials(
        certificate=data.contract_certificate_chain.certificate,
        sub_certificates=tuple(data.contract_certificate_chain.sub_certificates.certificate),
        private_key=key,
    )


def decrypt_private_key(
    data: cm.SignedInstallationData, provisioning_key: ec.EllipticCurvePrivateKey, aad_bytes: bytes
) -> ec.EllipticCurvePrivateKey:
    blob = data.secp521_encrypted_private_key or b""
    if len(blob) != ENCRYPTED_521_BYTES:
        raise _fail(f"SECP521_EncryptedPrivateKey of {len(blob)} bytes, expected {ENCRYPTED_521_BYTES}", RC.FAILED)
    try:
        peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP521R1(), data.dh_public_key)
        plain = AESGCM(_session_key(provisioning_key, peer)).decrypt(blob[:IV_BYTES], blob[IV_BYTES:], aad_bytes)
        return ec.derive_private_key(int.from_bytes(plain, "big"), ec.SECP521R1())
    except (ValueError, InvalidTag) as exc:
        raise _fail(f"contract key does not decrypt: {exc!r}", RC.FAILED) from None


def encrypt_private_key(
    contract_key: ec.EllipticCurvePrivateKey, provisioning: ec.EllipticCurvePublicKey, aad_bytes: bytes,
    iv: bytes,
) -> tuple[bytes, bytes]:
    """(DHPublicKey, SECP521_EncryptedPrivateKey) for the EV holding the provisioning key."""
    ephemeral = ec.generate_private_key(ec.SECP521R1())
    plain = contract_key.private_numbers().private_value.to_bytes(KEY_BYTES_521, "big")
    sealed = AESGCM(_session_key(ephemeral, provisioning)).encrypt(iv, plain, aad_bytes)
    point = ephemeral.public_key().public_bytes(serialization.Encoding.X962,
                                                serialization.PublicFormat.UncompressedPoint)
    return point, iv + sealed


# ---- the CPS (behind the SECC) -----------------------------------------------------------------
class ContractIssuer:
    """A certificate provisioning service with its eMSP's sub-CA: checks the provisioning
    chain against the OEM roots, issues a contract certificate for the vehicle, encrypts its
    key and signs the installation data. `random_bytes(n)` supplies IVs and serial numbers
    (a CSPRNG in the field); key pairs come from the `cryptography` library."""

    def __init__(
        self, *, oem_roots: Sequence[bytes], mo_sub_ca: bytes, mo_sub_ca_key: ec.EllipticCurvePrivateKey,
        cps_chain: cm.CertificateChain, cps_key: ec.EllipticCurvePrivateKey,
        emaid_of_pcid: Callable[[str], str | None], random_bytes: Callable[[int], bytes],
        validity: dt.timedelta = dt.timedelta(days=365),
    ) -> None:
        self.oem_roots = tuple(oem_roots)
        self.mo_sub_ca = x509.load_der_x509_certificate(mo_sub_ca)
        self.mo_sub_ca_key, self.cps_chain, self.cps_key = mo_sub_ca_key, cps_chain, cps_key
        self.emaid_of_pcid, self.random_bytes, self.validity = emaid_of_pcid, random_bytes, validity
        self.issued: list[str] = []  # eMAIDs, in order

    def __call__(self, request: cm.CertificateInstallationReq, now: float) -> InstallationAnswer:
        oem = pnc.verify_chain(request.oem_provisioning_certificate_chain, self.oem_roots, now)
        pcid = _common_name(oem)
        emaid = self.emaid_of_pcid(pcid)
        if emaid is None:
            raise _fail(f"no contract for PCID {pcid}", RC.WARNING_NoContractMatchingPCIDFound)
        key = ec.generate_private_key(ec.SECP521R1())
        contract = self._issue(emaid, key, now)
        oem_key = oem.public_key()
        if not isinstance(oem_key, ec.EllipticCurvePublicKey) or not isinstance(oem_key.curve, ec.SECP521R1):
            raise _fail("provisioning certificate without a secp521r1 key", RC.WARNING_CertificateValidationError)
        dh_public, sealed = encrypt_private_key(key, oem_key, aad(pcid, contract), self.random_bytes(IV_BYTES))
        data = cm.SignedInstallationData(
            id=INSTALLATION_DATA_ID,
            contract_certificate_chain=cm.ContractCertificateChain(
                certificate=contract.public_bytes(serialization.Encoding.DER),
                sub_certificates=cm.SubCertificates(
                    certificate=(self.mo_sub_ca.public_bytes(serialization.Encoding.DER),)),
            ),
            ecdh_curve=cm.EcdhCurve.SECP521,
            dh_public_key=dh_public,
            secp521_encrypted_private_key=sealed,
        )
        self.issued.append(emaid)
        return InstallationAnswer(cps_certificate_chain=self.cps_chain, signed_installation_data=data,
                                  signature=pnc.sign(data, self.cps_key))

    def _issue(self, emaid: str, key: ec.EllipticCurvePrivateKey, now: float) -> x509.Certificate:
        start = dt.datetime.fromtimestamp(now, tz=dt.UTC) - dt.timedelta(minutes=5)
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, emaid)]))
            .issuer_name(self.mo_sub_ca.subject)
            .public_key(key.public_key())
            .serial_number(int.from_bytes(self.random_bytes(16), "big") >> 1 or 1)
            .not_valid_before(start)
            .not_valid_after(start + self.validity)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(self.mo_sub_ca_key, hashes.SHA512())
        )
