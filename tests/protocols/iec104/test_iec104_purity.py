"""The core stays sans-I/O: no sockets, no event loop, no clock, no randomness (ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import bidicharge.protocols.iec104 as iec104

CORE = sorted(Path(iec104.__file__).parent.glob("*.py"))
FORBIDDEN_MODULES = {"asyncio", "socket", "selectors", "threading", "time", "random", "secrets"}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "monotonic", "perf_counter"}


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_core_module_does_no_io_and_reads_no_clock(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert not {a.name.split(".")[0] for a in node.names} & FORBIDDEN_MODULES, path.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.module.split(".")[0] not in FORBIDDEN_MODULES, path.name
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in FORBIDDEN_CALLS, f"{path.name}:{node.lineno} calls {node.func.attr}()"
