"""The exact joint LP: every car of the fleet optimised directly against a price series.

This is the quality anchor of issue 8 (anchors.md §3: aggregate-then-disaggregate pipelines
lose a median 2–50 % against it). Per car ``i`` and interval ``k`` (step ``dt``), with
separate non-negative charge ``c`` and discharge ``d`` grid powers and the battery-side
cumulative energy ``z``:

* ``z[i,k+1] = z[i,k] + η_c·c[i,k]·dt − d[i,k]·dt/η_d``, ``z[i,0] = 0``;
* ``0 ≤ c ≤ availability·P_charge``, ``0 ≤ d ≤ availability·P_discharge`` (0 without consent
  or below the owner's minimum SoC);
* ``z`` inside the car's window from :mod:`fleet_flexibility` (SoC limits, owner's minimum
  SoC for discharge, target at departure; the window is the consistent closure of exactly
  these constraints, so it changes nothing but helps the solver);
* minimise ``Σ price[k]·(c − d)·dt + Σ wear·d·dt/η_d`` (the cells' wear per kWh taken out,
  :mod:`fleet_battery_wear`; 0 by default).

Charging and discharging the same car in the same interval is allowed (the usual LP
relaxation); it only pays at negative prices and makes the anchor a lower bound of any
physically implementable plan, so a gap measured against it is never flattering.
HiGHS solves it (``highspy``, column arrays built with numpy: no modelling layer).

Nothing couples the cars, so the same optimum can be found per car: :func:`plan_by_slopes`
does it without an LP, by dynamic programming over each car's convex piecewise-linear
cost-to-go, for whole chunks of the fleet at once (the technical aggregator's reference
plan; several times faster than the LP and equal to it for non-negative prices).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import highspy
import numpy as np
from numpy.typing import NDArray

from bidicharge.control.fleet_flexibility import FleetFlexibility, FloatArray
from bidicharge.control.highs_solver import new_highs

_INF: Final = highspy.kHighsInf
_COLWISE: Final = 1
_ROWWISE: Final = 2
_MINIMISE: Final = 1


class SolveFailed(RuntimeError):
    """HiGHS did not return an optimum (status in the message)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JointSolution:
    power_W: FloatArray  # (N, T) grid side, positive = charging (net of c − d)
    charge_W: FloatArray  # (N, T)
    discharge_W: FloatArray  # (N, T)
    energy_Wh: FloatArray  # (N, T+1) battery-side cumulative change (the LP's z)
    cost_EUR: float
    solve_time_s: float


def solve_lp(n_cols: int, cost: FloatArray, lower: FloatArray, upper: FloatArray,
             row_lower: FloatArray, row_upper: FloatArray, start: NDArray[Any],
             index: NDArray[Any], value: FloatArray, *, rowwise: bool,
             threads: int = 1, presolve: bool = True) -> tuple[FloatArray, float, float]:
    """Solve ``min cost·x`` with HiGHS; returns (x, objective, run time in s)."""
    highs = new_highs(threads=threads)
    if not presolve:  # for small LPs presolve costs more than it saves
        highs.setOptionValue("presolve", "off")
    integrality = np.zeros(n_cols, dtype=np.int32)
    highs.passModel(n_cols, row_lower.shape[0], index.shape[0], _ROWWISE if rowwise else _COLWISE,
                    _MINIMISE, 0.0, cost, lower, upper, row_lower, row_upper,
                    start.astype(np.int32), index.astype(np.int32), value, integrality)
    highs.run()
    status = highs.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise SolveFailed(highs.modelStatusToString(status))
    x = np.asarray(highs.getSolution().col_value, dtype=np.float64)
    return x, float(highs.getInfo().objective_function_value), float(highs.getRunTime())


