"""Message-id generators to inject into a connection (Part 4 §4.1.3: unique per sender, ≤ 36 chars)."""

from __future__ import annotations

import itertools
from collections.abc import Callable


def counter_ids(prefix: str = "") -> Callable[[], str]:
    """Deterministic ids ``prefix1``, ``prefix2``, …; unique for the life of one connection."""
    counter = itertools.count(1)
    return lambda: f"{prefix}{next(counter)}"
