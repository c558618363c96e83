"""Split a pool schedule into per-car schedules, interval by interval, and re-dispatch on deviations.

Given the pool's grid-side power for each interval (positive = charging, negative =
discharging), the disaggregator gives every car a power so that the per-car powers sum to
the pool power exactly wherever the fleet can deliver it, and no car ever leaves its own
window from :mod:`fleet_flexibility`:

* every car keeps its power limits, its V2G consent and the owner's minimum SoC, and stays
  able to reach its departure target (the per-car window is the consistent closure of these
  rules, so staying inside it at every boundary is enough);
* inside those limits the pool power is shared by *water-filling to a common normalised
  position*: each car is moved towards ``low + θ·(high − low)`` of its target band at the next
  boundary, with one ``θ`` for the fleet found by bisection on the grid-side sum (so the sum
  is exact, losses included). The band is the car's tube from :mod:`fleet_envelope` — then
  every schedule inside the envelope is split exactly, because from any point of its tube a
  car reaches any point of its next tube (``θ = 1/2`` is the reference plan) — or, without
  tubes, the car's whole window (a heuristic: it keeps cars balanced but does not look
  ahead, so it can fail on schedules that are deliverable);
* where the fleet cannot deliver the pool power (the sum of the per-car minima is above it,
  or the sum of the maxima below it) the cars are held at that bound, the difference is
  reported as ``shortfall_W`` and the first such interval is named — car constraints always
  win over the pool schedule.

Re-dispatch within one interval (:func:`redispatch_interval`): when a car unplugs early,
arrives late, is capped by a §14a limit or does not follow its set-point, its power for the
interval is fixed (0 W, a cap, or the measured value) and the other cars absorb the
difference in the same interval, again within their own windows.

Pure and vectorised: a few numpy passes over the fleet per interval (regula falsi on ``θ``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from bidicharge.control.fleet_envelope import CarTubes
from bidicharge.control.fleet_flexibility import (
    BoolArray,
    FleetFlexibility,
    FloatArray,
    battery_to_grid_W,
    grid_to_battery_W,
)

_BISECTION_STEPS: Final = 60
_ROOT_TOLERANCE_W: Final = 1e-3
_TOLERANCE_W: Final = 1.0  # W on the whole pool: below any meter's resolution


@dataclass(frozen=True, slots=True, kw_only=True)
class IntervalDispatch:
    power_W: FloatArray  # (N,) grid side per car, positive = charging
    energy_Wh: FloatArray  # (N,) battery-side cumulative change at the end of the interval
    shortfall_W: float  # pool power asked minus pool power delivered (0 where deliverable)


@dataclass(frozen=True, slots=True, kw_only=True)
class Dispatch:
    power_W: FloatArray  # (N, T)
    energy_Wh: FloatArray  # (N, T+1) battery-side cumulative change
    shortfall_W: FloatArray  # (T,)

    @property
    def first_infeasible_interval(self) -> int | None:
        bad = np.nonzero(np.abs(self.shortfall_W) > _TOLERANCE_W)[0]
        return int(bad[0]) if bad.size else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Override:
    """Deviations known for one interval (all arrays (N,), NaN = no override for that car).

    ``fixed_power_W`` pins a car (unplugged: 0; did not follow: the measured power);
    ``max_charge_power_W`` caps charging (a §14a limit; 4.2 kW per controllable device in
    the simplest case, BK6-22-300 Tenor 2.4).
    """

    fixed_power_W: FloatArray
    max_charge_power_W: FloatArray


def _car_windows(flex: FleetFlexibility, k: int, energy_Wh: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Battery-side energy step window of every car in interval ``k`` from its current state."""
    dt_h = flex.horizon.step_s / 3600.0
    eta_c, eta_d = flex.charge_efficiency, flex.discharge_efficiency
    lo_b = np.minimum(grid_to_battery_W(flex.min_power_W[:, k], eta_c, eta_d), 0.0) * dt_h
    hi_b = np.maximum(grid_to_battery_W(flex.max_power_W[:, k], eta_c, eta_d), 0.0) * dt_h
    d_lo = np.maximum(lo_b, flex.min_energy_Wh[:, k + 1] - energy_Wh)
    d_hi = np.minimum(hi_b, flex.max_energy_Wh[:, k + 1] - energy_Wh)
    # a car pushed off its window by a deviation is brought back as fast as its limits allow
    d_lo = np.minimum(d_lo, hi_b)
    d_hi = np.maximum(d_hi, lo_b)
    return d_lo, np.maximum(d_hi, d_lo)


