"""The DSO's §14a grid controller for one low-voltage grid: detect, dim the fewest, release.

Each call of :func:`decide` is one control cycle (e.g. every minute), a pure function of the
grid model, the controllable units, the previous :class:`ControllerState`, the TAF 10
grid-state data (net power per household connection point, power per controllable unit) and
``now_s``:

1. **Detect** violations of the transformer loading (100 %), line loading (100 %), the voltage
   band 0.90–1.10 pu (EN 50160) and the 3 % voltage rise from feed-in (VDE-AR-N 4105 §5.3), on
   the measured powers and on a one-step-ahead forecast (persistence plus a damped trend).
2. **Dim** while a consumption-side violation remains: rank the units by how much they can
   relieve the violated asset (sensitivity × power above their guaranteed minimum) and dim
   the fewest, the last one only as far as needed, re-check with the power flow, repeat. No
   limit is ever below the unit's §14a minimum (BK6-22-300 Tenor 4.2; EMS: n × 4.2 kW × GZF,
   Anlage 1 §4.5.2). What cannot be fixed is reported with the reason: all units below the
   asset at their minimum, or feed-in (V2G export is not §14a; it is limited under §9 EEG /
   EEBUS LPP).
3. **Release** with hysteresis once nothing is violated: a unit dimmed for at least
   ``min_hold_s`` is released (longest-dimmed first) when the grid with that unit back at its
   demand stays below the release thresholds (transformer/line 90 %, voltage ≥ 0.92 pu);
   otherwise its limit is raised as far as those thresholds allow (dimming only as far and as
   long as necessary, BK6-22-300).
4. **Renew** commands before they expire (the control box falls back to unlimited at the end
   of a command's duration).

Units are what the DSO addresses: a device under direct control or an EMS with all SteuVE of a
home (mixed direct/EMS control in one home is refused, evcc PR 15119).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Final, NewType

import numpy as np
import numpy.typing as npt

from bidicharge.control.section14a import (
    DEFAULT_GZF_FORMULATION,
    ControllableDevice,
    DeviceId,
    GzfFormulation,
    device_minimum_W,
    ems_minimum_W,
)
from bidicharge.physics.lv_grid import FloatArray, GridResult, HouseholdId, LvGrid, solve_fast_batch

UnitId = NewType("UnitId", str)
LIMIT_STEP_W: Final = 100.0  # limits are rounded down to 100 W, never below the minimum


@dataclass(frozen=True, slots=True, kw_only=True)
class ControllableUnit:
    unit_id: UnitId
    household_id: HouseholdId
    devices: tuple[ControllableDevice, ...]
    via_ems: bool = False

    def __post_init__(self) -> None:
        if not self.devices:
            raise ValueError(f"{self.unit_id}: a unit needs at least one device")
        if not self.via_ems and len(self.devices) != 1:
            raise ValueError(f"{self.unit_id}: several devices must be controlled through an EMS")

    def minimum_W(self, formulation: GzfFormulation = DEFAULT_GZF_FORMULATION) -> float:
        if self.via_ems:
            return ems_minimum_W(self.devices, formulation)
        return device_minimum_W(self.devices[0])


@dataclass(frozen=True, slots=True, kw_only=True)
class GridLimits:
    transformer_max_pct: float = 100.0
    line_max_pct: float = 100.0
    v_min_pu: float = 0.90  # EN 50160: 230 V -10 %
    v_max_pu: float = 1.10  # EN 50160: 230 V +10 %
    voltage_rise_max_pu: float = 0.03  # VDE-AR-N 4105: rise caused by feed-in in LV


@dataclass(frozen=True, slots=True, kw_only=True)
class ControllerConfig:
    limits: GridLimits = field(default_factory=GridLimits)
    dim_margin_pct: float = 3.0
    """Dim to this far below a loading limit (and 0.01 pu above v_min) so noise does not re-trigger."""
    release_transformer_pct: float = 90.0
    release_line_pct: float = 90.0
    release_v_min_pu: float = 0.92
    min_hold_s: float = 900.0
    """A unit stays dimmed at least this long, and its limit is raised at most this often."""
    raise_step_W: float = 1000.0
    """Raise a limit only by at least this much (fewer commands on the CLS channel)."""
    command_duration_s: float = 3600.0
    renew_before_s: float = 300.0
    forecast_trend_weight: float = 0.5
    max_iterations: int = 25
    gzf_formulation: GzfFormulation = DEFAULT_GZF_FORMULATION
    command_id_prefix: str = "dso"


class ViolationKind(StrEnum):
    TRANSFORMER_OVERLOAD = "transformer_overload"
    LINE_OVERLOAD = "line_overload"
    UNDERVOLTAGE = "undervoltage"
    OVERVOLTAGE = "overvoltage"
    VOLTAGE_RISE = "voltage_rise"


FEED_IN_KINDS: Final = frozenset({ViolationKind.OVERVOLTAGE, ViolationKind.VOLTAGE_RISE})


@dataclass(frozen=True, slots=True, kw_only=True)
class Violation:
    kind: ViolationKind
    asset: str  # "transformer", a line name or a bus name
    value: float  # % loading or pu voltage (rise in pu)
    limit: float
    forecast: bool = False

    @property
    def severity(self) -> float:
        """Relative excess over the limit (0.05 = 5 % beyond)."""
        if self.kind is ViolationKind.UNDERVOLTAGE:
            return (self.limit - self.value) / self.limit
        return (self.value - self.limit) / self.limit


@dataclass(frozen=True, slots=True, kw_only=True)
class Unresolved:
    violation: Violation
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DimmingCommand:
    """Limit the grid draw of a unit (one device, or all SteuVE behind an EMS) from ``start_s``.

    The receiver turns ``limit_W`` into a current with the device's own phase count
    (``section14a.current_limit_A``): 4.2 kW is 18.3 A on a single-phase device.
    """

    command_id: str
    unit_id: UnitId
    household_id: HouseholdId
    device_ids: tuple[DeviceId, ...]
    limit_W: float
    start_s: float
    duration_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseCommand:
    command_id: str
    unit_id: UnitId
    household_id: HouseholdId
    releases_command_id: str
    at_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ActiveDimming:
    unit_id: UnitId
    command_id: str
    limit_W: float
    since_s: float
    start_s: float
    duration_s: float
    demand_W: float
    """What the unit would draw undimmed (reported by the HEMS, else its draw before dimming)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ControllerState:
    active: Mapping[UnitId, ActiveDimming] = field(default_factory=dict)
    previous_household_power_W: Mapping[HouseholdId, float] | None = None
    next_command_no: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Observation:
    """TAF 10 grid-state data for one cycle (W, positive = drawn from the grid)."""

    household_power_W: Mapping[HouseholdId, float]
    unit_power_W: Mapping[UnitId, float]
    unit_demand_W: Mapping[UnitId, float] = field(default_factory=dict)
    forecast_household_power_W: Mapping[HouseholdId, float] | None = None
    """Next cycle's powers from an external forecast; without it: persistence plus a damped trend."""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Decision:
    state: ControllerState
    commands: tuple[DimmingCommand, ...]
    releases: tuple[ReleaseCommand, ...]
    violations: tuple[Violation, ...]
    """Found on the measured and forecast powers, before this cycle's action."""
    unresolved: tuple[Unresolved, ...]
    measured: GridResult
    planned: GridResult
    """The grid as this cycle expects it after its commands (worst of measured and forecast)."""


