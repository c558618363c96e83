"""The fleet envelope offered to the commercial aggregator (I-23) and the commercial schedule in it.

The envelope is a set of 15-minute series (issue 8, item 2): per interval the pool's
baseline, minimum and maximum grid power (W, positive = charging) and, per boundary, the
minimum and maximum energy stored in the pool's batteries relative to the start of the
horizon (Wh, battery side), plus the rates at which a deviation of grid energy from the
baseline changes the stored energy (the pool's efficiencies). The commercial aggregator
buys and sells inside it (:func:`optimal_pool_schedule`, an LP over ``2·T`` variables).

Which inner approximation, and why it is feasible
-------------------------------------------------

The exact set of deliverable pool schedules is the Minkowski sum of the per-car sets; the
sum of per-car bounds is only an *outer* bound of it (on the sample fleets its optimum
promises 97–241 % more profit than the cars can deliver). We offer instead the sum of per-car
**tubes**: for every car a reference trajectory ``c`` of its stored energy (a feasible plan,
normally the car's optimum for the price curve the commercial side shares or a forecast of
it, :func:`reference_plan`; without one, plain charging at once, :func:`neutral_reference`)
and a half-width ``h`` around it, chosen so that

1. the tube lies inside the car's consistent window (SoC limits, owner's minimum SoC for
   discharge, consent, target at departure — :mod:`fleet_flexibility`), and
2. ``h[k] + h[k+1] ≤ min(hi[k] − Δc[k], Δc[k] − lo[k])`` with ``lo``/``hi`` the car's energy
   step limits in interval ``k``: from *any* point of the tube at boundary ``k`` the car can
   reach *any* point of the tube at ``k+1``.

Property 2 removes every coupling between intervals inside a car, so the tubes add up
exactly: a pool trajectory whose stored energy stays inside ``[Σc − Σh, Σc + Σh]`` is split by
putting every car at the same relative position ``c + φ·h`` (:mod:`fleet_disaggregation`),
and every car stays inside its own window. With lossless batteries this is a proof; with
losses, the grid power that moves the pool from ``φ`` to ``φ'`` depends on which cars charge
or discharge, and the commercial model bounds it with two stored-energy trackers that use
the fleet's extreme marginal rates (``rate_low``, ``rate_high``), so the pool's true stored
energy stays between them whenever all cars move the same way. Cars whose tube widens or
narrows in an interval can move against the pool; the dispatcher then moves the common
position beyond the tube (inside the cars' windows) and would report any remainder as
shortfall. Neither a Hypothesis test over thousands of random fleets nor the benchmark has
found one (the split is exact to a fraction of a watt). The car's own limits are never at
stake: the dispatcher never leaves a car's window.

With the price curve shared, the tubes contain the joint optimum and the commercial LP finds
it (0.00 % gap); with only a forecast, the tubes (about one quarter-hour of charger power
per car) let the commercial side adapt only a little — see ``docs/fleet_flexibility.md``.

A schedule outside the series is rejected naming the first violating interval
(:func:`check_schedule`).

Battery wear in the commercial step
-----------------------------------

The cars' reference plans already pay for wear (:mod:`fleet_battery_wear`); a deviation from
them that makes cars discharge would not, and the commercial LP would cycle inside the tubes
of idle V2G cars for any spread. So the envelope also carries, per interval, the pool power
above which no car need discharge (``wear_free_min_power_W``: the tubes' minimum grid power of
every car that must charge anyway, the cars that may discharge counted at 0) and one wear
price per MWh the pool goes below it (``wear_EUR_per_MWh``, grid side: each car's wear per MWh
out of the cells over its discharge efficiency, weighted by the energy it could discharge in
the tubes). The commercial LP pays ``wear·max(wear_free_min − P, 0)``: a convex piecewise cost,
exact for a fleet with one wear figure and a lower bound of the wear the split causes (it
assumes the cars that still charge give way first).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from typing import Final

import numpy as np
from numpy.typing import NDArray

from bidicharge.control.fleet_flexibility import (
    FleetFlexibility,
    FloatArray,
    Horizon,
    battery_to_grid_W,
    grid_to_battery_W,
)
from bidicharge.control.fleet_joint_lp import plan_by_slopes, solve_lp

_TOLERANCE_W: Final = 1.0
_TOLERANCE_WH: Final = 1.0
PLAN_CHUNK_CARS: Final = 1000  # fastest on this machine (bench_fleet)


class ScheduleOutsideEnvelope(ValueError):
    """The commercial side sent a schedule the envelope does not allow (their fault)."""

    def __init__(self, interval: int, reason: str) -> None:
        super().__init__(f"interval {interval}: {reason}")
        self.interval = interval
        self.reason = reason


@dataclass(frozen=True, slots=True, kw_only=True)
class CarTubes:
    """Per-car tube of stored energy (battery side, cumulative change since the start)."""

    center_Wh: FloatArray  # (N, T+1)
    half_width_Wh: FloatArray  # (N, T+1)

    @property
    def lower_Wh(self) -> FloatArray:
        return self.center_Wh - self.half_width_Wh

    @property
    def upper_Wh(self) -> FloatArray:
        return self.center_Wh + self.half_width_Wh


@dataclass(frozen=True, slots=True, kw_only=True)
class FleetEnvelope:
    """The I-23 offer: 15-minute series for the pool (see the module docstring)."""

    horizon: Horizon
    baseline_power_W: FloatArray  # (T,) grid power of the reference plan
    min_power_W: FloatArray  # (T,) grid side, positive = charging
    max_power_W: FloatArray  # (T,)
    min_energy_Wh: FloatArray  # (T+1,) stored energy since the start, battery side
    max_energy_Wh: FloatArray  # (T+1,)
    baseline_energy_Wh: FloatArray  # (T+1,)
    rate_low: float  # least stored Wh per grid Wh of deviation (slowest charging)
    rate_high: float  # most stored Wh per grid Wh of deviation
    # wear (see the module docstring); 0 / None: the commercial step prices no wear
    wear_EUR_per_MWh: float = 0.0  # per MWh the pool's grid power lies below the wear-free minimum
    wear_free_min_power_W: FloatArray | None = None  # (T,)


def reference_plan(flex: FleetFlexibility, forecast_EUR_per_MWh: FloatArray) -> FloatArray:
    """Every car's optimal stored-energy trajectory for a price forecast (N, T+1).

    Cars that may discharge are planned by dynamic programming over their convex
    cost-to-go (:func:`fleet_joint_lp.plan_by_slopes`: the joint LP's optimum for
    non-negative prices, without an LP); cars that only charge fill the cheapest intervals of
    their window first (:func:`charge_only_plan`).
    """
    price = np.asarray(forecast_EUR_per_MWh, dtype=np.float64)
    plan = charge_only_plan(flex, price)
    v2g = np.nonzero(flex.may_discharge)[0]
    if v2g.size:
        plan[v2g] = plan_by_slopes(_subset(flex, v2g), price, chunk_cars=PLAN_CHUNK_CARS)
    return plan


def charge_only_plan(flex: FleetFlexibility, price_EUR_per_MWh: FloatArray) -> FloatArray:
    """Cheapest trajectory of every car if it only charges (exact for cars without discharge).

    Charging only ever raises the stored energy, so the windows reduce to the total: at
    least the need, at most the room. The LP optimum is then a fill in price order — all
    negative-price energy the room allows, then the cheapest intervals until the need is met.
    """
    hi_step = _step_limits_Wh(flex)[1]
    order = np.argsort(price_EUR_per_MWh, kind="stable")
    cap = hi_step[:, order]
    before = np.cumsum(cap, axis=1) - cap
    negative = price_EUR_per_MWh[order] < 0
    room = flex.max_energy_Wh[:, -1]
    need = np.maximum(flex.required_energy_Wh, 0.0)
    total = np.clip(np.maximum(need, (cap * negative).sum(axis=1)), 0.0, np.maximum(room, need))
    take = np.clip(total[:, None] - before, 0.0, cap)
    steps = np.empty_like(take)
    steps[:, order] = take
    plan = np.concatenate([np.zeros((flex.n_cars, 1)), np.cumsum(steps, axis=1)], axis=1)
    return np.asarray(np.clip(plan, flex.min_energy_Wh, flex.max_energy_Wh), dtype=np.float64)


def _subset(flex: FleetFlexibility, cars: NDArray[np.intp]) -> FleetFlexibility:
    fields = {f.name: getattr(flex, f.name) for f in dataclass_fields(flex)}
    for name, value in fields.items():
        if isinstance(value, np.ndarray):
            fields[name] = value[cars]
    fields["car_ids"] = tuple(flex.car_ids[int(i)] for i in cars)
    return FleetFlexibility(**fields)


def neutral_reference(flex: FleetFlexibility) -> FloatArray:
    """Without a forecast: what the cars do alone — charge at once to the target, never discharge.

    A feasible trajectory of every car (the earliest way to its target), so the tubes around
    it offer the commercial side only deviations from plain charging.
    """
    step = np.maximum(_step_limits_Wh(flex)[1], 0.0)
    need = np.maximum(flex.required_energy_Wh, 0.0)[:, None]
    stored = np.minimum(np.cumsum(step, axis=1), need)
    ref = np.concatenate([np.zeros((flex.n_cars, 1)), stored], axis=1)
    return np.asarray(np.clip(ref, flex.min_energy_Wh, flex.max_energy_Wh), dtype=np.float64)


def _step_limits_Wh(flex: FleetFlexibility) -> tuple[FloatArray, FloatArray]:
    dt_h = flex.horizon.step_s / 3600.0
    eta_c, eta_d = flex.charge_efficiency[:, None], flex.discharge_efficiency[:, None]
    lo = np.minimum(grid_to_battery_W(flex.min_power_W, eta_c, eta_d), 0.0) * dt_h
    hi = np.maximum(grid_to_battery_W(flex.max_power_W, eta_c, eta_d), 0.0) * dt_h
    return lo, hi


def feasible_reference(flex: FleetFlexibility, reference_Wh: FloatArray) -> FloatArray:
    """The nearest trajectory every car can follow: each step clipped to what the car can do.

    A plan from elsewhere (coarser resolution, a stale forecast, rounding) is projected
    forward boundary by boundary; the windows are consistent, so the clip range is never
    empty and the result reaches every target.
    """
    ref = np.asarray(reference_Wh, dtype=np.float64)
    if ref.shape != flex.min_energy_Wh.shape:
        raise ValueError(f"reference needs shape {flex.min_energy_Wh.shape}, got {ref.shape}")
    lo, hi = _step_limits_Wh(flex)
    out = np.empty_like(ref)
    out[:, 0] = 0.0
    for k in range(flex.horizon.n_steps):
        low = np.maximum(flex.min_energy_Wh[:, k + 1], out[:, k] + lo[:, k])
        high = np.maximum(np.minimum(flex.max_energy_Wh[:, k + 1], out[:, k] + hi[:, k]), low)
        out[:, k + 1] = np.clip(ref[:, k + 1], low, high)
    return out


def build_tubes(flex: FleetFlexibility, reference_Wh: FloatArray) -> CarTubes:
    """Widest uniform tubes around ``reference_Wh`` with properties 1 and 2 of the docstring.

    The reference is first made feasible (:func:`feasible_reference`), so any plan will do.
    """
    ref = feasible_reference(flex, reference_Wh)
    lo, hi = _step_limits_Wh(flex)
    move = np.diff(ref, axis=1)
    slack = np.maximum(np.minimum(hi - move, move - lo), 0.0)  # (N, T)
    zero = np.zeros((flex.n_cars, 1))
    before = np.concatenate([zero, slack], axis=1)  # slack of the interval ending at k
    after = np.concatenate([slack, zero], axis=1)  # slack of the interval starting at k
    room = np.minimum(ref - flex.min_energy_Wh, flex.max_energy_Wh - ref)
    half = np.maximum(np.minimum(np.minimum(before, after) * 0.5, room), 0.0)
    half[:, 0] = 0.0  # the stored energy at the start is known
    return CarTubes(center_Wh=ref, half_width_Wh=half)


def build_envelope(flex: FleetFlexibility, tubes: CarTubes) -> FleetEnvelope:
    """Sum the tubes into the pool series offered on I-23."""
    dt_h = flex.horizon.step_s / 3600.0
    eta_c, eta_d = flex.charge_efficiency[:, None], flex.discharge_efficiency[:, None]
    c, h = tubes.center_Wh, tubes.half_width_Wh
    move = np.diff(c, axis=1)
    reach = h[:, :-1] + h[:, 1:]
    rate_low = float(np.min(flex.charge_efficiency)) if flex.n_cars else 1.0
    rate_high = float(np.max(1.0 / flex.discharge_efficiency)) if flex.n_cars else 1.0
    car_min_W = battery_to_grid_W((move - reach) / dt_h, eta_c, eta_d)
    wear, wear_free = pool_wear(flex, car_min_W)
    return FleetEnvelope(
        horizon=flex.horizon,
        baseline_power_W=battery_to_grid_W(move / dt_h, eta_c, eta_d).sum(axis=0),
        min_power_W=car_min_W.sum(axis=0),
        max_power_W=battery_to_grid_W((move + reach) / dt_h, eta_c, eta_d).sum(axis=0),
        min_energy_Wh=(c - h).sum(axis=0), max_energy_Wh=(c + h).sum(axis=0),
        baseline_energy_Wh=c.sum(axis=0), rate_low=rate_low, rate_high=rate_high,
        wear_EUR_per_MWh=wear, wear_free_min_power_W=wear_free,
    )


def pool_wear(flex: FleetFlexibility, car_min_power_W: FloatArray) -> tuple[float, FloatArray | None]:
    """The pool's wear price (EUR per grid-side MWh discharged) and wear-free minimum power (T,).

    ``car_min_power_W`` (N, T): each car's lowest grid power in its tube. Below the sum of the
    non-negative ones some car must discharge; the price weights every car's grid-side wear
    (``wear / η_d``) by the grid energy it could discharge in its tube.
    """
    could_discharge_Wh = np.maximum(-car_min_power_W, 0.0).sum(axis=1)
    total = float(could_discharge_Wh.sum())
    if total <= 0.0 or not np.any(flex.wear_EUR_per_MWh > 0):
        return 0.0, None
    grid_side = flex.wear_EUR_per_MWh / flex.discharge_efficiency
    price = float(np.dot(grid_side, could_discharge_Wh) / total)
    return price, np.asarray(np.maximum(car_min_power_W, 0.0).sum(axis=0), dtype=np.float64)


def tracked_energy_Wh(envelope: FleetEnvelope, schedule_W: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Lowest and highest stored energy the pool can have along a grid-side schedule."""
    dt_h = envelope.horizon.step_s / 3600.0
    dev = (np.asarray(schedule_W, dtype=np.float64) - envelope.baseline_power_W) * dt_h
    up, down = np.maximum(dev, 0.0), np.maximum(-dev, 0.0)
    base = envelope.baseline_energy_Wh
    low = base + np.concatenate([[0.0], np.cumsum(envelope.rate_low * up - envelope.rate_high * down)])
    high = base + np.concatenate([[0.0], np.cumsum(envelope.rate_high * up - envelope.rate_low * down)])
    return low, high


