#!/usr/bin/env python3
"""SMGW core benchmark (protocols/tr03109).

Figures printed:

* ``smgw_seal_taf7_day``: milliseconds to seal one day of TAF 7 values (192 register values)
  for one EMT — JSON document, CMS SignedData (ECDSA P-256), CMS EnvelopedData (ECDH +
  AES-256), DER built by us. Anchor, same run: the bare ``cryptography`` operations any CMS
  implementation pays for the same message (one ECDSA signature, one ephemeral key + ECDH,
  one AES-256-CBC pass). Ratio = anchor / ours (1.0 = our ASN.1 and JSON cost nothing).
* ``smgw_open_taf7_day``: milliseconds for the EMT to decrypt, verify (chain of two) and decode
  it; anchor: the bare ECDH + 3 ECDSA verifications + AES pass. Ratio = anchor / ours.
* ``smgw_readings``: meter readings per second through ``SmgwCore`` with TAF 7 + TAF 10 +
  TAF 14 profiles (1 s readings, sealing included); anchor: decoding the same readings from
  their SML telegrams (what the gateway pays per reading on the LMN anyway). Ratio = anchor / ours.

Run: ``.venv/bin/python benchmarks/bench_smgw.py``
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from cryptography.hazmat.primitives import hashes, padding  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402
from cryptography.hazmat.primitives.serialization import Encoding  # noqa: E402

from bidicharge.protocols.sml import (  # noqa: E402
    MeterReading,
    decode_file,
    encode_file,
    parse_reading,
    reading_messages,
    server_id,
)
from bidicharge.protocols.tr03109 import (  # noqa: E402
    DemoSmPki,
    EmtEndpoint,
    EvaluationProfile,
    GatewayProfile,
    SmgwCore,
    Taf,
    encode_document,
    envelope,
    open_meter_data,
    sign,
    sign_profile,
)

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC).timestamp()
METER = server_id(manufacturer="EMH", serial=1)


def _best_ms(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    rng = random.Random(1)
    pki = DemoSmPki(random_bytes=rng.randbytes, now=T0 - 86_400)
    gw, gwa, emt = pki.issue("EDNT0000000001"), pki.issue("GWA"), pki.issue("pEMP")
    der = emt.certificate.public_bytes(Encoding.DER)

    def core(*evaluations: EvaluationProfile) -> SmgwCore:
        c = SmgwCore(gateway_id="EDNT0000000001", signer=gw.signer, gwa_certificate=gwa.certificate,
                     roots=(pki.root,), random_bytes=rng.randbytes)
        profile = GatewayProfile(gateway_id="EDNT0000000001", version=1, meters=(METER.hex(),),
                                 emts=(EmtEndpoint(emt_id="pemp", host="h", port=1, encryption_certificate_der=der,
                                                   tls_certificate_sha256="00"),), evaluations=evaluations)
        assert c.apply_profile_update(sign_profile(profile, gwa.signer, now=T0), now=T0)
        return c

    def reading(t: float) -> MeterReading:
        return MeterReading(server_id=METER, import_energy_Wh=Decimal(int(t - T0)), export_energy_Wh=Decimal(0),
                            active_power_W=3600)

    # a day of TAF 7, sealed at the day boundary
    taf7 = EvaluationProfile(profile_id="taf7", taf=Taf.TAF7, meter_id=METER.hex(), emt_id="pemp",
                             interval_s=900, send_interval_s=86_400)
    day = core(taf7)
    for k in range(0, 86_401, 60):
        day.receive_reading(reading(T0 + k), now=T0 + k)
    day.poll(now=T0 + 86_400)
    message = day.pending("pemp")[0]

    def seal() -> None:  # what SmgwCore does per message
        envelope(sign(encode_document(message.document), gw.signer, now=T0), emt.certificate,
                 random_bytes=rng.randbytes)

    seal_ms = _best_ms(seal, 30)
    body_len = len(message.cms)
    aes_key, iv = os.urandom(32), os.urandom(16)

    def crypto_floor_seal() -> None:
        gw.key.sign(b"x" * 200, ec.ECDSA(hashes.SHA256()))
        ec.generate_private_key(ec.SECP256R1()).exchange(ec.ECDH(), emt.certificate.public_key())  # type: ignore[arg-type]
        p = padding.PKCS7(128).padder()
        e = Cipher(algorithms.AES(aes_key), modes.CBC(iv)).encryptor()
        e.update(p.update(b"\0" * body_len) + p.finalize())
        e.finalize()

    floor_seal_ms = _best_ms(crypto_floor_seal, 30)
    print(f"BENCH smgw_seal_taf7_day: {seal_ms:.2f} ms (anchor {floor_seal_ms:.2f}, ratio {floor_seal_ms / seal_ms:.2f})")

    def open_() -> None:  # what EmtInbox does per message, before deduplication
        open_meter_data(message.cms, recipient=emt.recipient, roots=(pki.root,),
                        gateways={"EDNT0000000001": gw.certificate}, now=T0 + 86_400)

    open_ms = _best_ms(open_, 30)
    sig = gw.key.sign(b"x" * 200, ec.ECDSA(hashes.SHA256()))
    pub = gw.certificate.public_key()

    def crypto_floor_open() -> None:
        emt.key.exchange(ec.ECDH(), ec.generate_private_key(ec.SECP256R1()).public_key())
        for _ in range(3):
            pub.verify(sig, b"x" * 200, ec.ECDSA(hashes.SHA256()))  # type: ignore[call-arg, arg-type]
        d = Cipher(algorithms.AES(aes_key), modes.CBC(iv)).decryptor()
        d.update(b"\0" * (body_len // 16 * 16))
        d.finalize()

    floor_open_ms = _best_ms(crypto_floor_open, 30)
    print(f"BENCH smgw_open_taf7_day: {open_ms:.2f} ms (anchor {floor_open_ms:.2f}, ratio {floor_open_ms / open_ms:.2f})")

    # readings per second through the engine: one hour of 1 s readings
    engine = core(taf7, EvaluationProfile(profile_id="taf10", taf=Taf.TAF10, meter_id=METER.hex(), emt_id="pemp",
                                          interval_s=60, send_interval_s=60),
                  EvaluationProfile(profile_id="taf14", taf=Taf.TAF14, meter_id=METER.hex(), emt_id="pemp",
                                    interval_s=0, send_interval_s=10))
    readings = [reading(T0 + k) for k in range(1, 3601)]
    t = time.perf_counter()
    for k, r in enumerate(readings, start=1):
        engine.receive_reading(r, now=T0 + k)
        engine.poll(now=T0 + k)
    ours = len(readings) / (time.perf_counter() - t)
    ids = iter(range(1, 10**9))
    telegrams = [encode_file(reading_messages(r, next_transaction_id=lambda: next(ids).to_bytes(4, "big")))
                 for r in readings]
    t = time.perf_counter()
    for telegram in telegrams:
        parse_reading(decode_file(telegram))
    anchor = len(readings) / (time.perf_counter() - t)
    print(f"BENCH smgw_readings: {ours:.0f} readings/s (anchor {anchor:.0f}, ratio {anchor / ours:.1f})")


if __name__ == "__main__":
    main()