def detect(
    grid: LvGrid,
    result: GridResult,
    limits: GridLimits,
    *,
    noload_v_pu: FloatArray | None = None,
    forecast: bool = False,
) -> list[Violation]:
    """Every violated limit in one power-flow result."""
    out: list[Violation] = []
    if result.transformer_loading_pct > limits.transformer_max_pct:
        out.append(
            Violation(
                kind=ViolationKind.TRANSFORMER_OVERLOAD,
                asset="transformer",
                value=result.transformer_loading_pct,
                limit=limits.transformer_max_pct,
                forecast=forecast,
            )
        )
    for i in np.flatnonzero(result.line_loading_pct > limits.line_max_pct):
        out.append(
            Violation(
                kind=ViolationKind.LINE_OVERLOAD,
                asset=grid.line_names[i],
                value=float(result.line_loading_pct[i]),
                limit=limits.line_max_pct,
                forecast=forecast,
            )
        )
    for i in np.flatnonzero(result.bus_voltage_pu < limits.v_min_pu):
        out.append(
            Violation(
                kind=ViolationKind.UNDERVOLTAGE,
                asset=grid.bus_names[i],
                value=float(result.bus_voltage_pu[i]),
                limit=limits.v_min_pu,
                forecast=forecast,
            )
        )
    for i in np.flatnonzero(result.bus_voltage_max_pu > limits.v_max_pu):
        out.append(
            Violation(
                kind=ViolationKind.OVERVOLTAGE,
                asset=grid.bus_names[i],
                value=float(result.bus_voltage_max_pu[i]),
                limit=limits.v_max_pu,
                forecast=forecast,
            )
        )
    if noload_v_pu is not None:
        rise = result.bus_voltage_max_pu - noload_v_pu
        for i in np.flatnonzero(rise > limits.voltage_rise_max_pu):
            out.append(
                Violation(
                    kind=ViolationKind.VOLTAGE_RISE,
                    asset=grid.bus_names[i],
                    value=float(rise[i]),
                    limit=limits.voltage_rise_max_pu,
                    forecast=forecast,
                )
            )
    return out