def check_schedule(envelope: FleetEnvelope, schedule_W: FloatArray) -> None:
    """Raise :class:`ScheduleOutsideEnvelope` for the first interval that leaves the envelope."""
    schedule = np.asarray(schedule_W, dtype=np.float64)
    T = envelope.horizon.n_steps
    if schedule.shape != (T,):
        raise ScheduleOutsideEnvelope(0, f"need {T} values, got shape {schedule.shape}")
    bad = ~np.isfinite(schedule)
    if bad.any():
        raise ScheduleOutsideEnvelope(int(np.nonzero(bad)[0][0]), "not a number")
    low, high = tracked_energy_Wh(envelope, schedule)
    problems = [
        (schedule > envelope.max_power_W + _TOLERANCE_W, "power {v:.0f} W above maximum {b:.0f} W",
         schedule, envelope.max_power_W),
        (schedule < envelope.min_power_W - _TOLERANCE_W, "power {v:.0f} W below minimum {b:.0f} W",
         schedule, envelope.min_power_W),
        (high[1:] > envelope.max_energy_Wh[1:] + _TOLERANCE_WH,
         "stored energy up to {v:.0f} Wh at its end, maximum {b:.0f} Wh", high[1:], envelope.max_energy_Wh[1:]),
        (low[1:] < envelope.min_energy_Wh[1:] - _TOLERANCE_WH,
         "stored energy down to {v:.0f} Wh at its end, minimum {b:.0f} Wh", low[1:], envelope.min_energy_Wh[1:]),
    ]
    first: tuple[int, str] | None = None
    for mask, text, value, bound in problems:
        hits = np.nonzero(mask)[0]
        if hits.size and (first is None or hits[0] < first[0]):
            k = int(hits[0])
            first = (k, text.format(v=value[k], b=bound[k]))
    if first is not None:
        raise ScheduleOutsideEnvelope(*first)


