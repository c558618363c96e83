"""Shared helper for the EXI codec tests: the checked-in Josev vectors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTOR_DIR = Path(__file__).parent / "vectors"


def load_vectors() -> list[tuple[str, str, dict[str, Any], str]]:
    """(vector name, schema namespace, wire JSON, Josev's EXI hex) for every checked-in vector
    of a whole message (an EXI document)."""
    out = []
    for path in sorted(VECTOR_DIR.glob("josev_*.json")):
        doc = json.loads(path.read_text())
        if doc.get("fragment", False):
            continue
        for v in doc["vectors"]:
            out.append((v["name"], v.get("namespace", doc["namespace"]), v["json"], v["exi_hex"]))
    return out


def load_signed_element_vectors() -> list[tuple[str, str, dict[str, Any], str, bool]]:
    """Like `load_vectors` for the signed elements, with whether Josev sent an EXI fragment
    (a local element) or an EXI document (an element also declared globally)."""
    doc = json.loads((VECTOR_DIR / "josev_fragments.json").read_text())
    return [
        (v["name"], v.get("namespace", doc["namespace"]), v["json"], v["exi_hex"], v["fragment"])
        for v in doc["vectors"]
    ]