def _check_units(grid: LvGrid, units: Sequence[ControllableUnit]) -> None:
    known = set(grid.household_ids)
    per_home: dict[HouseholdId, list[ControllableUnit]] = {}
    for u in units:
        if u.household_id not in known:
            raise ValueError(f"unit {u.unit_id}: unknown household {u.household_id}")
        per_home.setdefault(u.household_id, []).append(u)
    for home, us in per_home.items():
        if any(u.via_ems for u in us) and len(us) > 1:
            raise ValueError(f"{home}: mixed direct and EMS control of SteuVE is not allowed")


@dataclass(slots=True)
class _Plan:
    """Working data of one cycle (mutable, local to :func:`decide`)."""

    grid: LvGrid
    units: Sequence[ControllableUnit]
    unit_home: npt.NDArray[np.intp]
    unit_power_W: FloatArray
    minimum_W: FloatArray
    limit_W: FloatArray  # inf = not dimmed
    base_W: FloatArray  # planning household powers with every unit at its measured draw

    def powers(self) -> FloatArray:
        cut = np.maximum(self.unit_power_W - self.limit_W, 0.0)
        p = self.base_W.copy()
        np.add.at(p, self.unit_home, -cut)
        return p

    def headroom_W(self) -> FloatArray:
        return np.maximum(np.minimum(self.unit_power_W, self.limit_W) - self.minimum_W, 0.0)


def _sensitivity(grid: LvGrid, v: Violation, unit_home: npt.NDArray[np.intp]) -> FloatArray:
    """Per unit: relief of the violated quantity (% loading or pu voltage) per W dimmed."""
    if v.kind is ViolationKind.TRANSFORMER_OVERLOAD:
        # every home's current passes the transformer; loading is current-based, V ~ 1 pu
        return np.full(len(unit_home), 100.0 / grid.transformer_rating_VA)
    if v.kind is ViolationKind.LINE_OVERLOAD:
        li = grid.line_names.index(v.asset)
        rating_VA = math.sqrt(3.0) * 400.0 * float(grid.line_rating_A[li])
        return np.asarray(grid.line_share()[li, unit_home] * 100.0 / rating_VA, dtype=np.float64)
    bi = grid.bus_index(v.asset)
    return np.asarray(-grid.voltage_sensitivity_pu_per_W()[bi, unit_home], dtype=np.float64)


def _needed(v: Violation, config: ControllerConfig) -> float:
    if v.kind is ViolationKind.UNDERVOLTAGE:
        return v.limit + 0.01 - v.value
    return v.value - (v.limit - config.dim_margin_pct)


