"""A throwaway ISO 15118-20 test PKI: V2G root → CPO Sub-CA 1 → CPO Sub-CA 2 → SECC leaf,
and an OEM root → vehicle certificate, all secp521r1 (the -20 leaf curve), written as PEM."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _name(cn: str, o: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, o)]
    )


def _cert(subject, key, issuer, issuer_key, serial: int, *, ca: bool, path_len: int | None = None):
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_len), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=not ca,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return builder.sign(issuer_key, hashes.SHA512())


@dataclass(frozen=True)
class Pki:
    v2g_root: Path
    secc_chain: Path
    secc_key: Path
    oem_root: Path
    vehicle_chain: Path
    vehicle_key: Path


def make_pki(directory: Path, tag: str = "") -> Pki:
    def key():
        return ec.generate_private_key(ec.SECP521R1())

    def pem(path: Path, *certs) -> Path:
        path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))
        return path

    def key_pem(path: Path, k) -> Path:
        path.write_bytes(
            k.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return path

    root_k, sub1_k, sub2_k, leaf_k, oem_k, veh_k = (key() for _ in range(6))
    root_n = _name(f"V2GRootCA{tag}", "bidicharge test")
    root = _cert(root_n, root_k, root_n, root_k, 1, ca=True, path_len=2)
    sub1 = _cert(_name("CPOSubCA1", "bidicharge test"), sub1_k, root_n, root_k, 2, ca=True, path_len=1)
    sub2 = _cert(_name("CPOSubCA2", "bidicharge test"), sub2_k, sub1.subject, sub1_k, 3, ca=True, path_len=0)
    leaf = _cert(_name("DE*BDC*E00001", "bidicharge test"), leaf_k, sub2.subject, sub2_k, 4, ca=False)
    oem_n = _name(f"OEMRootCA{tag}", "bidicharge test")
    oem = _cert(oem_n, oem_k, oem_n, oem_k, 5, ca=True, path_len=0)
    vehicle = _cert(_name("BIDICHARGEEV0001", "bidicharge test"), veh_k, oem_n, oem_k, 6, ca=False)
    return Pki(
        v2g_root=pem(directory / f"v2g_root{tag}.pem", root),
        secc_chain=pem(directory / f"secc_chain{tag}.pem", leaf, sub2, sub1),
        secc_key=key_pem(directory / f"secc_key{tag}.pem", leaf_k),
        oem_root=pem(directory / f"oem_root{tag}.pem", oem),
        vehicle_chain=pem(directory / f"vehicle_chain{tag}.pem", vehicle),
        vehicle_key=key_pem(directory / f"vehicle_key{tag}.pem", veh_k),
    )
