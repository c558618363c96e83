"""Sharing one EV setpoint over several cars, by need.

The HEMS strategies plan the cars behind one house as one aggregated EV (their capacities,
power limits and energy needs added up); this splits the aggregated setpoint back over the
wallboxes. Charging goes by urgency — energy still needed to the target (or to the minimum SoC)
per hour until departure — so the car leaving first gets the most; cars that need nothing share
what is left (PV surplus) by their headroom. Discharging goes by the energy each car has above
its floor. Water-filling: no car gets more than its limit; what a capped car cannot take goes to
the others; the shares add up to the setpoint whenever the cars together can take it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

DEFAULT_HORIZON_S: Final = 24 * 3600.0  # a car with no departure known: its need spread over a day
MIN_HORIZON_S: Final = 900.0  # a departure now or past: as urgent as one in a quarter of an hour


@dataclass(frozen=True, slots=True, kw_only=True)
class CarNeed:
    """One plugged-in car, as the share sees it (powers at the vehicle side, ≥ 0)."""

    need_Wh: float  # to the target (or the minimum SoC) at departure
    spare_Wh: float  # above the floor it may be discharged to
    max_charge_W: float
    max_discharge_W: float
    seconds_to_departure: float | None = None


def water_fill(total: float, weights: Sequence[float], caps: Sequence[float]) -> list[float]:
    """``total`` (≥ 0) split by ``weights``, none above its cap; leftovers go to the others.

    Where every open share has weight 0 the caps are the weights (headroom).
    """
    shares = [0.0] * len(caps)
    open_ = [i for i, cap in enumerate(caps) if cap > 0]
    rest = max(0.0, total)
    while rest > 1e-9 and open_:
        w = [max(0.0, weights[i]) for i in open_]
        if sum(w) <= 0:
            w = [caps[i] - shares[i] for i in open_]
        total_w = sum(w)
        offer = [rest * (wi / total_w) for wi in w]  # fractions first: tiny weights must not overflow
        capped = [i for i, o in zip(open_, offer, strict=True) if shares[i] + o >= caps[i] - 1e-9]
        if not capped:
            for i, o in zip(open_, offer, strict=True):
                shares[i] += o
            return shares
        for i in capped:
            rest -= caps[i] - shares[i]
            shares[i] = caps[i]
        open_ = [i for i in open_ if i not in capped]
    return shares


def share_ev_power(power_W: float, cars: Sequence[CarNeed]) -> list[float]:
    """The setpoint of each car (+ charge, − discharge) whose sum is ``power_W`` where possible."""
    if not cars:
        return []
    if len(cars) == 1:
        return [power_W]
    if power_W >= 0:
        urgency = [c.need_Wh / max(MIN_HORIZON_S, c.seconds_to_departure if c.seconds_to_departure is not None
                                   else DEFAULT_HORIZON_S) for c in cars]
        return water_fill(power_W, urgency, [c.max_charge_W for c in cars])
    out = water_fill(-power_W, [c.spare_Wh for c in cars], [c.max_discharge_W for c in cars])
    return [-p for p in out]
