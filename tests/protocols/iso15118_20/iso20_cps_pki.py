"""A throwaway Plug & Charge PKI for certificate installation, all secp521r1:

* V2G root → CPO sub-CA → SECC leaf (TLS server) and V2G root → CPS sub-CA → CPS leaf (signs
  the installation data);
* OEM root → OEM sub-CA → provisioning certificate (PCID = its 18-character common name);
* MO root → MO sub-CA (issues contract certificates).
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bidicharge.protocols.exi.messages import common_messages as cm
from bidicharge.protocols.iso15118_20.cert_install import ContractIssuer, ProvisioningCredentials

DER = serialization.Encoding.DER
PCID = "BDCEV0000000000001"  # 18 characters
EMAID = "DE-BDC-C00000001-7"


def _cert(cn, key, issuer_cn, issuer_key, *, ca, start, days=3650):
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - dt.timedelta(days=1))
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(issuer_key, hashes.SHA512())
    )


@dataclass(frozen=True)
class CpsPki:
    v2g_root: x509.Certificate
    cpo_sub: x509.Certificate
    secc: x509.Certificate
    secc_key: ec.EllipticCurvePrivateKey
    cps_chain: cm.CertificateChain
    cps_key: ec.EllipticCurvePrivateKey
    oem_root: x509.Certificate
    provisioning: ProvisioningCredentials
    mo_root: x509.Certificate
    mo_sub: x509.Certificate
    mo_sub_key: ec.EllipticCurvePrivateKey

    def issuer(self, contracts: dict[str, str] | None = None) -> ContractIssuer:
        counter = itertools.count(1)
        book = {PCID: EMAID} if contracts is None else contracts
        return ContractIssuer(
            oem_roots=(self.oem_root.public_bytes(DER),), mo_sub_ca=self.mo_sub.public_bytes(DER),
            mo_sub_ca_key=self.mo_sub_key, cps_chain=self.cps_chain, cps_key=self.cps_key,
            emaid_of_pcid=book.get,
            random_bytes=lambda n: next(counter).to_bytes(n, "big"),  # deterministic for the test
        )

    def write_tls(self, directory: Path) -> tuple[Path, Path, Path]:
        """(SECC chain PEM, SECC key PEM, V2G root PEM) for the TLS contexts."""
        pem = serialization.Encoding.PEM
        chain, key, root = directory / "secc_chain.pem", directory / "secc_key.pem", directory / "v2g_root.pem"
        chain.write_bytes(self.secc.public_bytes(pem) + self.cpo_sub.public_bytes(pem))
        key.write_bytes(self.secc_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
        root.write_bytes(self.v2g_root.public_bytes(pem))
        return chain, key, root


def make_cps_pki(start: dt.datetime) -> CpsPki:
    k = [ec.generate_private_key(ec.SECP521R1()) for _ in range(11)]
    v2g = _cert("V2GRootCA", k[0], "V2GRootCA", k[0], ca=True, start=start)
    cpo = _cert("CPOSubCA", k[1], "V2GRootCA", k[0], ca=True, start=start)
    secc = _cert("DE*BDC*E00001", k[2], "CPOSubCA", k[1], ca=False, start=start)
    cps_sub = _cert("CPSSubCA", k[3], "V2GRootCA", k[0], ca=True, start=start)
    cps = _cert("CPSLeaf", k[4], "CPSSubCA", k[3], ca=False, start=start)
    oem_root = _cert("OEMRootCA", k[5], "OEMRootCA", k[5], ca=True, start=start)
    oem_sub = _cert("OEMSubCA", k[6], "OEMRootCA", k[5], ca=True, start=start)
    prov = _cert(PCID, k[7], "OEMSubCA", k[6], ca=False, start=start)
    mo_root = _cert("MORootCA", k[8], "MORootCA", k[8], ca=True, start=start)
    mo_sub = _cert("MOSubCA", k[9], "MORootCA", k[8], ca=True, start=start)
    return CpsPki(
        v2g_root=v2g, cpo_sub=cpo, secc=secc, secc_key=k[2],
        cps_chain=cm.CertificateChain(certificate=cps.public_bytes(DER),
                                      sub_certificates=cm.SubCertificates(certificate=(cps_sub.public_bytes(DER),))),
        cps_key=k[4], oem_root=oem_root,
        provisioning=ProvisioningCredentials(certificate=prov.public_bytes(DER),
                                             sub_certificates=(oem_sub.public_bytes(DER),),
                                             private_key=k[7], v2g_roots=(v2g.public_bytes(DER),)),
        mo_root=mo_root, mo_sub=mo_sub, mo_sub_key=k[9],
    )