def solve_joint(flex: FleetFlexibility, price_EUR_per_MWh: FloatArray, *,
                chunk_cars: int | None = None) -> JointSolution:
    """Cost-optimal schedule of every car against ``price_EUR_per_MWh`` (one value per interval).

    Nothing couples the cars (no shared connection limit), so solving the fleet in chunks of
    ``chunk_cars`` gives the same optimum; ``None`` solves one LP for the whole fleet (the
    anchor as the issue defines it), a chunk of ~50 cars is several times faster.
    """
    T = flex.horizon.n_steps
    price = np.asarray(price_EUR_per_MWh, dtype=np.float64)
    if price.shape != (T,):
        raise ValueError(f"need {T} prices, got shape {price.shape}")
    n = flex.n_cars
    size = n if chunk_cars is None else max(1, chunk_cars)
    parts = [_solve_block(flex, price, slice(a, min(a + size, n))) for a in range(0, max(n, 1), size)]
    return JointSolution(
        power_W=np.concatenate([p.power_W for p in parts]),
        charge_W=np.concatenate([p.charge_W for p in parts]),
        discharge_W=np.concatenate([p.discharge_W for p in parts]),
        energy_Wh=np.concatenate([p.energy_Wh for p in parts]),
        cost_EUR=float(sum(p.cost_EUR for p in parts)),
        solve_time_s=float(sum(p.solve_time_s for p in parts)),
    )


def _solve_block(flex: FleetFlexibility, price: FloatArray, cars: slice) -> JointSolution:
    T = flex.horizon.n_steps
    dt_h = flex.horizon.step_s / 3600.0
    eta_c, eta_d = flex.charge_efficiency[cars], flex.discharge_efficiency[cars]
    min_power, max_power = flex.min_power_W[cars], flex.max_power_W[cars]
    min_energy, max_energy = flex.min_energy_Wh[cars], flex.max_energy_Wh[cars]
    n = eta_c.shape[0]
    if n == 0:
        empty = np.zeros((0, T))
        return JointSolution(power_W=empty, charge_W=empty, discharge_W=empty,
                             energy_Wh=np.zeros((0, T + 1)), cost_EUR=0.0, solve_time_s=0.0)
    # kW and kWh inside the LP keep HiGHS well scaled; columns only where a car can act:
    # charge/discharge where its limit is positive, stored energy on the boundaries of its
    # plug-in run (before it, z = 0; after it, z stays at its last value)
    c_hi = np.maximum(max_power, 0.0) / 1e3
    d_hi = np.maximum(-min_power, 0.0) / 1e3
    acts = (c_hi > 0) | (d_hi > 0)
    ks = np.arange(T)
    first = np.where(acts.any(axis=1), np.argmax(acts, axis=1), 0)
    last = np.where(acts.any(axis=1), T - np.argmax(acts[:, ::-1], axis=1), 0)  # one past
    run = (ks[None, :] >= first[:, None]) & (ks[None, :] < last[:, None])  # (n, T)
    has_c, has_d = run & (c_hi > 0), run & (d_hi > 0)
    bnd = np.zeros((n, T + 1), dtype=bool)
    bnd[:, :-1] |= run
    bnd[:, 1:] |= run
    n_c, n_d, n_z = int(has_c.sum()), int(has_d.sum()), int(bnd.sum())
    col_c = np.cumsum(has_c.ravel()).reshape(n, T) - 1
    col_d = n_c + np.cumsum(has_d.ravel()).reshape(n, T) - 1
    col_z = n_c + n_d + np.cumsum(bnd.ravel()).reshape(n, T + 1) - 1
    # the last boundary of a run carries the bounds of every later boundary (nothing moves)
    after_lo = np.maximum.accumulate(min_energy[:, ::-1], axis=1)[:, ::-1]
    after_hi = np.minimum.accumulate(max_energy[:, ::-1], axis=1)[:, ::-1]
    is_last = bnd & ~np.concatenate([bnd[:, 1:], np.zeros((n, 1), dtype=bool)], axis=1)
    z_lo = np.where(is_last, after_lo, min_energy)[bnd] / 1e3 - 1e-9
    z_hi = np.where(is_last, after_hi, max_energy)[bnd] / 1e3 + 1e-9
    price_c = np.broadcast_to(price * dt_h / 1e3, (n, T))
    # a discharge of d kW takes d·dt/η_d kWh out of the cells: it pays their wear on top
    wear_d = np.broadcast_to((flex.wear_EUR_per_MWh[cars] / eta_d * dt_h / 1e3)[:, None], (n, T))
    cost = np.concatenate([price_c[has_c], -price_c[has_d] + wear_d[has_d], np.zeros(n_z)])
    lower = np.concatenate([np.zeros(n_c + n_d), z_lo])
    upper = np.concatenate([c_hi[has_c], d_hi[has_d], z_hi])
    # one row per interval of a run: z[k+1] − z[k] − η_c·dt·c + dt/η_d·d = 0
    row_id = np.cumsum(run.ravel()).reshape(n, T) - 1
    n_rows = int(run.sum())
    ii, kk = np.nonzero(run)
    rows = [row_id[ii, kk], row_id[ii, kk]]
    cols = [col_z[ii, kk + 1], col_z[ii, kk]]
    vals = [np.ones(ii.size), -np.ones(ii.size)]
    ic, kc = np.nonzero(has_c)
    rows.append(row_id[ic, kc])
    cols.append(col_c[ic, kc])
    vals.append(-eta_c[ic] * dt_h)
    idd, kd = np.nonzero(has_d)
    rows.append(row_id[idd, kd])
    cols.append(col_d[idd, kd])
    vals.append(dt_h / eta_d[idd])
    row = np.concatenate(rows)
    order = np.argsort(row, kind="stable")
    start = np.searchsorted(row[order], np.arange(n_rows + 1))
    zeros = np.zeros(n_rows)
    if n_c + n_d == 0:  # no car in this block can do anything: nothing to optimise
        x, objective, run_s = np.zeros(n_z), 0.0, 0.0
    else:
        x, objective, run_s = solve_lp(n_c + n_d + n_z, cost, lower, upper, zeros, zeros, start,
                                       np.concatenate(cols)[order], np.concatenate(vals)[order],
                                       rowwise=True, presolve=n > 200)
    charge = np.zeros((n, T))
    discharge = np.zeros((n, T))
    charge[has_c] = x[:n_c] * 1e3
    discharge[has_d] = x[n_c:n_c + n_d] * 1e3
    z = np.full((n, T + 1), np.nan)
    z[bnd] = x[n_c + n_d:] * 1e3
    z[:, 0] = np.where(bnd[:, 0], z[:, 0], 0.0)
    # before the run nothing has moved; after it the value is held
    for k in range(1, T + 1):
        z[:, k] = np.where(np.isnan(z[:, k]), z[:, k - 1], z[:, k])
    energy = np.clip(z, min_energy, max_energy)  # solver tolerance only
    return JointSolution(power_W=charge - discharge, charge_W=charge, discharge_W=discharge,
                         energy_Wh=energy, cost_EUR=objective, solve_time_s=run_s)