def optimal_pool_schedule(envelope: FleetEnvelope, price_EUR_per_MWh: FloatArray) -> FloatArray:
    """The commercial step: cheapest grid-side pool schedule inside the envelope.

    Variables: upward ``U[k] ≥ 0`` and downward ``D[k] ≥ 0`` deviation from the baseline (kW);
    rows: the power series, and the two stored-energy trackers of :func:`tracked_energy_Wh`
    inside the energy series. Cost: ``Σ price·(baseline + U − D)·dt``. Where the envelope
    carries a wear price, ``W[k] ≥ 0`` with ``W + U − D ≥ wear_free_min − baseline`` (the power
    below the wear-free minimum) adds ``Σ wear·W·dt`` (module docstring).
    """
    T = envelope.horizon.n_steps
    price = np.asarray(price_EUR_per_MWh, dtype=np.float64)
    if price.shape != (T,):
        raise ValueError(f"need {T} prices, got shape {price.shape}")
    dt_h = envelope.horizon.step_s / 3600.0
    lo_r, hi_r = envelope.rate_low * dt_h, envelope.rate_high * dt_h
    base_kW = envelope.baseline_power_W / 1e3
    cost = np.concatenate([price, -price]) * dt_h / 1e3
    upper = np.concatenate([np.maximum(envelope.max_power_W / 1e3 - base_kW, 0.0),
                            np.maximum(base_kW - envelope.min_power_W / 1e3, 0.0)])
    r, c = np.tril_indices(T)
    idx = np.arange(T)
    rows = np.concatenate([idx, idx, T + r, T + r, 2 * T + r, 2 * T + r])
    cols = np.concatenate([idx, T + idx, c, T + c, c, T + c])
    vals = np.concatenate([np.ones(T), -np.ones(T), np.full(r.size, hi_r), np.full(r.size, -lo_r),
                           np.full(r.size, lo_r), np.full(r.size, -hi_r)])
    head_lo = (envelope.min_energy_Wh[1:] - envelope.baseline_energy_Wh[1:]) / 1e3
    head_hi = (envelope.max_energy_Wh[1:] - envelope.baseline_energy_Wh[1:]) / 1e3
    inf = np.full(T, 1e30)
    row_lower = np.concatenate([envelope.min_power_W / 1e3 - base_kW, -inf, head_lo])
    row_upper = np.concatenate([envelope.max_power_W / 1e3 - base_kW, head_hi, inf])
    n_cols, n_rows = 2 * T, 3 * T
    floor = envelope.wear_free_min_power_W
    if envelope.wear_EUR_per_MWh > 0 and floor is not None:
        if floor.shape != (T,):
            raise ValueError(f"need {T} wear-free minimum powers, got shape {floor.shape}")
        n_cols, n_rows = 3 * T, 4 * T
        cost = np.concatenate([cost, np.full(T, envelope.wear_EUR_per_MWh * dt_h / 1e3)])
        upper = np.concatenate([upper, np.full(T, 1e30)])
        rows = np.concatenate([rows, 3 * T + idx, 3 * T + idx, 3 * T + idx])
        cols = np.concatenate([cols, 2 * T + idx, idx, T + idx])
        vals = np.concatenate([vals, np.ones(T), np.ones(T), -np.ones(T)])
        row_lower = np.concatenate([row_lower, (floor - envelope.baseline_power_W) / 1e3])
        row_upper = np.concatenate([row_upper, inf])
    order = np.lexsort((cols, rows))
    start = np.searchsorted(rows[order], np.arange(n_rows + 1))
    slack = 1e-6  # kW / kWh: rounding of the sums only
    x, _, _ = solve_lp(n_cols, cost, np.zeros(n_cols), upper, row_lower - slack, row_upper + slack,
                       start, cols[order], vals[order], rowwise=True)
    return np.asarray(envelope.baseline_power_W + (x[:T] - x[T:2 * T]) * 1e3, dtype=np.float64)