def _share(flex: FleetFlexibility, k: int, energy_Wh: FloatArray, d_lo: FloatArray, d_hi: FloatArray,
           pool_W: float, free: BoolArray, fixed_W: float,
           target: tuple[FloatArray, FloatArray]) -> tuple[FloatArray, float]:
    """Battery-side steps of the free cars whose grid powers sum to ``pool_W − fixed_W``."""
    dt_h = flex.horizon.step_s / 3600.0
    cars = np.nonzero(free)[0]
    # grid W per battery Wh of step, charging and discharging (all free cars at once)
    up = 1.0 / (flex.charge_efficiency[cars] * dt_h)
    down = flex.discharge_efficiency[cars] / dt_h
    lo_next, hi_next = target[0][cars], target[1][cars]
    width = hi_next - lo_next
    state, lo, hi = energy_Wh[cars], d_lo[cars], d_hi[cars]
    want = pool_W - fixed_W

    def grid(step: FloatArray) -> FloatArray:
        return np.asarray(np.where(step >= 0, step * up, step * down), dtype=np.float64)

    def steps(theta: float) -> FloatArray:
        return np.clip(lo_next + theta * width - state, lo, hi)

    full = d_lo.copy()  # pinned cars keep their (single-valued) window
    low, high = float(grid(lo).sum()), float(grid(hi).sum())
    if want <= low:
        full[cars] = lo
        return full, want - low
    if want >= high:
        full[cars] = hi
        return full, want - high
    a, b = 0.0, 1.0
    # the clip makes θ = 0 / 1 the band edges; widen for cars sitting outside them
    while float(grid(steps(a)).sum()) > want and a > -64:
        a = 2 * a - 1
    while float(grid(steps(b)).sum()) < want and b < 64:
        b = 2 * b
    # the sum is piecewise linear and increasing in θ: regula falsi (Illinois) converges in a
    # few steps where bisection needs forty; the bracket keeps it safe
    fa = float(grid(steps(a)).sum()) - want
    fb = float(grid(steps(b)).sum()) - want
    wa, wb, side = fa, fb, 0  # Illinois weights; fa, fb stay the true values
    for _ in range(_BISECTION_STEPS):
        if fb < _ROOT_TOLERANCE_W or wb - wa <= 0.0:
            break
        m = b - wb * (b - a) / (wb - wa)
        if not a < m < b:
            m = 0.5 * (a + b)
        fm = float(grid(steps(m)).sum()) - want
        if fm < 0:
            a, fa, wa = m, fm, fm
            if side == -1:
                wb *= 0.5
            side = -1
        else:
            b, fb, wb = m, fm, fm
            if side == 1:
                wa *= 0.5
            side = 1
    step = steps(b)
    # remove the last fraction of a watt: spread it over the cars with room in that direction
    power = grid(step)
    resid = want - float(power.sum())
    room = (grid(hi) - power) if resid > 0 else (power - grid(lo))
    total = float(room.sum())
    if total > 0:
        power = power + np.sign(resid) * room * min(1.0, abs(resid) / total)
        step = np.where(power >= 0, power / up, power / down)
    full[cars] = step
    return full, 0.0


def dispatch_interval(flex: FleetFlexibility, k: int, energy_Wh: FloatArray, pool_power_W: float,
                      override: Override | None = None, tubes: CarTubes | None = None) -> IntervalDispatch:
    """Share ``pool_power_W`` over the cars for interval ``k`` given their energy state.

    With ``tubes`` (the envelope's inner approximation) every free car is moved to the same
    relative position of its tube at the next boundary; without, of its whole window.
    """
    dt_h = flex.horizon.step_s / 3600.0
    eta_c, eta_d = flex.charge_efficiency, flex.discharge_efficiency
    d_lo, d_hi = _car_windows(flex, k, energy_Wh)
    free = np.ones(flex.n_cars, dtype=np.bool_)
    fixed_W = 0.0
    if override is not None:
        cap = grid_to_battery_W(np.nan_to_num(override.max_charge_power_W, nan=np.inf), eta_c, eta_d) * dt_h
        d_hi = np.maximum(np.minimum(d_hi, cap), np.minimum(d_lo, cap))
        d_lo = np.minimum(d_lo, d_hi)
        pinned = ~np.isnan(override.fixed_power_W)
        pinned_step = grid_to_battery_W(np.nan_to_num(override.fixed_power_W), eta_c, eta_d) * dt_h
        d_lo = np.where(pinned, pinned_step, d_lo)
        d_hi = np.where(pinned, pinned_step, d_hi)
        free = ~pinned
        fixed_W = float(np.sum(np.nan_to_num(override.fixed_power_W)[pinned]))
    # only column k + 1 of the tubes (their lower/upper properties build all T + 1 columns)
    center, half = (None, None) if tubes is None else (tubes.center_Wh[:, k + 1], tubes.half_width_Wh[:, k + 1])
    target = ((flex.min_energy_Wh[:, k + 1], flex.max_energy_Wh[:, k + 1]) if center is None or half is None
              else (center - half, center + half))
    step, shortfall = _share(flex, k, energy_Wh, d_lo, d_hi, pool_power_W, free, fixed_W, target)
    power = battery_to_grid_W(step / dt_h, eta_c, eta_d)
    return IntervalDispatch(power_W=power, energy_Wh=energy_Wh + step, shortfall_W=shortfall)


def redispatch_interval(flex: FleetFlexibility, k: int, energy_Wh: FloatArray, pool_power_W: float,
                        override: Override, tubes: CarTubes | None = None) -> IntervalDispatch:
    """Re-share interval ``k`` after deviations: the pinned cars are fixed, the rest absorb."""
    return dispatch_interval(flex, k, energy_Wh, pool_power_W, override, tubes)


def disaggregate(flex: FleetFlexibility, schedule_W: FloatArray, tubes: CarTubes | None = None) -> Dispatch:
    """Per-car schedules for a whole pool schedule (one grid-side power per interval)."""
    T = flex.horizon.n_steps
    schedule = np.asarray(schedule_W, dtype=np.float64)
    if schedule.shape != (T,):
        raise ValueError(f"need {T} pool powers, got shape {schedule.shape}")
    power = np.empty((flex.n_cars, T))
    energy = np.empty((flex.n_cars, T + 1))
    energy[:, 0] = 0.0
    shortfall = np.zeros(T)
    for k in range(T):
        step = dispatch_interval(flex, k, energy[:, k], float(schedule[k]), tubes=tubes)
        power[:, k] = step.power_W
        energy[:, k + 1] = step.energy_Wh
        shortfall[k] = step.shortfall_W
    return Dispatch(power_W=power, energy_Wh=energy, shortfall_W=shortfall)
