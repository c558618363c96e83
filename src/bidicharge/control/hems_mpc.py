"""HEMS model-predictive optimiser: one linear program over a horizon of equal steps.

The home energy management system (HEMS, catalogue component of the seed's customer
domain) decides per step how much the bidirectional EV and the stationary battery charge or
discharge, given forecasts of PV generation and house load, a dynamic import tariff and a
feed-in remuneration (issue 6, item 2). The same function serves the 15-minute re-plan over
a 24–36 h horizon and the perfect-foresight solve of a whole year: nothing depends on the
horizon length, and the sparse matrix is built with numpy in blocks, never per nonzero.

Sign convention (``core/units.py``): no signed power at all; every flow is a separate
non-negative array: ``ev_charge_W`` (into the EV), ``ev_discharge_W`` (out of the EV),
``grid_import_W`` / ``grid_export_W`` at the grid connection point. Energies are the
stored energy at the *start* of each step, plus one value for the end of the horizon.

Model (per step k, step length dt; internally kW and kWh to keep HiGHS well scaled):

* power balance: import − export + (PV − curtailment) + EV out + battery out
  = house load + EV in + battery in;
* storage: E[k+1] = E[k] + η_c·in·dt − out·dt/η_d (− trip energy + bought-on-the-road
  slack for the EV while it is away);
* bounds: SoC window, wallbox and battery-inverter limits, EV power zero while unplugged,
  grid import ≤ min(connection limit, house load + §14a allowance of the controllable
  devices) — BK6-22-300 dims only the controllable devices (SteuVE), the house load is
  never dimmed, so the allowance is added to the forecast house load; export ≤ feed-in
  limit (§9 EEG); optional hybrid-inverter AC limit on PV − battery charge + battery out;
* consent: without V2H consent the EV never discharges; without V2G consent it discharges
  at most the forecast residual house load (load − PV) of the step, so its energy stays in
  the house and never reaches the grid;
* departure: E[departure] ≥ target, softened by a slack that costs
  ``shortfall_penalty_EUR_per_kWh`` so an unreachable target is *reported*
  (``departure_shortfall_Wh``), not an infeasible model;
* owner's minimum SoC for discharge (reserve): while plugged, every kWh·h below the
  reserve costs ``reserve_penalty_EUR_per_kWh_h``. Above any price spread, this makes the
  plan charge to the reserve at once after arrival (the evcc ``minSoc`` and V2G Liberty
  "car reserve" behaviour) and never discharge below it, without the non-convex
  "discharge only above the reserve" rule;
* objective: import cost − feed-in remuneration + wear cost per kWh of cell throughput
  (charge and discharge, so one full equivalent cycle of C kWh costs 2·C·wear)
  − terminal value of the energy stored at the end + penalties. Where the feed-in price
  exceeds the import price (negative spot price, fixed EEG remuneration), import is priced
  at the feed-in price so that the LP cannot import and export at once without bound.

Not modelled (linear program): the minimum charging current of a wallbox and the
one-direction-at-a-time rule of a storage; a plan may show both directions in one step
only when prices are negative enough to make burning energy in losses pay.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Final

import highspy
import numpy as np
from numpy.typing import ArrayLike, NDArray

from bidicharge.control.highs_solver import new_highs

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

_INF: Final = highspy.kHighsInf
_CURTAIL_COST_EUR_PER_KWH: Final = 1e-5  # breaks ties: never curtail PV that is worth 0 €
_SOLVERS: Final = ("simplex", "ipm", "choose")


def _frozen_array(values: ArrayLike, name: str, n: int | None = None) -> FloatArray:
    array = np.array(values, dtype=np.float64, copy=True).reshape(-1)
    if n is not None and array.shape[0] != n:
        raise ValueError(f"{name}: {array.shape[0]} values, expected one per step ({n})")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: contains NaN or infinite values")
    array.flags.writeable = False
    return array


def _check_fraction(value: float, name: str) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} = {value} is outside 0..1")


def _check_efficiency(value: float, name: str) -> None:
    if not 0.0 < value <= 1.0:
        raise ValueError(f"{name} = {value} is outside (0, 1]")


@dataclass(frozen=True, slots=True, kw_only=True)
class Departure:
    """The EV leaves at the start of ``step`` and must then hold ``target_soc``."""

    step: int
    target_soc: float

    def __post_init__(self) -> None:
        if self.step < 0:
            raise ValueError(f"departure step {self.step} is negative")
        _check_fraction(self.target_soc, "departure target_soc")


# Array-carrying dataclasses compare by identity (eq=False): element-wise numpy equality
# has no single truth value.
@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class EvProblem:
    """The vehicle behind the bidirectional wallbox, over the horizon."""

    capacity_Wh: float
    soc_initial: float
    plugged: BoolArray
    max_charge_power_W: float
    max_discharge_power_W: float = 0.0
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    soc_min: float = 0.0
    soc_max: float = 1.0
    reserve_soc: float = 0.0
    """Owner's minimum SoC for discharge: below it, charge at once; never discharge below it."""
    trip_energy_Wh: FloatArray | None = None
    """Energy taken from the battery by driving in each step (only while unplugged)."""
    departures: tuple[Departure, ...] = ()
    v2h_allowed: bool = False
    v2g_allowed: bool = False
    wear_cost_EUR_per_kWh: float = 0.0

    def __post_init__(self) -> None:
        plugged = np.array(self.plugged, dtype=np.bool_, copy=True).reshape(-1)
        plugged.flags.writeable = False
        object.__setattr__(self, "plugged", plugged)
        trip = np.zeros(plugged.shape[0]) if self.trip_energy_Wh is None else self.trip_energy_Wh
        trip_array = _frozen_array(trip, "ev.trip_energy_Wh", plugged.shape[0])
        if np.any(trip_array < 0.0):
            raise ValueError("ev.trip_energy_Wh must not be negative")
        object.__setattr__(self, "trip_energy_Wh", trip_array)
        _check_storage(self.capacity_Wh, self.soc_initial, self.soc_min, self.soc_max, "ev")
        _check_fraction(self.reserve_soc, "ev.reserve_soc")
        _check_efficiency(self.charge_efficiency, "ev.charge_efficiency")
        _check_efficiency(self.discharge_efficiency, "ev.discharge_efficiency")
        if self.max_charge_power_W < 0 or self.max_discharge_power_W < 0:
            raise ValueError("ev power limits must not be negative")
        if self.wear_cost_EUR_per_kWh < 0:
            raise ValueError("ev.wear_cost_EUR_per_kWh must not be negative")
        if self.v2g_allowed and not self.v2h_allowed:
            raise ValueError("ev.v2g_allowed needs v2h_allowed: V2G is discharge beyond the house")


