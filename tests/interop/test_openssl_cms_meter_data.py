"""Our CMS meter data against the OpenSSL command line (an independent CMS implementation):
OpenSSL decrypts what the gateway enveloped and verifies what it signed, and our EMT side
opens what OpenSSL signed and encrypted (ECDH key agreement, RFC 5753)."""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from bidicharge.protocols.sml import MeterReading, server_id
from bidicharge.protocols.tr03109 import (
    DemoSmPki,
    EmtEndpoint,
    EvaluationProfile,
    GatewayProfile,
    Identity,
    SmgwCore,
    Taf,
    decode_document,
    open_meter_data,
    sign_profile,
)

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl command line not installed"),
]

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC).timestamp()
METER = server_id(manufacturer="EMH", serial=4711)


def _openssl(*args: str) -> bytes:
    done = subprocess.run(["openssl", *args], capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


def _world(tmp_path: Path, curve: str) -> tuple[DemoSmPki, dict[str, Identity]]:
    rng = random.Random(curve)
    pki = DemoSmPki(random_bytes=rng.randbytes, now=T0 - 86_400, curve=curve)
    ids = {name: pki.issue(name) for name in ("EDNT0012345678", "GWA", "pEMP")}
    (tmp_path / "root.pem").write_bytes(pki.root_pem())
    (tmp_path / "subca.pem").write_bytes(pki.sub_ca.public_bytes(serialization.Encoding.PEM))
    for name, ident in ids.items():
        (tmp_path / f"{name}.pem").write_bytes(ident.certificate.public_bytes(serialization.Encoding.PEM))
        (tmp_path / f"{name}.key").write_bytes(ident.key_pem())
    return pki, ids


@pytest.mark.parametrize("curve", ["brainpoolP256r1", "secp256r1", "secp384r1"])
def test_openssl_verifies_our_cms_meter_data(tmp_path: Path, curve: str) -> None:
    pki, ids = _world(tmp_path, curve)
    gw, gwa, pemp = ids["EDNT0012345678"], ids["GWA"], ids["pEMP"]
    rng = random.Random(1)
    core = SmgwCore(gateway_id="EDNT0012345678", signer=gw.signer, gwa_certificate=gwa.certificate,
                    roots=(pki.root,), random_bytes=rng.randbytes)
    profile = GatewayProfile(
        gateway_id="EDNT0012345678", version=1, meters=(METER.hex(),),
        emts=(EmtEndpoint(emt_id="pemp", host="127.0.0.1", port=1,
                          encryption_certificate_der=pemp.certificate.public_bytes(serialization.Encoding.DER),
                          tls_certificate_sha256="00"),),
        evaluations=(EvaluationProfile(profile_id="taf7", taf=Taf.TAF7, meter_id=METER.hex(), emt_id="pemp",
                                       interval_s=900, send_interval_s=900),),
    )
    assert core.apply_profile_update(sign_profile(profile, gwa.signer, now=T0), now=T0)
    for k in range(0, 901, 60):
        core.receive_reading(MeterReading(server_id=METER, import_energy_Wh=Decimal(1000 + k), export_energy_Wh=Decimal(7),
                                          active_power_W=240), now=T0 + k)
        core.poll(now=T0 + k)
    (message,) = core.pending("pemp")
    (tmp_path / "sealed.der").write_bytes(message.cms)

    _openssl("cms", "-decrypt", "-inform", "DER", "-in", str(tmp_path / "sealed.der"), "-recip",
             str(tmp_path / "pEMP.pem"), "-inkey", str(tmp_path / "pEMP.key"), "-out", str(tmp_path / "signed.der"))
    content = _openssl("cms", "-verify", "-inform", "DER", "-in", str(tmp_path / "signed.der"), "-CAfile",
                       str(tmp_path / "root.pem"), "-attime", str(int(T0 + 900)), "-purpose", "any")
    document = decode_document(content)
    assert document == message.document
    assert json.loads(content)["values"][0]["value"] == "1900"


@pytest.mark.parametrize("kdf", ["sha1", "sha256", "sha384"])
def test_our_emt_opens_what_openssl_signed_and_encrypted(tmp_path: Path, kdf: str) -> None:
    pki, ids = _world(tmp_path, "brainpoolP256r1")
    payload = json.dumps({"format": "bidicharge-meterdata/1", "gateway_id": "EDNT0012345678", "meter_id": "0a",
                          "emt_id": "pemp", "taf": 7, "profile_id": "p", "sequence_no": 1, "created_at": T0,
                          "period_start": T0, "period_end": T0, "on_request": False, "values": []}).encode()
    (tmp_path / "doc.json").write_bytes(payload)
    _openssl("cms", "-sign", "-binary", "-nodetach", "-in", str(tmp_path / "doc.json"), "-outform", "DER",
             "-out", str(tmp_path / "osigned.der"), "-signer", str(tmp_path / "EDNT0012345678.pem"),
             "-inkey", str(tmp_path / "EDNT0012345678.key"), "-certfile", str(tmp_path / "subca.pem"), "-md", "sha256")
    _openssl("cms", "-encrypt", "-binary", "-in", str(tmp_path / "osigned.der"), "-outform", "DER",
             "-out", str(tmp_path / "osealed.der"), "-aes256", "-recip", str(tmp_path / "pEMP.pem"),
             "-keyopt", f"ecdh_kdf_md:{kdf}")
    gw_cert = x509.load_pem_x509_certificate((tmp_path / "EDNT0012345678.pem").read_bytes())
    document = open_meter_data((tmp_path / "osealed.der").read_bytes(), recipient=ids["pEMP"].recipient,
                               roots=(pki.root,), gateways={"EDNT0012345678": gw_cert}, now=T0 + 60)
    assert document.emt_id == "pemp" and document.taf is Taf.TAF7
