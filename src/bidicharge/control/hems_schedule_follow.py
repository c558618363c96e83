"""A HEMS following an aggregator's schedule for its car, within the owner's hard limits.

The technical aggregator steers a home-charged car through the HEMS backend (I-14, see
``components/interfaces/i14_hems_aggregator.py``) and the HEMS (I-06). The HEMS keeps the
owner's rules as hard limits whatever the schedule asks (issue 8: "no car is discharged below
its owner's minimum SoC or without consent"; every car leaves with its target):

* no discharge without the owner's V2G consent;
* no discharge below the owner's minimum SoC within the time the setpoint holds;
* the departure target stays reachable: the setpoint is at least what the car must take now
  so that full power afterwards still brings it to the target at departure (and if the target
  can no longer be reached, full power); the last control period before departure is not
  counted on (a margin like the rule HEMS's: the SoC may be stale, the car's acceptance falls
  near full, and a small top-up can be under the charger's minimum power);
* the charger's power limits and a full battery; an AC charger cannot go below its minimum
  current (6 A): a setpoint under its minimum power becomes 0 or the minimum, whichever is
  nearer and keeps the limits above.

The SoC a charger reports may be one exchange old (ISO 15118 reports it before the last
step's energy went in), so the limits use the worse of it and of it moved on by the power
measured since (``measured_W`` over ``measured_for_s``): a discharge stops at the floor and
the departure need is never underestimated.

:func:`follow_schedule` clips the requested grid-side setpoint to these limits and names the
limit that bit, which the HEMS reports back so that the aggregator re-dispatches. §14a is
applied afterwards by the HEMS like for every other setpoint (it may lower the result further).
Powers are grid side (at the wallbox's meter), W, positive = into the car.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

_TOLERANCE_W: Final = 1.0

NO_CONSENT: Final = "no V2G consent (owner's settings)"
MIN_SOC: Final = "owner's minimum SoC"
DEPARTURE: Final = "owner's departure target"
POWER_LIMIT: Final = "charger power limit"
FULL: Final = "battery full"
BELOW_MINIMUM: Final = "below the charger's minimum power"


@dataclass(frozen=True, slots=True, kw_only=True)
class CarAtHome:
    """What the HEMS knows of the plugged-in car when it applies a setpoint."""

    soc: float
    capacity_Wh: float
    max_charge_W: float  # grid side
    max_discharge_W: float  # grid side, ≥ 0
    charge_efficiency: float  # stored Wh per grid Wh (wallbox stage × car)
    discharge_efficiency: float  # grid Wh per stored Wh
    target_soc: float
    departure_s: float | None
    min_soc: float  # the floor of any discharge
    v2g_consent: bool
    min_power_W: float = 0.0  # grid side, the least non-zero power either way (AC: 6 A)
    measured_W: float = 0.0  # grid side, drawn since the SoC may have been read
    measured_for_s: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class FollowedSetpoint:
    power_W: float  # what the HEMS commands (grid side)
    reason: str  # "" when the request is followed; else the limit that changed it


def follow_schedule(requested_W: float, car: CarAtHome, *, now_s: float, hold_s: float) -> FollowedSetpoint:
    """The setpoint to command for the next ``hold_s`` seconds (see the module docstring)."""
    if hold_s <= 0:
        raise ValueError("hold_s must be positive")
    moved = car.measured_W * (car.charge_efficiency if car.measured_W >= 0 else 1.0 / car.discharge_efficiency)
    moved_soc = car.soc + moved * car.measured_for_s / 3600.0 / car.capacity_Wh
    low_soc, high_soc = min(car.soc, moved_soc), max(car.soc, moved_soc)
    bounds: list[tuple[float, float, str]] = [(-car.max_discharge_W, car.max_charge_W, POWER_LIMIT)]
    if not car.v2g_consent:
        bounds.append((0.0, float("inf"), NO_CONSENT))
    room_Wh = max(low_soc - car.min_soc, 0.0) * car.capacity_Wh
    bounds.append((min(-room_Wh * car.discharge_efficiency * 3600.0 / hold_s, 0.0), float("inf"), MIN_SOC))
    space_Wh = max(1.0 - high_soc, 0.0) * car.capacity_Wh
    bounds.append((float("-inf"), max(space_Wh / car.charge_efficiency * 3600.0 / hold_s, 0.0), FULL))
    if car.departure_s is not None and car.departure_s > now_s:
        bounds.append((_least_for_departure_W(car, low_soc, now_s, hold_s), float("inf"), DEPARTURE))
    power, reason = requested_W, ""
    for lo, hi, why in bounds:  # the power limit first: a target out of reach gets full power, no more
        if power > hi + _TOLERANCE_W:
            power, reason = hi, why
        elif power < lo - _TOLERANCE_W:
            power, reason = lo, why
    power = min(max(power, -car.max_discharge_W), car.max_charge_W)
    if _TOLERANCE_W < abs(power) < car.min_power_W - _TOLERANCE_W:
        power, reason = _at_least_the_minimum(power, car.min_power_W, bounds), reason or BELOW_MINIMUM
    return FollowedSetpoint(power_W=power, reason=reason)


def _at_least_the_minimum(power_W: float, min_power_W: float, bounds: list[tuple[float, float, str]]) -> float:
    """0 or ±minimum for a setpoint the charger cannot deliver: the nearer one inside every bound."""
    lo = max(b[0] for b in bounds)
    hi = max(min(b[1] for b in bounds), lo)
    minimum = math.copysign(min_power_W, power_W)
    options = [v for v in (0.0, minimum) if lo - _TOLERANCE_W <= v <= hi + _TOLERANCE_W]
    return min(options, key=lambda v: abs(v - power_W)) if options else power_W


def _least_for_departure_W(car: CarAtHome, soc: float, now_s: float, hold_s: float) -> float:
    """Least grid power now so that full power after ``hold_s`` still reaches the target."""
    need_Wh = (car.target_soc - soc) * car.capacity_Wh
    for_s = min(hold_s, car.departure_s - now_s) if car.departure_s is not None else hold_s
    after_s = max((car.departure_s or now_s) - now_s - 2.0 * hold_s, 0.0)  # one period's margin
    later_Wh = car.max_charge_W * car.charge_efficiency * after_s / 3600.0
    now_Wh = need_Wh - later_Wh  # stored energy this step must add (negative: may give)
    if now_Wh > 0:
        return now_Wh / car.charge_efficiency * 3600.0 / for_s
    return now_Wh * car.discharge_efficiency * 3600.0 / hold_s