def _check_storage(capacity_Wh: float, soc: float, soc_min: float, soc_max: float, who: str) -> None:
    if capacity_Wh <= 0:
        raise ValueError(f"{who}.capacity_Wh must be positive")
    for value, name in ((soc, "soc_initial"), (soc_min, "soc_min"), (soc_max, "soc_max")):
        _check_fraction(value, f"{who}.{name}")
    if soc_min > soc_max:
        raise ValueError(f"{who}.soc_min {soc_min} > soc_max {soc_max}")


@dataclass(frozen=True, slots=True, kw_only=True)
class BatteryProblem:
    """The stationary home battery and its inverter."""

    capacity_Wh: float
    soc_initial: float
    max_charge_power_W: float
    max_discharge_power_W: float
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    soc_min: float = 0.0
    soc_max: float = 1.0
    wear_cost_EUR_per_kWh: float = 0.0

    def __post_init__(self) -> None:
        _check_storage(self.capacity_Wh, self.soc_initial, self.soc_min, self.soc_max, "battery")
        _check_efficiency(self.charge_efficiency, "battery.charge_efficiency")
        _check_efficiency(self.discharge_efficiency, "battery.discharge_efficiency")
        if self.max_charge_power_W < 0 or self.max_discharge_power_W < 0:
            raise ValueError("battery power limits must not be negative")
        if self.wear_cost_EUR_per_kWh < 0:
            raise ValueError("battery.wear_cost_EUR_per_kWh must not be negative")


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class HemsProblem:
    """One planning problem: forecasts, tariff, limits and the storages, one value per step."""

    step_s: float
    pv_W: FloatArray
    load_W: FloatArray
    import_price_EUR_per_MWh: FloatArray
    export_price_EUR_per_MWh: FloatArray
    grid_import_limit_W: float = float("inf")
    import_limit_14a_W: FloatArray | None = None
    """Allowed grid draw of the controllable devices per step (§14a EnWG); ``inf`` = not dimmed."""
    export_limit_W: float = float("inf")
    inverter_limit_W: float | None = None
    """AC limit of a hybrid PV + battery inverter (DC-coupled battery), if there is one."""
    allow_pv_curtailment: bool = True
    ev: EvProblem | None = None
    battery: BatteryProblem | None = None
    terminal_value_EUR_per_kWh: float | None = None
    """Value of energy left stored at the end; ``None`` = cheapest import price of the horizon."""
    shortfall_penalty_EUR_per_kWh: float = 100.0
    reserve_penalty_EUR_per_kWh_h: float = 2.0

    def __post_init__(self) -> None:
        if self.step_s <= 0:
            raise ValueError("step_s must be positive")
        pv = _frozen_array(self.pv_W, "pv_W")
        n = pv.shape[0]
        if n == 0:
            raise ValueError("the horizon has no steps")
        load = _frozen_array(self.load_W, "load_W", n)
        if np.any(pv < 0) or np.any(load < 0):
            raise ValueError("pv_W and load_W must not be negative")
        object.__setattr__(self, "pv_W", pv)
        object.__setattr__(self, "load_W", load)
        for name in ("import_price_EUR_per_MWh", "export_price_EUR_per_MWh"):
            object.__setattr__(self, name, _frozen_array(getattr(self, name), name, n))
        limit = np.full(n, np.inf) if self.import_limit_14a_W is None else self.import_limit_14a_W
        limit_array = np.array(limit, dtype=np.float64, copy=True).reshape(-1)
        if limit_array.shape[0] != n or np.any(np.isnan(limit_array)) or np.any(limit_array < 0):
            raise ValueError("import_limit_14a_W: one non-negative value (or inf) per step")
        limit_array.flags.writeable = False
        object.__setattr__(self, "import_limit_14a_W", limit_array)
        if self.grid_import_limit_W < 0 or self.export_limit_W < 0:
            raise ValueError("grid limits must not be negative")
        if self.ev is not None and self.ev.plugged.shape[0] != n:
            raise ValueError(f"ev.plugged: {self.ev.plugged.shape[0]} values, expected {n}")

    @property
    def n_steps(self) -> int:
        return int(self.pv_W.shape[0])