def _dim_for(plan: _Plan, v: Violation, config: ControllerConfig) -> list[int]:
    """Lower limits of the fewest units to relieve ``v``; returns the units changed."""
    sens = _sensitivity(plan.grid, v, plan.unit_home)
    headroom = plan.headroom_W()
    relief = sens * headroom
    order = sorted(
        (i for i in range(len(relief)) if relief[i] > 1e-9 and sens[i] > 1e-3 * sens.max()),
        key=lambda i: (-relief[i], plan.units[i].unit_id),
    )
    needed = _needed(v, config)
    changed: list[int] = []
    for i in order:
        if needed <= 0:
            break
        cut = min(headroom[i], needed / sens[i])
        current = min(plan.unit_power_W[i], plan.limit_W[i])
        limit = max(plan.minimum_W[i], math.floor((current - cut) / LIMIT_STEP_W) * LIMIT_STEP_W)
        needed -= sens[i] * (current - limit)
        plan.limit_W[i] = limit
        changed.append(i)
    return changed


def _solve(grid: LvGrid, cases: Sequence[FloatArray]) -> list[GridResult]:
    batch = solve_fast_batch(grid, np.vstack(cases))
    return [batch.case(i) for i in range(len(cases))]


def decide(
    grid: LvGrid,
    units: Sequence[ControllableUnit],
    config: ControllerConfig,
    state: ControllerState,
    observation: Observation,
    now_s: float,
) -> Decision:
    """One control cycle; see the module docstring."""
    _check_units(grid, units)
    hh_index = {h: i for i, h in enumerate(grid.household_ids)}
    measured = np.array([observation.household_power_W.get(h, 0.0) for h in grid.household_ids])
    forecast = measured.copy()
    if observation.forecast_household_power_W is not None:
        given = observation.forecast_household_power_W
        forecast = np.array([given.get(h, measured[i]) for i, h in enumerate(grid.household_ids)])
    elif state.previous_household_power_W is not None:
        prev = np.array([state.previous_household_power_W.get(h, 0.0) for h in grid.household_ids])
        forecast = measured + config.forecast_trend_weight * (measured - prev)
    unit_home = np.array([hh_index[u.household_id] for u in units], dtype=np.intp)
    unit_power = np.array([observation.unit_power_W.get(u.unit_id, 0.0) for u in units])
    limit = np.array(
        [state.active[u.unit_id].limit_W if u.unit_id in state.active else math.inf for u in units]
    )
    minimum = np.array([u.minimum_W(config.gzf_formulation) for u in units])

    noload, res_meas, res_fcst = _solve(grid, [np.zeros_like(measured), measured, forecast])
    violations = detect(grid, res_meas, config.limits, noload_v_pu=noload.bus_voltage_pu) + [
        v for v in detect(grid, res_fcst, config.limits, noload_v_pu=noload.bus_voltage_pu, forecast=True)
    ]
    plan = _Plan(
        grid=grid,
        units=units,
        unit_home=unit_home,
        unit_power_W=unit_power,
        minimum_W=minimum,
        limit_W=limit.copy(),
        base_W=np.maximum(measured, forecast),
    )
    planned, unresolved, changed = _dim_loop(plan, config)
    unresolved += [
        Unresolved(violation=v, reason="feed-in: not §14a (export limits under §9 EEG / EEBUS LPP)")
        for v in detect(grid, planned, config.limits, noload_v_pu=noload.bus_voltage_pu)
        if v.kind in FEED_IN_KINDS
    ]

    book = _Book(config=config, now_s=now_s, active=dict(state.active), next_no=state.next_command_no)
    for i in sorted(changed):
        book.dim(
            units[i],
            float(plan.limit_W[i]),
            observation.unit_demand_W.get(units[i].unit_id, float(unit_power[i])),
        )
    _learn_demand(book.active, units, unit_power, observation)
    if not violations and not book.commands:
        released, raised = _release(plan, units, book.active, config, now_s)
        for i in released:
            book.release(units[i])
        for i, limit_W in raised.items():
            book.dim(units[i], limit_W, book.active[units[i].unit_id].demand_W)
        if released or raised:
            planned = _solve(grid, [plan.powers()])[0]
    book.renew_expiring({u.unit_id: u for u in units})

    new_state = ControllerState(
        active=book.active,
        next_command_no=book.next_no,
        previous_household_power_W=dict(observation.household_power_W),
    )
    return Decision(
        state=new_state,
        commands=tuple(book.commands),
        releases=tuple(book.releases),
        violations=tuple(violations),
        unresolved=tuple(unresolved),
        measured=res_meas,
        planned=planned,
    )


