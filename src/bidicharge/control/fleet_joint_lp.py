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
* minimise ``Σ price[k]·(c − d)·dt``.

Charging and discharging the same car in the same interval is allowed (the usual LP
relaxation); it only pays at negative prices and makes the anchor a lower bound of any
physically implementable plan, so a gap measured against it is never flattering.
HiGHS solves it (``highspy``, column arrays built with numpy: no modelling layer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import highspy
import numpy as np

from bidicharge.control.fleet_flexibility import FleetFlexibility, FloatArray

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
    cost_EUR: float
    solve_time_s: float


def solve_lp(n_cols: int, cost: FloatArray, lower: FloatArray, upper: FloatArray,
             row_lower: FloatArray, row_upper: FloatArray, start: FloatArray,
             index: FloatArray, value: FloatArray, *, rowwise: bool,
             threads: int = 1) -> tuple[FloatArray, float, float]:
    """Solve ``min cost·x`` with HiGHS; returns (x, objective, run time in s)."""
    highs = highspy.Highs()  # type: ignore[no-untyped-call]  # highspy ships no annotation here
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", threads)
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


def solve_joint(flex: FleetFlexibility, price_EUR_per_MWh: FloatArray) -> JointSolution:
    """Cost-optimal schedule of every car against ``price_EUR_per_MWh`` (one value per interval)."""
    n, T = flex.n_cars, flex.horizon.n_steps
    price = np.asarray(price_EUR_per_MWh, dtype=np.float64)
    if price.shape != (T,):
        raise ValueError(f"need {T} prices, got shape {price.shape}")
    dt_h = flex.horizon.step_s / 3600.0
    # kW and kWh inside the LP keep HiGHS well scaled
    c_hi = np.maximum(flex.max_power_W, 0.0) / 1e3
    d_hi = np.maximum(-flex.min_power_W, 0.0) / 1e3
    nc = n * T
    c0, d0, z0 = 0, nc, 2 * nc
    n_cols = 2 * nc + n * (T + 1)
    cost = np.concatenate([np.tile(price * dt_h / 1e3, n), np.tile(-price * dt_h / 1e3, n),
                           np.zeros(n * (T + 1))])
    lower = np.concatenate([np.zeros(2 * nc), flex.min_energy_Wh.ravel() / 1e3 - 1e-9])
    upper = np.concatenate([c_hi.ravel(), d_hi.ravel(), flex.max_energy_Wh.ravel() / 1e3 + 1e-9])
    # one row per (car, interval): z[k+1] − z[k] − η_c·dt·c + dt/η_d·d = 0
    car = np.repeat(np.arange(n), T)
    k = np.tile(np.arange(T), n)
    zk = z0 + car * (T + 1) + k
    index = np.stack([zk + 1, zk, c0 + car * T + k, d0 + car * T + k], axis=1).ravel()
    value = np.stack([np.ones(nc), -np.ones(nc), -flex.charge_efficiency[car] * dt_h,
                      dt_h / flex.discharge_efficiency[car]], axis=1).ravel()
    start = np.arange(0, 4 * nc + 1, 4)
    zeros = np.zeros(nc)
    x, objective, run_s = solve_lp(n_cols, cost, lower, upper, zeros, zeros, start, index, value,
                                   rowwise=True)
    charge = x[c0:c0 + nc].reshape(n, T) * 1e3
    discharge = x[d0:d0 + nc].reshape(n, T) * 1e3
    return JointSolution(power_W=charge - discharge, charge_W=charge, discharge_W=discharge,
                         cost_EUR=objective, solve_time_s=run_s)
