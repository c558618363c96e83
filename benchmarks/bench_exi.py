#!/usr/bin/env python3
"""Benchmark: EXI encode + decode per ISO 15118-20 message, ours vs Josev's codec, same run.

Messages: the first (signature-free) checked-in vector of every message of the AC, DC,
AC_BPT and DC_BPT session paths plus SupportedAppProtocol (tests/protocols/exi/vectors).
Ours: ``bidicharge.protocols.exi`` encode(message) then decode(bytes), in this process.
Anchor: Josev's ``ExificientEXICodec`` (iso15118 0.31.2, EXIficient jar over py4j) doing
encode(JSON) then decode(bytes) on the same messages, timed inside its own process after a
warm-up. Figure: mean over the messages of the time per encode+decode pair.

Prints ``BENCH exi: <us> us per encode+decode (anchor <us>, ratio <anchor/ours>)``; the ratio
is how many times faster ours is (target >= 20).
Run: ``python benchmarks/bench_exi.py [--repeat N]`` from the repository root, after
``tools/interop/josev.sh``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from bidicharge.protocols.exi import decode, encode, from_wire_dict  # noqa: E402

SESSION_MESSAGES = [
    "supportedAppProtocolReq", "supportedAppProtocolRes",
    "SessionSetupReq", "SessionSetupRes", "AuthorizationSetupReq", "AuthorizationSetupRes",
    "AuthorizationReq", "AuthorizationRes", "ServiceDiscoveryReq", "ServiceDiscoveryRes",
    "ServiceDetailReq", "ServiceDetailRes", "ServiceSelectionReq", "ServiceSelectionRes",
    "AC_ChargeParameterDiscoveryReq", "AC_ChargeParameterDiscoveryRes",
    "DC_ChargeParameterDiscoveryReq", "DC_ChargeParameterDiscoveryRes",
    "ScheduleExchangeReq", "ScheduleExchangeRes", "DC_CableCheckReq", "DC_CableCheckRes",
    "DC_PreChargeReq", "DC_PreChargeRes", "PowerDeliveryReq", "PowerDeliveryRes",
    "AC_ChargeLoopReq", "AC_ChargeLoopRes", "DC_ChargeLoopReq", "DC_ChargeLoopRes",
    "DC_WeldingDetectionReq", "DC_WeldingDetectionRes", "SessionStopReq", "SessionStopRes",
]  # fmt: skip


def load_messages() -> list[tuple[str, str, dict[str, Any]]]:
    """(namespace, root element, wire JSON) for the vector ``<name>#0`` of each message."""
    found: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for path in sorted((ROOT / "tests" / "protocols" / "exi" / "vectors").glob("josev_*.json")):
        doc = json.loads(path.read_text())
        for v in doc["vectors"]:
            local, _, index = v["name"].partition("#")
            if index == "0":
                found[local] = (doc["namespace"], local, v["json"])
    return [found[name] for name in SESSION_MESSAGES]


def bench_ours(messages: list[tuple[str, str, dict[str, Any]]], repeat: int) -> float:
    per_message = []
    for ns, local, wire in messages:
        msg = from_wire_dict(wire, ns)
        for _ in range(20):  # warm-up
            decode(encode(msg, ns, element=local), ns)
        t0 = time.perf_counter()
        for _ in range(repeat):
            decode(encode(msg, ns, element=local), ns)
        per_message.append((time.perf_counter() - t0) / repeat)
    return statistics.fmean(per_message)


def bench_josev(messages: list[tuple[str, str, dict[str, Any]]], repeat: int) -> float | str:
    spec = importlib.util.spec_from_file_location("make_exi_vectors", ROOT / "tools" / "make_exi_vectors.py")
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    sys.modules["make_exi_vectors"] = tool
    spec.loader.exec_module(tool)
    reason = tool.JosevCodec.available()
    if reason:
        return f"n/a: {reason}"
    per_message = []
    with tool.JosevCodec() as josev:
        for ns, _local, wire in messages:
            text = json.dumps(wire)
            josev.request(op="bench", ns=ns, json=text, n=5)  # JIT warm-up
            out = josev.request(op="bench", ns=ns, json=text, n=repeat)
            if "error" in out:
                return f"n/a: {out['error'][:80]}"
            per_message.append(out["s_per_pair"])
    return statistics.fmean(per_message)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=200, help="pairs per message for ours")
    ap.add_argument("--anchor-repeat", type=int, default=6, help="pairs per message for Josev")
    args = ap.parse_args()
    messages = load_messages()
    ours = bench_ours(messages, args.repeat)
    anchor = bench_josev(messages, args.anchor_repeat)
    if isinstance(anchor, str):
        print(f"BENCH exi: {ours * 1e6:.0f} us per encode+decode (anchor {anchor}, ratio n/a)")
    else:
        print(
            f"BENCH exi: {ours * 1e6:.0f} us per encode+decode "
            f"(anchor {anchor * 1e6:.0f} us, ratio {anchor / ours:.0f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