class PlanStatus(enum.Enum):
    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"  # e.g. PV surplus above the feed-in limit with curtailment off
    FAILED = "failed"  # solver error or limit reached: run the fallback rule


@dataclass(frozen=True, slots=True, kw_only=True)
class SolverOptions:
    solver: str = "simplex"
    """HiGHS ``solver`` option; dual simplex is the fastest here, also for a whole year."""
    time_limit_s: float | None = None
    threads: int = 1

    def __post_init__(self) -> None:
        if self.solver not in _SOLVERS:
            raise ValueError(f"solver must be one of {_SOLVERS}")


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class HemsPlan:
    """The optimiser's answer. If ``status`` is not OPTIMAL every array is NaN."""

    status: PlanStatus
    step_s: float
    ev_charge_W: FloatArray
    ev_discharge_W: FloatArray
    battery_charge_W: FloatArray
    battery_discharge_W: FloatArray
    grid_import_W: FloatArray
    grid_export_W: FloatArray
    pv_curtailment_W: FloatArray
    ev_energy_Wh: FloatArray
    """n + 1 values: stored energy at the start of each step and at the end of the horizon."""
    battery_energy_Wh: FloatArray
    objective_EUR: float
    """LP objective, including penalties and the (negative) terminal value."""
    energy_cost_EUR: float
    """Import cost minus feed-in remuneration of the plan."""
    wear_cost_EUR: float
    departure_shortfall_Wh: float
    """Energy missing at departures (sum over departures in the horizon); 0 when all are met."""
    trip_shortfall_Wh: float
    """Energy the trips need beyond what the EV holds (bought on the road)."""
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status is PlanStatus.OPTIMAL