@dataclass(slots=True)
class _Book:
    """The cycle's command book: active limits, new command ids, commands and releases (local)."""

    config: ControllerConfig
    now_s: float
    active: dict[UnitId, ActiveDimming]
    next_no: int
    commands: list[DimmingCommand] = field(default_factory=list)
    releases: list[ReleaseCommand] = field(default_factory=list)

    def _new_id(self) -> str:
        cid = f"{self.config.command_id_prefix}-{self.next_no}"
        self.next_no += 1
        return cid

    def _command(self, u: ControllableUnit, limit_W: float) -> DimmingCommand:
        cmd = DimmingCommand(
            command_id=self._new_id(),
            unit_id=u.unit_id,
            household_id=u.household_id,
            device_ids=tuple(d.device_id for d in u.devices),
            limit_W=limit_W,
            start_s=self.now_s,
            duration_s=self.config.command_duration_s,
        )
        self.commands.append(cmd)
        return cmd

    def dim(self, u: ControllableUnit, limit_W: float, demand_W: float) -> None:
        old = self.active.get(u.unit_id)
        if old is not None and old.limit_W == limit_W:
            return
        cmd = self._command(u, limit_W)
        self.active[u.unit_id] = ActiveDimming(
            unit_id=u.unit_id,
            command_id=cmd.command_id,
            limit_W=limit_W,
            since_s=self.now_s if old is None else old.since_s,
            start_s=self.now_s,
            duration_s=cmd.duration_s,
            demand_W=demand_W if old is None else max(old.demand_W, demand_W),
        )

    def release(self, u: ControllableUnit) -> None:
        a = self.active.pop(u.unit_id)
        self.releases.append(
            ReleaseCommand(
                command_id=self._new_id(),
                unit_id=u.unit_id,
                household_id=u.household_id,
                releases_command_id=a.command_id,
                at_s=self.now_s,
            )
        )

    def renew_expiring(self, units: Mapping[UnitId, ControllableUnit]) -> None:
        """A command ends at start + duration (the control box then lifts the limit): renew it first."""
        renewed = {c.unit_id for c in self.commands}
        for uid, a in list(self.active.items()):
            if uid in renewed or self.now_s < a.start_s + a.duration_s - self.config.renew_before_s:
                continue
            cmd = self._command(units[uid], a.limit_W)
            self.active[uid] = replace(
                a, command_id=cmd.command_id, start_s=self.now_s, duration_s=cmd.duration_s
            )


def _learn_demand(
    active: dict[UnitId, ActiveDimming],
    units: Sequence[ControllableUnit],
    unit_power: FloatArray,
    observation: Observation,
) -> None:
    """A dimmed unit's demand: reported by the HEMS, or learnt when it draws clearly less than allowed."""
    for i, u in enumerate(units):
        a = active.get(u.unit_id)
        if a is None:
            continue
        if u.unit_id in observation.unit_demand_W:
            active[u.unit_id] = replace(a, demand_W=observation.unit_demand_W[u.unit_id])
        elif unit_power[i] < a.limit_W - LIMIT_STEP_W:
            active[u.unit_id] = replace(a, demand_W=float(unit_power[i]))


