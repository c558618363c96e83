"""Shared helper for the EXI codec tests: the checked-in Josev vectors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTOR_DIR = Path(__file__).parent / "vectors"


def load_vectors() -> list[tuple[str, str, dict[str, Any], str]]:
    """(vector name, schema namespace, wire JSON, Josev's EXI hex) for every checked-in vector."""
    out = []
    for path in sorted(VECTOR_DIR.glob("josev_*.json")):
        doc = json.loads(path.read_text())
        for v in doc["vectors"]:
            out.append((v["name"], doc["namespace"], v["json"], v["exi_hex"]))
    return out