@dataclass(slots=True)
class _Layout:
    """Column offsets of each variable block; a block of length n starts at its offset."""

    n: int
    n_departures: int
    has_ev: bool
    has_battery: bool
    offsets: dict[str, int] = field(default_factory=dict)
    n_cols: int = 0

    def __post_init__(self) -> None:
        names = ["imp", "exp", "curt"]
        if self.has_ev:
            names += ["ev_ch", "ev_dis", "ev_road", "ev_below_reserve", "ev_E"]
        if self.has_battery:
            names += ["bat_ch", "bat_dis", "bat_E"]
        for name in names:
            self.offsets[name] = self.n_cols
            self.n_cols += self.n
        self.offsets["dep_slack"] = self.n_cols
        self.n_cols += self.n_departures

    def cols(self, name: str) -> NDArray[np.int32]:
        start = self.offsets[name]
        return np.arange(start, start + self.n, dtype=np.int32)


class _Rows:
    """Rows collected in blocks; entries with column −1 are absent."""

    def __init__(self) -> None:
        self._cols: list[NDArray[np.int32]] = []
        self._vals: list[FloatArray] = []
        self._lower: list[FloatArray] = []
        self._upper: list[FloatArray] = []

    def add(self, cols: list[NDArray[np.int32]], vals: list[FloatArray | float],
            lower: FloatArray | float, upper: FloatArray | float) -> None:
        n = cols[0].shape[0]
        self._cols.append(np.stack(cols, axis=1).astype(np.int32))
        self._vals.append(np.stack([np.broadcast_to(np.asarray(v, dtype=np.float64), (n,))
                                    for v in vals], axis=1))
        self._lower.append(np.broadcast_to(np.asarray(lower, dtype=np.float64), (n,)))
        self._upper.append(np.broadcast_to(np.asarray(upper, dtype=np.float64), (n,)))

    def rowwise(self) -> tuple[FloatArray, FloatArray, NDArray[np.int32], NDArray[np.int32], FloatArray]:
        starts: list[NDArray[np.int64]] = []
        index: list[NDArray[np.int32]] = []
        value: list[FloatArray] = []
        offset = 0
        for cols, vals in zip(self._cols, self._vals, strict=True):
            mask = (cols >= 0) & (vals != 0.0)
            counts = mask.sum(axis=1)
            starts.append(offset + np.concatenate(([0], np.cumsum(counts)[:-1])))
            offset += int(counts.sum())
            index.append(cols[mask])
            value.append(vals[mask])
        starts.append(np.array([offset]))
        return (np.concatenate(self._lower), np.concatenate(self._upper),
                np.concatenate(starts).astype(np.int32), np.concatenate(index), np.concatenate(value))


def plan(problem: HemsProblem, *, options: SolverOptions | None = None) -> HemsPlan:
    """Solve the HEMS LP for ``problem``; never raises on an infeasible or failed solve."""
    options = SolverOptions() if options is None else options
    departures = _departures_in_horizon(problem)
    layout = _Layout(n=problem.n_steps, n_departures=len(departures),
                     has_ev=problem.ev is not None, has_battery=problem.battery is not None)
    cost, lower, upper = _columns(problem, layout)
    rows = _rows(problem, layout, departures)
    row_lower, row_upper, start, index, value = rows.rowwise()

    highs = new_highs(threads=options.threads)
    highs.setOptionValue("solver", options.solver)
    if options.time_limit_s is not None:
        highs.setOptionValue("time_limit", options.time_limit_s)
    rowwise_format = 2
    continuous = np.zeros(layout.n_cols, dtype=np.int32)
    highs.passModel(layout.n_cols, row_lower.shape[0], index.shape[0], rowwise_format, 1, 0.0,
                    cost, lower, upper, row_lower, row_upper, start, index, value, continuous)
    highs.run()
    model_status = highs.getModelStatus()
    if model_status != highspy.HighsModelStatus.kOptimal:
        status = (PlanStatus.INFEASIBLE if model_status == highspy.HighsModelStatus.kInfeasible
                  else PlanStatus.FAILED)
        return _failed_plan(problem, status, highs.modelStatusToString(model_status))
    x = np.asarray(highs.getSolution().col_value, dtype=np.float64)
    return _read_plan(problem, layout, x, float(highs.getInfo().objective_function_value))


def _departures_in_horizon(problem: HemsProblem) -> list[Departure]:
    if problem.ev is None:
        return []
    return [d for d in problem.ev.departures if 1 <= d.step <= problem.n_steps]