def _dim_loop(plan: _Plan, config: ControllerConfig) -> tuple[GridResult, list[Unresolved], set[int]]:
    changed: set[int] = set()
    given_up: dict[tuple[ViolationKind, str], Violation] = {}
    result = _solve(plan.grid, [plan.powers()])[0]
    for _ in range(config.max_iterations):
        fixable = [
            v
            for v in detect(plan.grid, result, config.limits)
            if v.kind not in FEED_IN_KINDS and (v.kind, v.asset) not in given_up
        ]
        if not fixable:
            break
        worst = max(fixable, key=lambda v: v.severity)
        touched = _dim_for(plan, worst, config)
        if not touched:
            given_up[worst.kind, worst.asset] = worst
            continue
        changed.update(touched)
        result = _solve(plan.grid, [plan.powers()])[0]
    remaining = {
        (v.kind, v.asset): v for v in detect(plan.grid, result, config.limits) if v.kind not in FEED_IN_KINDS
    }
    unresolved = [
        Unresolved(violation=v, reason="every unit that relieves it is at its §14a minimum")
        for v in remaining.values()
    ]
    return result, unresolved, changed


def _below_release(r: GridResult, config: ControllerConfig) -> bool:
    return (
        r.transformer_loading_pct < config.release_transformer_pct
        and r.max_line_loading_pct < config.release_line_pct
        and r.vmin_pu >= config.release_v_min_pu
    )


def _over_release_W(plan: _Plan, r: GridResult, i: int, config: ControllerConfig) -> float:
    """How many W less unit ``i`` must draw to bring ``r`` below the release thresholds (linear)."""
    grid = plan.grid
    home = plan.unit_home[i : i + 1]
    needed = (r.transformer_loading_pct - config.release_transformer_pct) / 100.0 * grid.transformer_rating_VA
    over = np.flatnonzero(r.line_loading_pct >= config.release_line_pct)
    if over.size:
        share = grid.line_share()[over][:, home[0]]
        rating_VA = math.sqrt(3.0) * 400.0 * grid.line_rating_A[over]
        with np.errstate(divide="ignore"):
            per_line = (r.line_loading_pct[over] - config.release_line_pct) / 100.0 * rating_VA / share
        needed = max(needed, float(per_line.max()))
    if r.vmin_pu < config.release_v_min_pu:
        bus = int(np.argmin(r.bus_voltage_pu))
        sens = -float(grid.voltage_sensitivity_pu_per_W()[bus, home[0]])
        needed = max(needed, (config.release_v_min_pu - r.vmin_pu) / sens if sens > 0 else math.inf)
    return needed


def _release(
    plan: _Plan,
    units: Sequence[ControllableUnit],
    active: dict[UnitId, ActiveDimming],
    config: ControllerConfig,
    now_s: float,
) -> tuple[list[int], dict[int, float]]:
    """Units to release now (longest-dimmed first) and units whose limit can be raised.

    A unit is released when the grid with it back at its demand stays below the release
    thresholds; otherwise its limit is raised as far as the thresholds allow, if by at least
    ``raise_step_W`` and at most once per ``min_hold_s`` — dimming only as far as necessary.
    """
    index = {u.unit_id: i for i, u in enumerate(units)}
    candidates = sorted(
        (a for a in active.values() if now_s - a.since_s >= config.min_hold_s and a.unit_id in index),
        key=lambda a: (a.since_s, a.unit_id),
    )
    released: list[int] = []
    raised: dict[int, float] = {}
    for a in candidates:
        i = index[a.unit_id]
        saved_limit, saved_power, saved_base = plan.limit_W[i], plan.unit_power_W[i], plan.base_W.copy()
        extra = max(a.demand_W - min(plan.unit_power_W[i], a.limit_W), 0.0)
        plan.base_W[plan.unit_home[i]] += extra
        plan.limit_W[i] = math.inf
        plan.unit_power_W[i] = max(plan.unit_power_W[i], a.demand_W)
        r = _solve(plan.grid, [plan.powers()])[0]
        if _below_release(r, config):
            released.append(i)
            continue
        if now_s - a.start_s >= config.min_hold_s:
            limit = (
                math.floor((plan.unit_power_W[i] - _over_release_W(plan, r, i, config)) / LIMIT_STEP_W)
                * LIMIT_STEP_W
            )
            if limit >= saved_limit + config.raise_step_W:
                plan.limit_W[i] = limit
                if _below_release(_solve(plan.grid, [plan.powers()])[0], config):
                    raised[i] = float(limit)
                    continue
        plan.limit_W[i], plan.unit_power_W[i], plan.base_W = saved_limit, saved_power, saved_base
    return released, raised