def plan_by_slopes(flex: FleetFlexibility, price_EUR_per_MWh: FloatArray, *,
                   chunk_cars: int = 1000) -> FloatArray:
    """Every car's cost-optimal stored-energy trajectory, by dynamic programming (N, T+1).

    The same per-car problem as :func:`solve_joint`, solved without an LP and for all cars
    of a chunk at once. On the battery side the cost of a step ``β`` is convex and piecewise
    linear (``price/η_c`` per Wh charged, ``price·η_d`` per Wh discharged), so every cost-to-go
    ``V_k`` is convex and piecewise linear too and is kept as a sorted list of (slope, length)
    pieces: ``V_k`` is the infimal convolution of ``V_{k+1}`` with the step cost (merge two
    pieces into the list) cut to the car's window ``[min_energy, max_energy]``; the forward
    pass then moves each car to where the slope of ``V_{k+1}`` meets the step's price.
    For non-negative prices this is the LP optimum (the LP never charges and discharges at
    once then); at a negative price a discharge is valued like a charge, so the plan stays
    physical (one direction per interval) and discharges less than the LP relaxation would.
    """
    price = np.asarray(price_EUR_per_MWh, dtype=np.float64)
    T = flex.horizon.n_steps
    if price.shape != (T,):
        raise ValueError(f"need {T} prices, got shape {price.shape}")
    out = np.zeros((flex.n_cars, T + 1))
    # a chunk's arrays are as wide as its car with the most pieces: chunks of alike cars (by
    # how many intervals they can act in) keep them narrow, the per-car result is unchanged
    active = ((flex.max_power_W > 0) | (flex.min_power_W < 0)).sum(axis=1)
    order = np.argsort(active, kind="stable")
    for a in range(0, flex.n_cars, chunk_cars):
        cars = order[a:a + chunk_cars]
        out[cars] = _slopes_block(flex, price, cars)
    return out