def _terminal_value(problem: HemsProblem) -> float:
    if problem.terminal_value_EUR_per_kWh is not None:
        return problem.terminal_value_EUR_per_kWh
    return max(0.0, float(problem.import_price_EUR_per_MWh.min()) / 1000.0)


def _energy_bounds(capacity_Wh: float, soc: float, soc_min: float, soc_max: float) -> tuple[float, float]:
    # A measured SoC outside the window must not make the model infeasible: widen to it.
    return (min(soc_min, soc) * capacity_Wh / 1000.0, max(soc_max, soc) * capacity_Wh / 1000.0)


def _columns(problem: HemsProblem, layout: _Layout) -> tuple[FloatArray, FloatArray, FloatArray]:
    n, dt_h = layout.n, problem.step_s / 3600.0
    cost = np.zeros(layout.n_cols)
    lower = np.zeros(layout.n_cols)
    upper = np.full(layout.n_cols, _INF)
    o = layout.offsets
    pv_kW, load_kW = problem.pv_W / 1000.0, problem.load_W / 1000.0
    assert problem.import_limit_14a_W is not None
    imp_limit = np.minimum(problem.grid_import_limit_W, problem.load_W + problem.import_limit_14a_W)
    imp_ub = np.maximum(imp_limit, 0.0) / 1000.0
    # The meter nets import and export within a step, so the cost of the net flow is convex
    # only while import ≥ feed-in price. Where feed-in pays more (negative spot price, fixed
    # EEG remuneration) the LP would import and export at once without end; it prices
    # import at the feed-in price there instead (never inventing an arbitrage).
    import_price = np.maximum(problem.import_price_EUR_per_MWh, problem.export_price_EUR_per_MWh)
    _block(cost, lower, upper, o["imp"], n, import_price / 1000.0 * dt_h, imp_ub)
    exp_ub = np.full(n, problem.export_limit_W / 1000.0)
    _block(cost, lower, upper, o["exp"], n, -problem.export_price_EUR_per_MWh / 1000.0 * dt_h, exp_ub)
    curt_ub = pv_kW if problem.allow_pv_curtailment else np.zeros(n)
    _block(cost, lower, upper, o["curt"], n, np.full(n, _CURTAIL_COST_EUR_PER_KWH * dt_h), curt_ub)
    terminal = _terminal_value(problem)
    ev = problem.ev
    if ev is not None:
        assert ev.trip_energy_Wh is not None
        plugged = ev.plugged.astype(np.float64)
        wear = ev.wear_cost_EUR_per_kWh * dt_h
        _block(cost, lower, upper, o["ev_ch"], n, np.full(n, wear * ev.charge_efficiency),
               plugged * ev.max_charge_power_W / 1000.0)
        dis_ub = plugged * ev.max_discharge_power_W / 1000.0 * float(ev.v2h_allowed)
        if not ev.v2g_allowed:
            dis_ub = np.minimum(dis_ub, np.maximum(load_kW - pv_kW, 0.0))
        _block(cost, lower, upper, o["ev_dis"], n, np.full(n, wear / ev.discharge_efficiency), dis_ub)
        _block(cost, lower, upper, o["ev_road"], n, np.full(n, problem.shortfall_penalty_EUR_per_kWh),
               ev.trip_energy_Wh / 1000.0)
        _block(cost, lower, upper, o["ev_below_reserve"], n,
               np.full(n, problem.reserve_penalty_EUR_per_kWh_h * dt_h), np.full(n, _INF))
        e_lo, e_hi = _energy_bounds(ev.capacity_Wh, ev.soc_initial, ev.soc_min, ev.soc_max)
        _block(cost, lower, upper, o["ev_E"], n, np.zeros(n), np.full(n, e_hi), np.full(n, e_lo))
        cost[o["ev_E"] + n - 1] = -terminal
    bat = problem.battery
    if bat is not None:
        wear = bat.wear_cost_EUR_per_kWh * dt_h
        _block(cost, lower, upper, o["bat_ch"], n, np.full(n, wear * bat.charge_efficiency),
               np.full(n, bat.max_charge_power_W / 1000.0))
        _block(cost, lower, upper, o["bat_dis"], n, np.full(n, wear / bat.discharge_efficiency),
               np.full(n, bat.max_discharge_power_W / 1000.0))
        e_lo, e_hi = _energy_bounds(bat.capacity_Wh, bat.soc_initial, bat.soc_min, bat.soc_max)
        _block(cost, lower, upper, o["bat_E"], n, np.zeros(n), np.full(n, e_hi), np.full(n, e_lo))
        cost[o["bat_E"] + n - 1] = -terminal
    cost[o["dep_slack"]:] = problem.shortfall_penalty_EUR_per_kWh
    return cost, lower, upper


