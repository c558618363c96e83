#!/usr/bin/env python3
"""Produce byte-exact EXI test vectors with Josev's codec (EXIficient, `EXICodec.jar`).

For every complex global element of the -20 CommonMessages, AC and DC schema sets and of
SupportedAppProtocol, draw a few valid messages from our grammar (seeded), convert them to
the JSON shape the jar reads, let the jar encode them, and let the jar decode its own bytes
again. A vector is kept when the jar's decoded JSON equals the input (so the jar understood
every field) and is written to ``tests/protocols/exi/vectors/josev_<set>.json`` as
``{"name", "json", "exi_hex"}``. The tests compare our encoder and decoder against them.

(The jar also bundles older draft XSDs as resources, but its compiled grammar follows the
published ISO 15118-20:2022 XSDs that we generate from; see docs/exi.md.)

Run from the repository root after ``tools/interop/josev.sh``:
    .venv/bin/python tools/make_exi_vectors.py [--per-message N] [--seed S]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
JOSEV_PYTHON = ROOT / ".interop" / "josev-venv" / "bin" / "python"
VECTOR_DIR = ROOT / "tests" / "protocols" / "exi" / "vectors"

# Runs inside Josev's virtualenv: JSON lines in, JSON lines out, one JVM for the session.
JOSEV_DRIVER = r"""
import json, sys, time
from iso15118.shared.exificient_exi_codec import ExificientEXICodec
codec = ExificientEXICodec()
print(json.dumps({"ready": codec.get_version()}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    try:
        op = req["op"]
        if op == "encode":
            exi = bytes(codec.encode(req["json"], req["ns"]))
            out = {"hex": exi.hex(), "decoded": codec.decode(exi, req["ns"])}
        elif op == "encode_only":  # the jar cannot decode the fragments it writes
            out = {"hex": bytes(codec.encode(req["json"], req["ns"])).hex()}
        elif op == "decode":
            out = {"json": codec.decode(bytes.fromhex(req["hex"]), req["ns"])}
        elif op == "bench":
            n = req["n"]
            t0 = time.perf_counter()
            for _ in range(n):
                exi = codec.encode(req["json"], req["ns"])
                codec.decode(exi, req["ns"])
            out = {"s_per_pair": (time.perf_counter() - t0) / n}
        else:
            out = {"error": "unknown op"}
    except Exception as exc:  # the jar reports errors as Py4J exceptions
        java = getattr(exc, "java_exception", None)
        out = {"error": (str(java) if java is not None else repr(exc))[:800]}
    print(json.dumps(out), flush=True)
"""


class JosevCodec:
    """Josev's EXI codec in its own virtualenv and JVM, driven over a pipe."""

    def __init__(self, python: Path = JOSEV_PYTHON) -> None:
        self.proc = subprocess.Popen(
            [str(python), "-c", JOSEV_DRIVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        ready = self._read()
        if "ready" not in ready:
            raise RuntimeError(f"Josev codec did not start: {ready}")
        self.version = ready["ready"]

    @staticmethod
    def available(python: Path = JOSEV_PYTHON) -> str | None:
        """None when usable, else the reason it is not."""
        if not python.exists():
            return f"{python} missing (run tools/interop/josev.sh)"
        if shutil.which("java") is None:
            return "no java on PATH (Josev's EXI codec is a Java jar)"
        return None

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("Josev codec process ended")
        result: dict[str, Any] = json.loads(line)
        return result

    def request(self, **req: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> JosevCodec:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


SET_FILES = {
    "urn:iso:15118:2:2010:AppProtocol": "josev_app_protocol.json",
    "urn:iso:std:iso:15118:-20:CommonMessages": "josev_common_messages.json",
    "urn:iso:std:iso:15118:-20:AC": "josev_ac.json",
    "urn:iso:std:iso:15118:-20:DC": "josev_dc.json",
}


def without_signature(msg: Any) -> Any:
    header = getattr(msg, "header", None)
    if header is None or getattr(header, "signature", None) is None:
        return msg
    return dataclasses.replace(msg, header=dataclasses.replace(header, signature=None))


def is_message(local: str) -> bool:
    return local.endswith(("Req", "Res"))


def make_boundary_vectors(josev: JosevCodec, rejected: dict[str, str]) -> list[dict[str, Any]]:
    """Bounded lists filled to maxOccurs and one short of it: the grammar state after the
    last allowed item has fewer productions, so its event codes are narrower."""
    sap = "urn:iso:15118:2:2010:AppProtocol"
    cm = "urn:iso:std:iso:15118:-20:CommonMessages"
    header = {"SessionID": "0102030405060708", "TimeStamp": 1_700_000_000}

    def app(i: int) -> dict[str, Any]:
        ns = ("urn:iso:std:iso:15118:-20:AC", "urn:iso:std:iso:15118:-20:DC")[i % 2]
        return {
            "ProtocolNamespace": ns,
            "VersionNumberMajor": 1,
            "VersionNumberMinor": 0,
            "SchemaID": i,
            "Priority": i + 1,
        }

    cases = [
        (sap, f"supportedAppProtocolReq/{n}", {"supportedAppProtocolReq": {"AppProtocol": [app(i) for i in range(n)]}})
        for n in (19, 20)
    ] + [
        (cm, f"ServiceDiscoveryReq/{n}",
         {"ServiceDiscoveryReq": {"Header": header, "SupportedServiceIDs": {"ServiceID": list(range(1, n + 1))}}})
        for n in (15, 16)
    ]  # fmt: skip
    vectors = []
    for ns, name, wire in cases:
        out = josev.request(op="encode", ns=ns, json=json.dumps(wire))
        if "error" in out:
            rejected[name] = out["error"]
            continue
        vectors.append({"name": name, "namespace": ns, "json": wire, "exi_hex": out["hex"]})
    return vectors


# the elements ISO 15118-20 signs (their digest is taken over their EXI fragment encoding)
SIGNED_ELEMENTS = (
    "PnC_AReqAuthorizationMode",
    "SignedMeteringData",
    "OEMProvisioningCertificateChain",
    "SignedInstallationData",
)


def make_fragment_vectors(
    josev: JosevCodec, choose: Any, per_message: int, rejected: dict[str, str]
) -> list[dict[str, Any]]:
    """Signed elements as the jar encodes them: an EXI fragment for a local element, an EXI
    document for one that the schema also declares globally (SignedInstallationData,
    SignedMeteringData)."""
    from bidicharge.protocols.exi import DEFAULT_CODEC, LocalProtocolError, to_wire_dict
    from bidicharge.protocols.exi.samples import sample_message

    ns = "urn:iso:std:iso:15118:-20:CommonMessages"
    vectors: list[dict[str, Any]] = []
    for local in SIGNED_ELEMENTS:
        g = DEFAULT_CODEC.fragment_grammar(ns, local)
        for k in range(per_message):
            msg = sample_message(g, choose, max_repeat=2)
            try:
                DEFAULT_CODEC.encode_fragment(msg, ns, element=local)
            except LocalProtocolError:
                continue
            wire = to_wire_dict(msg, ns, fragment_element=local)
            out = josev.request(op="encode_only", ns=ns, json=json.dumps(wire, ensure_ascii=False))
            if "error" in out:
                rejected[local] = out["error"]
                continue
            # the jar writes an element that is also declared globally as an EXI document
            is_global = any(loc == local for loc, _g in DEFAULT_CODEC.roots(ns))
            vectors.append(
                {"name": f"{local}#{k}", "json": wire, "exi_hex": out["hex"], "fragment": not is_global}
            )
    # SignedInfo as an EXI fragment of the xmldsig schema alone (what Josev signs)
    dsig = "http://www.w3.org/2000/09/xmldsig#"
    for k, wire in enumerate(signed_info_examples()):
        out = josev.request(op="encode_only", ns=dsig, json=json.dumps(wire))
        if "error" in out:
            rejected["SignedInfo"] = out["error"]
            continue
        vectors.append(
            {
                "name": f"SignedInfo#{k}",
                "namespace": dsig,
                "json": wire,
                "exi_hex": out["hex"],
                "fragment": True,
            }
        )
    return vectors


def signed_info_examples() -> list[dict[str, Any]]:
    """SignedInfo as ISO 15118 PnC fills it. The jar's xmldsig path fills a template: it
    writes the -2 algorithm URIs (ecdsa-sha256, sha256), always a canonical-exi Transform and
    no SignedInfo Id, whatever it is given; the examples stay inside that template."""
    c14n = {"Algorithm": "http://www.w3.org/TR/canonical-exi/"}
    method = {"Algorithm": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"}
    digest = {"Algorithm": "http://www.w3.org/2001/04/xmlenc#sha256"}

    def ref(uri: str, value: str, transforms: bool) -> dict[str, Any]:
        r: dict[str, Any] = {"URI": uri}
        if transforms:
            r["Transforms"] = {"Transform": [dict(c14n)]}
        r.update({"DigestMethod": dict(digest), "DigestValue": value})
        return r

    d1 = "Ddw1UMq3vEUlcMKFp0jSRTKHcg9FLpDzhgVRfTNdMEM="
    d2 = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80="
    return [
        {"SignedInfo": {"CanonicalizationMethod": c14n, "SignatureMethod": method,
                        "Reference": [ref("#ID1", d1, True)]}},
        {"SignedInfo": {"CanonicalizationMethod": c14n, "SignatureMethod": method,
                        "Reference": [ref("#ID1", d1, True), ref("#ID2", d2, True)]}},
        {"SignedInfo": {"CanonicalizationMethod": c14n, "SignatureMethod": method,
                        "Reference": [ref("#signedMeteringData", d2, True)]}},
    ]  # fmt: skip


def main() -> int:
    sys.path.insert(0, str(ROOT / "src"))
    import numpy as np

    from bidicharge.protocols.exi import DEFAULT_CODEC, LocalProtocolError, from_wire_dict, to_wire_dict
    from bidicharge.protocols.exi.samples import Unsamplable, sample_message

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-message", type=int, default=4)
    ap.add_argument("--seed", type=int, default=15118)
    args = ap.parse_args()
    reason = JosevCodec.available()
    if reason:
        print("cannot make vectors:", reason, file=sys.stderr)
        return 2
    draft = DEFAULT_CODEC
    rng = np.random.default_rng(args.seed)

    def choose(n: int) -> int:
        return int(rng.integers(n))

    VECTOR_DIR.mkdir(parents=True, exist_ok=True)
    rejected: dict[str, str] = {}
    with JosevCodec() as josev:
        for ns, filename in SET_FILES.items():
            vectors: list[dict[str, Any]] = []
            for local, g in draft.roots(ns):
                if not is_message(local):
                    continue
                kept = 0
                for _attempt in range(args.per_message * 6):
                    if kept == args.per_message:
                        break
                    try:
                        msg = sample_message(g, choose, max_repeat=2)
                        if kept % 2 == 0:
                            msg = without_signature(msg)  # half the vectors as sessions send them
                        draft.encode(msg, ns, element=local)
                    except (Unsamplable, LocalProtocolError):
                        continue  # e.g. empty SignatureValue content, which we do not encode
                    wire = to_wire_dict(msg, ns)
                    text = json.dumps(wire, ensure_ascii=False)
                    out = josev.request(op="encode", ns=ns, json=text)
                    if "error" in out:
                        rejected[local] = out["error"] + "\n   ours: " + text
                        continue
                    try:
                        back = from_wire_dict(json.loads(out["decoded"]), ns)
                    except LocalProtocolError as exc:
                        back = exc
                    if back != msg:
                        rejected[local] = f"jar round trip differs: {out['decoded']}\n   ours: {text}"
                        continue
                    vectors.append({"name": f"{local}#{kept}", "json": wire, "exi_hex": out["hex"]})
                    kept += 1
            doc = {
                "source": f"Josev iso15118 0.31.2 EXICodec.jar {josev.version} (EXIficient), "
                f"made by tools/make_exi_vectors.py --per-message {args.per_message} --seed {args.seed}",
                "namespace": ns,
                "vectors": vectors,
            }
            (VECTOR_DIR / filename).write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
            print(f"{filename}: {len(vectors)} vectors")
        boundary = make_boundary_vectors(josev, rejected)
        doc = {
            "source": f"Josev iso15118 0.31.2 EXICodec.jar {josev.version} (EXIficient), lists at their "
            "maxOccurs, made by tools/make_exi_vectors.py",
            "namespace": "",
            "vectors": boundary,
        }
        (VECTOR_DIR / "josev_boundaries.json").write_text(
            json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
        )
        print(f"josev_boundaries.json: {len(boundary)} vectors")
        vectors = make_fragment_vectors(josev, choose, args.per_message, rejected)
        ns = "urn:iso:std:iso:15118:-20:CommonMessages"
        doc = {
            "source": f"Josev iso15118 0.31.2 EXICodec.jar {josev.version} (EXIficient), EXI fragments, "
            f"made by tools/make_exi_vectors.py --per-message {args.per_message} --seed {args.seed}",
            "namespace": ns,
            "fragment": True,
            "vectors": vectors,
        }
        (VECTOR_DIR / "josev_fragments.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
        print(f"josev_fragments.json: {len(vectors)} vectors")
    for local, why in sorted(rejected.items()):
        print(f"rejected {local}: {why[:1500]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
