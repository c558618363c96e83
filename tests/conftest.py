"""Shared fixtures: the built-in scenario path and a small-scenario factory."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest


@pytest.fixture
def home_v2h_path() -> Path:
    return Path(str(resources.files("bidicharge.scenarios") / "home_v2h.yaml"))
