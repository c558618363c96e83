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
from typing import Any, Final

import highspy
import numpy as np
from numpy.typing import NDArray

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
    energy_Wh: FloatArray  # (N, T+1) battery-side cumulative change (the LP's z)
    cost_EUR: float
    solve_time_s: float


def solve_lp(n_cols: int, cost: FloatArray, lower: FloatArray, upper: FloatArray,
             row_lower: FloatArray, row_upper: FloatArray, start: NDArray[Any],
             index: NDArray[Any], value: FloatArray, *, rowwise: bool,
             threads: int = 1, presolve: bool = True) -> tuple[FloatArray, float, float]:
    """Solve ``min cost·x`` with HiGHS; returns (x, objective, run time in s)."""
    highs = highspy.Highs()  # type: ignore[no-untyped-call]  # highspy ships no annotation here
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", threads)
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
    # kW and kWh inside the LP keep HiGHS well scaled
    c_hi = np.maximum(max_power, 0.0) / 1e3
    d_hi = np.maximum(-min_power, 0.0) / 1e3
    nc = n * T
    c0, d0, z0 = 0, nc, 2 * nc
    n_cols = 2 * nc + n * (T + 1)
    cost = np.concatenate([np.tile(price * dt_h / 1e3, n), np.tile(-price * dt_h / 1e3, n),
                           np.zeros(n * (T + 1))])
    lower = np.concatenate([np.zeros(2 * nc), min_energy.ravel() / 1e3 - 1e-9])
    upper = np.concatenate([c_hi.ravel(), d_hi.ravel(), max_energy.ravel() / 1e3 + 1e-9])
    # one row per (car, interval): z[k+1] − z[k] − η_c·dt·c + dt/η_d·d = 0
    car = np.repeat(np.arange(n), T)
    k = np.tile(np.arange(T), n)
    zk = z0 + car * (T + 1) + k
    index = np.stack([zk + 1, zk, c0 + car * T + k, d0 + car * T + k], axis=1).ravel()
    value = np.stack([np.ones(nc), -np.ones(nc), -eta_c[car] * dt_h, dt_h / eta_d[car]], axis=1).ravel()
    start = np.arange(0, 4 * nc + 1, 4)
    zeros = np.zeros(nc)
    x, objective, run_s = solve_lp(n_cols, cost, lower, upper, zeros, zeros, start, index, value,
                                   rowwise=True, presolve=n > 200)
    charge = x[c0:c0 + nc].reshape(n, T) * 1e3
    discharge = x[d0:d0 + nc].reshape(n, T) * 1e3
    energy = x[z0:].reshape(n, T + 1) * 1e3
    energy = np.clip(energy, min_energy, max_energy)  # solver tolerance only
    return JointSolution(power_W=charge - discharge, charge_W=charge, discharge_W=discharge,
                         energy_Wh=energy, cost_EUR=objective, solve_time_s=run_s)