def _block(cost: FloatArray, lower: FloatArray, upper: FloatArray, start: int, n: int,
           block_cost: FloatArray, block_upper: FloatArray, block_lower: FloatArray | None = None) -> None:
    cost[start:start + n] = block_cost
    upper[start:start + n] = block_upper
    if block_lower is not None:
        lower[start:start + n] = block_lower


def _rows(problem: HemsProblem, layout: _Layout, departures: list[Departure]) -> _Rows:
    n, dt_h = layout.n, problem.step_s / 3600.0
    rows = _Rows()
    absent = np.full(n, -1, dtype=np.int32)
    # Power balance: imp − exp − curt + ev_dis − ev_ch + bat_dis − bat_ch = load − PV.
    cols = [layout.cols("imp"), layout.cols("exp"), layout.cols("curt")]
    vals: list[FloatArray | float] = [1.0, -1.0, -1.0]
    if layout.has_ev:
        cols += [layout.cols("ev_dis"), layout.cols("ev_ch")]
        vals += [1.0, -1.0]
    if layout.has_battery:
        cols += [layout.cols("bat_dis"), layout.cols("bat_ch")]
        vals += [1.0, -1.0]
    net_load = (problem.load_W - problem.pv_W) / 1000.0
    rows.add(cols, vals, net_load, net_load)

    ev = problem.ev
    if ev is not None:
        assert ev.trip_energy_Wh is not None
        e0 = ev.soc_initial * ev.capacity_Wh / 1000.0
        trip = ev.trip_energy_Wh / 1000.0
        # E[k+1] − E[k] − η_c·dt·ch + dt/η_d·dis − road = −trip   (E[0] is a constant)
        e_prev = np.concatenate(([-1], layout.cols("ev_E")[:-1])).astype(np.int32)
        rhs = np.concatenate(([e0], np.zeros(n - 1))) - trip
        rows.add([layout.cols("ev_E"), e_prev, layout.cols("ev_ch"), layout.cols("ev_dis"),
                  layout.cols("ev_road")],
                 [1.0, -1.0, -ev.charge_efficiency * dt_h, dt_h / ev.discharge_efficiency, -1.0],
                 rhs, rhs)
        # E[k+1] + below_reserve ≥ reserve while plugged (softened, see the module docstring).
        reserve = np.where(ev.plugged, ev.reserve_soc * ev.capacity_Wh / 1000.0, -_INF)
        rows.add([layout.cols("ev_E"), layout.cols("ev_below_reserve")], [1.0, 1.0], reserve, _INF)
        if departures:
            steps = np.array([d.step for d in departures], dtype=np.int32)
            target = np.array([d.target_soc * ev.capacity_Wh / 1000.0 for d in departures])
            slack = np.arange(layout.offsets["dep_slack"], layout.n_cols, dtype=np.int32)
            rows.add([layout.offsets["ev_E"] + steps - 1, slack], [1.0, 1.0], target, _INF)
    bat = problem.battery
    if bat is not None:
        e0 = bat.soc_initial * bat.capacity_Wh / 1000.0
        e_prev = np.concatenate(([-1], layout.cols("bat_E")[:-1])).astype(np.int32)
        rhs = np.concatenate(([e0], np.zeros(n - 1)))
        rows.add([layout.cols("bat_E"), e_prev, layout.cols("bat_ch"), layout.cols("bat_dis")],
                 [1.0, -1.0, -bat.charge_efficiency * dt_h, dt_h / bat.discharge_efficiency], rhs, rhs)
    if problem.inverter_limit_W is not None:
        # Hybrid inverter AC side: PV − curtailment − battery in + battery out within ±limit.
        limit = problem.inverter_limit_W / 1000.0
        bat_cols = ([layout.cols("bat_ch"), layout.cols("bat_dis")] if layout.has_battery
                    else [absent, absent])
        pv_kW = problem.pv_W / 1000.0
        rows.add([layout.cols("curt"), *bat_cols], [-1.0, -1.0, 1.0], -limit - pv_kW, limit - pv_kW)
    return rows


