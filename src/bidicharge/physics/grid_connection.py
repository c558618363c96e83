"""The grid connection point: the balance of every node behind it.

Each node reports its power with the common sign (positive = drawing from the grid side);
the GCP's exchange with the grid is their sum: positive = import, negative = export.
The main fuse gives the import/export limit per phase; exceeding it is reported, not hidden.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionParams:
    fuse_A: float = 35.0
    phases: int = 3
    voltage_V: float = 230.0
    feed_in_limit_W: float | None = None  # e.g. a 60 % / 70 % rule or 0 W zero export

    @property
    def max_power_W(self) -> float:
        return self.fuse_A * self.phases * self.voltage_V


@dataclass(frozen=True, slots=True, kw_only=True)
class Balance:
    grid_power_W: float
    import_W: float
    export_W: float
    overload: bool
    feed_in_exceeded: bool


def balance(params: ConnectionParams, node_powers_W: Iterable[float]) -> Balance:
    total = math.fsum(node_powers_W)
    limit = params.max_power_W
    return Balance(
        grid_power_W=total,
        import_W=max(total, 0.0),
        export_W=max(-total, 0.0),
        overload=abs(total) > limit + 1e-6,
        feed_in_exceeded=params.feed_in_limit_W is not None and -total > params.feed_in_limit_W + 1e-6,
    )
