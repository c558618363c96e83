"""Per-car flexibility of a plugged-in fleet: power and energy bounds over a grid of intervals.

The technical aggregator of the seed (issue 8, item 2) knows, for every car that is or will
be plugged in, when it arrives and leaves, its state of charge, its battery, the charger's
limits in both directions, the owner's minimum SoC for discharge, the V2G consent and the
target SoC at departure. This module turns that into, per car and per interval of a
horizon, the *grid-side* power window and the *battery-side* cumulative-energy window that
every feasible schedule of the car stays inside.

Sign convention (``core/units.py``): positive power flows into the vehicle (charging);
``min_power_W`` is negative where the car may discharge. Energies are the cumulative change
of the energy stored in the battery since the start of the horizon (battery side, so the
model is exact and linear: charging ``p`` W for ``dt`` adds ``η_c·p·dt``, discharging ``p`` W
removes ``p·dt/η_d``); ``min_energy_Wh[:, k]`` and ``max_energy_Wh[:, k]`` bound it at the
boundary ``k`` (the start of interval ``k``; ``k = T`` is the end of the horizon).

Rules (the owner's settings are hard constraints):

* a car discharges only with V2G consent and only down to ``min_soc_for_discharge``; a car
  that arrives below that SoC is not discharged at all in this plan (it may still charge);
* the target at departure is met where physically possible; where it is not, the bound is the
  most the car can reach (charging at full power from arrival), and ``target_reachable`` is
  ``False`` for it;
* a departure after the end of the horizon asks, at the end of the horizon, only for what the
  car cannot still charge at full power between the end of the horizon and its departure;
* the bounds are made consistent (forward/backward propagation along each car's chain), so
  every energy value inside ``[min_energy_Wh, max_energy_Wh]`` lies on a feasible schedule
  and the per-interval power windows already exclude moves that would strand the car.

Everything is computed for the whole fleet at once with numpy (struct of arrays), so 100,000
cars over 96 intervals take about a second.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]

_SOC_TOLERANCE: Final = 1e-9
SOC_JUMP_TOLERANCE: Final = 0.02  # 2 % of capacity: meter and BMS estimation noise


class InvalidCarData(ValueError):
    """The data reported for a car is inconsistent (the reporter's fault, not ours)."""

    def __init__(self, car_id: str, reason: str) -> None:
        super().__init__(f"car {car_id!r}: {reason}")
        self.car_id = car_id
        self.reason = reason


@dataclass(frozen=True, slots=True, kw_only=True)
class Horizon:
    """Equal intervals ``[start_s + k·step_s, start_s + (k+1)·step_s)``, ``k < n_steps``."""

    start_s: float
    n_steps: int
    step_s: float = 900.0

    def __post_init__(self) -> None:
        if self.n_steps < 1 or not self.step_s > 0:
            raise ValueError("a horizon needs at least one interval of positive length")

    @property
    def end_s(self) -> float:
        return self.start_s + self.n_steps * self.step_s


@dataclass(frozen=True, slots=True, kw_only=True)
class CarSession:
    """One car's plug-in session as the aggregator knows it.

    ``soc`` is the state of charge when the car's flexibility starts: at ``arrival_s``, or the
    latest report if the car is already plugged in at the start of the horizon.
    Efficiencies are per direction, grid to battery (``charge_efficiency``) and battery to
    grid (``discharge_efficiency``).
    """

    car_id: str
    arrival_s: float
    departure_s: float
    soc: float
    capacity_Wh: float
    max_charge_power_W: float
    max_discharge_power_W: float
    target_soc: float
    min_soc_for_discharge: float
    v2g_consent: bool
    charge_efficiency: float = 0.92
    discharge_efficiency: float = 0.92
    max_soc: float = 1.0
    # cost of the cells' ageing per kWh taken out of them (battery side); a discharge pays
    # only where the price spread beats it (see :mod:`fleet_battery_wear` for the figure)
    wear_EUR_per_kWh: float = 0.0


def validate_car(car: CarSession, *, now_s: float) -> None:
    """Reject inconsistent car data with a reason (raises :class:`InvalidCarData`)."""
    reason = _first_problem(car, now_s)
    if reason is not None:
        raise InvalidCarData(car.car_id, reason)


def _first_problem(car: CarSession, now_s: float) -> str | None:
    finite = (car.arrival_s, car.departure_s, car.soc, car.capacity_Wh, car.max_charge_power_W,
              car.max_discharge_power_W, car.target_soc, car.min_soc_for_discharge,
              car.charge_efficiency, car.discharge_efficiency, car.max_soc, car.wear_EUR_per_kWh)
    if not all(math.isfinite(v) for v in finite):
        return "a value is not a finite number"
    if car.wear_EUR_per_kWh < 0:
        return "battery wear cost must not be negative"
    if car.departure_s <= now_s:
        return f"departure {car.departure_s:.0f} s is not after now ({now_s:.0f} s)"
    if car.departure_s <= car.arrival_s:
        return "departure is not after arrival"
    if not car.capacity_Wh > 0:
        return "battery capacity must be positive"
    if car.max_charge_power_W < 0 or car.max_discharge_power_W < 0:
        return "power limits are magnitudes and must not be negative"
    for name, value in (("soc", car.soc), ("max_soc", car.max_soc),
                        ("min_soc_for_discharge", car.min_soc_for_discharge)):
        if not 0.0 <= value <= 1.0:
            return f"{name} {value} is outside 0..1"
    if car.target_soc > car.max_soc + _SOC_TOLERANCE:
        return (f"target SoC {car.target_soc:.3f} is above what the battery may hold "
                f"({car.max_soc:.3f} of {car.capacity_Wh:.0f} Wh)")
    if car.target_soc < 0:
        return "target SoC is negative"
    if car.min_soc_for_discharge > car.max_soc:
        return "minimum SoC for discharge is above the maximum SoC"
    for name, eff in (("charge_efficiency", car.charge_efficiency),
                      ("discharge_efficiency", car.discharge_efficiency)):
        if not 0.0 < eff <= 1.0:
            return f"{name} {eff} is outside (0, 1]"
    return None


def check_soc_update(previous: CarSession, current: CarSession, *, elapsed_s: float) -> None:
    """Reject a SoC report that no charger could have produced since the previous one.

    The SoC may move by at most what the charger can put in or take out in ``elapsed_s``
    (plus :data:`SOC_JUMP_TOLERANCE`); anything more is a jump (wrong car, a BMS reset, a
    unit error) and is refused so that it cannot reach the plan.
    """
    if elapsed_s < 0:
        raise InvalidCarData(current.car_id, "SoC report is older than the previous one")
    hours = elapsed_s / 3600.0
    up = current.charge_efficiency * current.max_charge_power_W * hours / current.capacity_Wh
    down = current.max_discharge_power_W * hours / current.discharge_efficiency / current.capacity_Wh
    delta = current.soc - previous.soc
    if delta > up + SOC_JUMP_TOLERANCE or -delta > down + SOC_JUMP_TOLERANCE:
        raise InvalidCarData(
            current.car_id,
            f"SoC jumped from {previous.soc:.3f} to {current.soc:.3f} in {elapsed_s:.0f} s "
            f"(at most +{up:.3f}/-{down:.3f} possible)",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class FleetFlexibility:
    """Per-car bounds for a whole fleet (arrays: cars along axis 0, time along axis 1)."""

    horizon: Horizon
    car_ids: tuple[str, ...]
    charge_efficiency: FloatArray  # (N,)
    discharge_efficiency: FloatArray  # (N,)
    initial_energy_Wh: FloatArray  # (N,) stored energy when the flexibility starts
    capacity_Wh: FloatArray  # (N,)
    min_power_W: FloatArray  # (N, T) grid side, negative = discharge allowed
    max_power_W: FloatArray  # (N, T)
    min_energy_Wh: FloatArray  # (N, T+1) battery-side cumulative change since start
    max_energy_Wh: FloatArray  # (N, T+1)
    required_energy_Wh: FloatArray  # (N,) cumulative change needed when the car leaves
    departure_index: IntArray  # (N,) first boundary at which the car is gone (≤ T)
    floor_energy_Wh: FloatArray  # (N,) lowest stored energy a discharge may reach
    target_reachable: BoolArray  # (N,)
    may_discharge: BoolArray  # (N,)
    wear_EUR_per_MWh: FloatArray  # (N,) per MWh taken out of the cells (battery side)

    @property
    def n_cars(self) -> int:
        return len(self.car_ids)

    def battery_power_bounds_W(self) -> tuple[FloatArray, FloatArray]:
        """Battery-side power window per car and interval (what the cells see)."""
        lo = self.min_power_W / self.discharge_efficiency[:, None]
        hi = self.max_power_W * self.charge_efficiency[:, None]
        return lo, hi


def _column(cars: Sequence[CarSession], name: str) -> FloatArray:
    return np.fromiter((getattr(c, name) for c in cars), dtype=np.float64, count=len(cars))


def build_flexibility(cars: Sequence[CarSession], horizon: Horizon, *, now_s: float) -> FleetFlexibility:
    """Validate every car and compute its power and energy bounds over ``horizon``.

    Raises :class:`InvalidCarData` for the first inconsistent car (its id and the reason).
    """
    if now_s > horizon.start_s + 1e-9:
        raise ValueError("the horizon must not start before now")
    ids = tuple(c.car_id for c in cars)
    if len(set(ids)) != len(ids):
        raise ValueError("car ids must be unique")
    col = {name: _column(cars, name) for name in (
        "arrival_s", "departure_s", "soc", "capacity_Wh", "max_charge_power_W",
        "max_discharge_power_W", "target_soc", "min_soc_for_discharge", "charge_efficiency",
        "discharge_efficiency", "max_soc", "wear_EUR_per_kWh")}
    suspect = np.nonzero(~_plausible(col, now_s))[0]
    for i in suspect:  # the exact rules (and the reason) per car, only where needed
        validate_car(cars[int(i)], now_s=now_s)
    consent = np.fromiter((c.v2g_consent for c in cars), dtype=np.bool_, count=len(cars))
    return _bounds(horizon, ids, col, consent)


def _plausible(col: dict[str, FloatArray], now_s: float) -> BoolArray:
    """Vectorised pre-check: ``True`` where :func:`validate_car` cannot object (fast path)."""
    ok = np.all(np.isfinite(np.stack(list(col.values()))), axis=0)
    ok &= (col["departure_s"] > now_s) & (col["departure_s"] > col["arrival_s"]) & (col["capacity_Wh"] > 0)
    ok &= (col["max_charge_power_W"] >= 0) & (col["max_discharge_power_W"] >= 0)
    for name in ("soc", "max_soc", "min_soc_for_discharge"):
        ok &= (col[name] >= 0) & (col[name] <= 1)
    ok &= (col["target_soc"] >= 0) & (col["target_soc"] <= col["max_soc"])
    ok &= col["min_soc_for_discharge"] <= col["max_soc"]
    ok &= col["wear_EUR_per_kWh"] >= 0
    for name in ("charge_efficiency", "discharge_efficiency"):
        ok &= (col[name] > 0) & (col[name] <= 1)
    return np.asarray(ok, dtype=np.bool_)


def _bounds(horizon: Horizon, ids: tuple[str, ...], col: dict[str, FloatArray],
            consent: BoolArray) -> FleetFlexibility:
    # time along axis 0 inside (each pass over the horizon touches contiguous rows),
    # cars along axis 0 in the result
    T, dt_h = horizon.n_steps, horizon.step_s / 3600.0
    edges = horizon.start_s + horizon.step_s * np.arange(T + 1)
    arrival = np.maximum(col["arrival_s"], horizon.start_s)
    departure = col["departure_s"]
    # fraction of each interval the car is plugged in: average power bounds scale with it
    overlap = (np.minimum(departure[None, :], edges[1:, None])
               - np.maximum(arrival[None, :], edges[:-1, None]))
    avail = np.clip(overlap / horizon.step_s, 0.0, 1.0)  # (T, N)

    cap, eta_c, eta_d = col["capacity_Wh"], col["charge_efficiency"], col["discharge_efficiency"]
    b0 = col["soc"] * cap
    b_max = np.maximum(col["max_soc"] * cap, b0)
    floor_soc = col["min_soc_for_discharge"]
    may_discharge = consent & (col["soc"] >= floor_soc - _SOC_TOLERANCE) & (col["max_discharge_power_W"] > 0)
    floor = np.where(may_discharge, np.minimum(floor_soc * cap, b0), b0)

    step_hi = avail * (col["max_charge_power_W"] * eta_c * dt_h)  # battery Wh per interval
    step_lo = avail * (-np.where(may_discharge, col["max_discharge_power_W"], 0.0) * dt_h / eta_d)

    n = len(ids)
    z_hi = np.empty((T + 1, n))
    z_lo = np.empty((T + 1, n))
    z_hi[0] = 0.0
    z_lo[0] = 0.0
    room = (b_max - b0)
    depth = (floor - b0)
    for k in range(T):
        np.minimum(room, z_hi[k] + step_hi[k], out=z_hi[k + 1])
        np.maximum(depth, z_lo[k] + step_lo[k], out=z_lo[k + 1])

    dep_index = np.clip(np.ceil((departure - horizon.start_s) / horizon.step_s - 1e-9), 0, T).astype(np.int64)
    # plugged-in time after the horizon: what can still be charged then is not asked now
    late_h = np.maximum(departure - np.maximum(horizon.end_s, col["arrival_s"]), 0.0) / 3600.0
    need = col["target_soc"] * cap - b0 - eta_c * col["max_charge_power_W"] * late_h
    reachable = z_hi[dep_index, np.arange(n)]
    target_reachable = need <= reachable + 1e-6
    need = np.minimum(need, reachable)
    # the target binds from the departure boundary on (the car is gone, its energy frozen)
    after = np.arange(T + 1)[:, None] >= dep_index[None, :]
    z_lo = np.where(after, np.maximum(z_lo, need[None, :]), z_lo)
    for k in range(T - 1, -1, -1):
        np.minimum(z_hi[k], z_hi[k + 1] - step_lo[k], out=z_hi[k])
        np.maximum(z_lo[k], z_lo[k + 1] - step_hi[k], out=z_lo[k])
    np.minimum(z_lo, z_hi, out=z_lo)  # rounding only: the passes above keep z_lo ≤ z_hi

    # power windows that keep the car on a feasible chain, mapped back to the grid side
    d_hi = np.minimum(step_hi, z_hi[1:] - z_lo[:-1])
    d_lo = np.maximum(step_lo, z_lo[1:] - z_hi[:-1])
    return FleetFlexibility(
        horizon=horizon, car_ids=ids, charge_efficiency=eta_c, discharge_efficiency=eta_d,
        initial_energy_Wh=b0, capacity_Wh=cap,
        min_power_W=np.ascontiguousarray(battery_to_grid_W(d_lo / dt_h, eta_c, eta_d).T),
        max_power_W=np.ascontiguousarray(battery_to_grid_W(d_hi / dt_h, eta_c, eta_d).T),
        min_energy_Wh=np.ascontiguousarray(z_lo.T), max_energy_Wh=np.ascontiguousarray(z_hi.T),
        required_energy_Wh=need, departure_index=dep_index, floor_energy_Wh=floor,
        target_reachable=target_reachable, may_discharge=may_discharge,
        wear_EUR_per_MWh=col["wear_EUR_per_kWh"] * 1e3,
    )


def battery_to_grid_W(battery_W: FloatArray, eta_c: FloatArray | float,
                      eta_d: FloatArray | float) -> FloatArray:
    """Grid-side power that moves ``battery_W`` in or out of the cells (monotone, piecewise linear)."""
    return np.asarray(np.maximum(battery_W, 0.0) / eta_c + np.minimum(battery_W, 0.0) * eta_d,
                      dtype=np.float64)


def grid_to_battery_W(grid_W: FloatArray, eta_c: FloatArray | float,
                      eta_d: FloatArray | float) -> FloatArray:
    """Battery-side power for a grid-side power (inverse of :func:`battery_to_grid_W`)."""
    return np.asarray(np.maximum(grid_W, 0.0) * eta_c + np.minimum(grid_W, 0.0) / eta_d,
                      dtype=np.float64)