def _failed_plan(problem: HemsProblem, status: PlanStatus, message: str) -> HemsPlan:
    n = problem.n_steps
    nan, nan1 = np.full(n, np.nan), np.full(n + 1, np.nan)
    return HemsPlan(status=status, step_s=problem.step_s, ev_charge_W=nan, ev_discharge_W=nan,
                    battery_charge_W=nan, battery_discharge_W=nan, grid_import_W=nan, grid_export_W=nan,
                    pv_curtailment_W=nan, ev_energy_Wh=nan1, battery_energy_Wh=nan1,
                    objective_EUR=float("nan"), energy_cost_EUR=float("nan"), wear_cost_EUR=float("nan"),
                    departure_shortfall_Wh=float("nan"), trip_shortfall_Wh=float("nan"), message=message)


def _read_plan(problem: HemsProblem, layout: _Layout, x: FloatArray, objective: float) -> HemsPlan:
    n, dt_h = layout.n, problem.step_s / 3600.0
    o = layout.offsets

    def block_W(name: str) -> FloatArray:
        if name not in o:
            return np.zeros(n)
        return np.maximum(x[o[name]:o[name] + n], 0.0) * 1000.0

    imp, exp = block_W("imp"), block_W("exp")
    # The meter nets import and export within a step; an LP may show both only when
    # feed-in pays more than import costs.
    both = np.minimum(imp, exp)
    imp, exp = imp - both, exp - both
    ev_ch, ev_dis = block_W("ev_ch"), block_W("ev_dis")
    bat_ch, bat_dis = block_W("bat_ch"), block_W("bat_dis")
    wear = 0.0
    ev_E, bat_E = np.zeros(n + 1), np.zeros(n + 1)
    departure_shortfall = trip_shortfall = 0.0
    if problem.ev is not None:
        ev = problem.ev
        ev_E = np.concatenate(([ev.soc_initial * ev.capacity_Wh], block_W("ev_E")))
        wear += _wear_EUR(ev_ch, ev_dis, ev.charge_efficiency, ev.discharge_efficiency,
                          ev.wear_cost_EUR_per_kWh, dt_h)
        departure_shortfall = float(x[o["dep_slack"]:].sum() * 1000.0)
        departure_shortfall += sum(max(0.0, d.target_soc * ev.capacity_Wh - ev_E[0])
                                   for d in ev.departures if d.step == 0)
        trip_shortfall = float(block_W("ev_road").sum())
    if problem.battery is not None:
        bat = problem.battery
        bat_E = np.concatenate(([bat.soc_initial * bat.capacity_Wh], block_W("bat_E")))
        wear += _wear_EUR(bat_ch, bat_dis, bat.charge_efficiency, bat.discharge_efficiency,
                          bat.wear_cost_EUR_per_kWh, dt_h)
    energy_cost = float(np.sum(imp * problem.import_price_EUR_per_MWh - exp * problem.export_price_EUR_per_MWh)
                        * dt_h / 1e6)
    return HemsPlan(status=PlanStatus.OPTIMAL, step_s=problem.step_s, ev_charge_W=ev_ch, ev_discharge_W=ev_dis,
                    battery_charge_W=bat_ch, battery_discharge_W=bat_dis, grid_import_W=imp, grid_export_W=exp,
                    pv_curtailment_W=block_W("curt"), ev_energy_Wh=ev_E, battery_energy_Wh=bat_E,
                    objective_EUR=objective, energy_cost_EUR=energy_cost, wear_cost_EUR=wear,
                    departure_shortfall_Wh=max(0.0, departure_shortfall),
                    trip_shortfall_Wh=max(0.0, trip_shortfall))


def _wear_EUR(charge_W: FloatArray, discharge_W: FloatArray, eta_c: float, eta_d: float,
              wear_EUR_per_kWh: float, dt_h: float) -> float:
    throughput_kWh = (charge_W.sum() * eta_c + discharge_W.sum() / eta_d) * dt_h / 1000.0
    return float(throughput_kWh * wear_EUR_per_kWh)