def _slopes_block(flex: FleetFlexibility, price: FloatArray, cars: NDArray[np.intp]) -> FloatArray:
    # pieces along axis 0 and cars along axis 1: every step is a few elementwise passes over
    # contiguous rows of the chunk (a car's few pieces along axis 1 made numpy loop per car)
    T = flex.horizon.n_steps
    dt_h = flex.horizon.step_s / 3600.0
    eta_c, eta_d = flex.charge_efficiency[cars], flex.discharge_efficiency[cars]
    lo = np.minimum(flex.min_power_W[cars], 0.0).T
    lo = np.where(lo < 0, lo / eta_d, 0.0) * dt_h  # (T, n) battery Wh per interval, ≤ 0
    hi = (np.maximum(flex.max_power_W[cars], 0.0).T * eta_c) * dt_h  # ≥ 0
    low, high = flex.min_energy_Wh[cars].T, flex.max_energy_Wh[cars].T  # (T+1, n)
    s_c = price[:, None] / eta_c  # cost per Wh charged (cells)
    # per Wh discharged: the price less the cells' wear; ≤ s_c keeps V convex
    s_d = np.minimum(price[:, None] * eta_d - flex.wear_EUR_per_MWh[cars], s_c)
    n = low.shape[1]
    slope = np.zeros((1, n))
    length = (high[T] - low[T])[None, :]
    left = low[T].copy()
    # the cost-to-go of every boundary, compact (only the pieces still alive)
    kept_slope: list[FloatArray] = [slope] * (T + 1)
    kept_length: list[FloatArray] = [length] * (T + 1)
    kept_left = np.empty((T + 1, n))
    kept_left[T] = left
    for k in range(T - 1, 0, -1):
        slope, length, left = _convolve_and_cut(slope, length, left, -s_c[k], -s_d[k], hi[k], -lo[k],
                                                low[k], high[k])
        kept_slope[k], kept_length[k], kept_left[k] = slope, length, left
    z = np.zeros((T + 1, n))
    for k in range(T):
        s, ln, a = kept_slope[k + 1], kept_length[k + 1], kept_left[k + 1]
        b = a + ln.sum(axis=0)
        # where V'_{k+1} meets −price: the best level for charging resp. discharging
        y_c = a + np.where(s < -s_c[k], ln, 0.0).sum(axis=0)
        y_d = a + np.where(s < -s_d[k], ln, 0.0).sum(axis=0)
        now = z[k]
        lowest = np.maximum(now + lo[k], a)
        highest = np.maximum(np.minimum(now + hi[k], b), lowest)
        y = np.where(y_c > now, y_c, np.where(y_d < now, y_d, now))
        z[k + 1] = np.clip(y, lowest, highest)
    return np.clip(z.T, low.T, high.T)


def _convolve_and_cut(slope: FloatArray, length: FloatArray, left: FloatArray, x1: FloatArray,
                      x2: FloatArray, len1: FloatArray, len2: FloatArray, low: FloatArray,
                      high: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """One backward DP step on (pieces, cars) arrays: merge the two step pieces, cut to the window."""
    used, n = slope.shape
    # x1 ≤ x2 go to their sorted places p1 and p2 + 1: a gather from the list shifted by 0, 1, 2
    p1 = (slope < x1).sum(axis=0)
    p2 = (slope < x2).sum(axis=0)
    i = np.arange(used + 2)[:, None]
    inf, zero = np.full((1, n), np.inf), np.zeros((1, n))
    where = [i < p1, i == p1, i <= p2, i == p2 + 1]
    new_s = np.select(where, [np.concatenate([slope, inf, inf]), x1, np.concatenate([inf, slope, inf]), x2],
                      np.concatenate([inf, inf, slope]))
    new_l = np.select(where, [np.concatenate([length, zero, zero]), len1,
                              np.concatenate([zero, length, zero]), len2], np.concatenate([zero, zero, length]))
    left = left - len1
    # cut to the window [low, high]: smallest slopes from the left, largest from the right
    cut = np.maximum(low - left, 0.0)
    new_l = np.clip(np.cumsum(new_l, axis=0) - cut, 0.0, new_l)
    left = left + cut
    keep = np.maximum(high - left, 0.0)
    new_l = np.clip(keep - (np.cumsum(new_l, axis=0) - new_l), 0.0, new_l)
    # drop the pieces the window cut away (most of them), keeping the order of the rest
    alive = new_l > 0.0
    place = np.cumsum(alive, axis=0) - 1
    width = max(int(place[-1].max()) + 1, 1)
    jj, ii = np.nonzero(alive)
    out_s, out_l = np.full((width, n), np.inf), np.zeros((width, n))
    out_s[place[jj, ii], ii] = new_s[jj, ii]
    out_l[place[jj, ii], ii] = new_l[jj, ii]
    return out_s, out_l, left
