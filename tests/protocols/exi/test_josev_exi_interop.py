"""Live interop with Josev's EXI codec (EXIficient ``EXICodec.jar`` from PyPI ``iso15118``).

Fresh messages (not the checked-in vectors) go both ways: Josev encodes our JSON and must
produce our bytes; Josev decodes our bytes and must give back our JSON. Skips when the
Josev virtualenv (tools/interop/josev.sh) or a Java runtime is absent.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bidicharge.protocols.exi import (
    DEFAULT_CODEC,
    NS_AC,
    NS_APP_PROTOCOL,
    NS_COMMON_MESSAGES,
    NS_DC,
    encode,
    from_wire_dict,
    to_wire_dict,
)
from bidicharge.protocols.exi.samples import Unsamplable, sample_message

ROOT = Path(__file__).resolve().parents[3]


def _tool() -> Any:
    spec = importlib.util.spec_from_file_location("make_exi_vectors", ROOT / "tools" / "make_exi_vectors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_exi_vectors"] = module
    spec.loader.exec_module(module)
    return module


TOOL = _tool()
REASON = TOOL.JosevCodec.available()


@pytest.fixture(scope="module")
def josev() -> Iterator[Any]:
    if REASON:
        pytest.skip(f"Josev EXI codec unavailable: {REASON}")
    codec = TOOL.JosevCodec()
    yield codec
    codec.close()


def _samples(seed: int) -> list[tuple[str, str, object]]:
    rng = np.random.default_rng(seed)
    out = []
    for ns in (NS_APP_PROTOCOL, NS_COMMON_MESSAGES, NS_AC, NS_DC):  # the jar has no WPT/ACDP grammar
        for local, g in DEFAULT_CODEC.roots(ns):
            if not local.endswith(("Req", "Res")):
                continue
            try:
                msg = TOOL.without_signature(sample_message(g, lambda n: int(rng.integers(n)), max_repeat=2))
            except Unsamplable:
                continue
            if local == "supportedAppProtocolRes" and msg.schema_id is None:  # type: ignore[attr-defined]
                # Josev's jar maps the optional SchemaID to a Java primitive and always sends it
                # (0 when absent), so an absent SchemaID cannot make the round trip through it
                msg = dataclasses.replace(msg, schema_id=1)  # type: ignore[type-var]
            out.append((ns, local, msg))
    return out


@pytest.mark.interop
def test_josev_exi_encodes_our_messages_to_our_bytes(josev: Any) -> None:
    mismatches = []
    for ns, local, msg in _samples(seed=20_2022):
        wire = to_wire_dict(msg, ns)
        out = josev.request(op="encode", ns=ns, json=json.dumps(wire))
        assert "error" not in out, (local, out)
        if out["hex"] != encode(msg, ns, element=local).hex():
            mismatches.append(local)
    assert mismatches == []


@pytest.mark.interop
def test_josev_exi_decodes_our_bytes_to_our_messages(josev: Any) -> None:
    for ns, local, msg in _samples(seed=15_118):
        out = josev.request(op="decode", ns=ns, hex=encode(msg, ns, element=local).hex())
        assert "error" not in out, (local, out)
        assert from_wire_dict(json.loads(out["json"]), ns) == msg, local
