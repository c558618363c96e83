"""A dispatchable power plant (I-48…I-52): capacity, marginal cost, ramp limit, droop, lags.

Direction is in the names: ``generation_MW`` is power fed into the grid, never negative (the
opposite of the package's load convention, hence the name). Grid-scale units: MW and MWh.

Model, stepped by the caller's ``dt_s`` (mosaik style: time is given, never read):

* scheduled set-point ``setpoint_MW`` follows ``schedule_MW + afrr_MW`` (the market schedule
  plus the TSO's aFRR share) at most at ``ramp_MW_per_min``;
* primary control (droop): ΔP = −(Δf / f_n) / droop × capacity outside the deadband, clipped
  to ±``primary_reserve_MW`` (0 for a plant that does not provide FCR);
* the reference (set-point + droop, within [min_stable, capacity]) drives the governor, a
  first-order lag T_g, which drives the turbine, a first-order lag T_t (a reheat steam unit has
  T_t of several seconds; the defaults are of that order). Each lag is integrated exactly for
  an input held over the step, so any ``dt_s`` is stable.
* ``energy_MWh`` is the generated-energy register, the trapezoid of the output over each step;
  the grid model books the same figure, which is how its energy balance closes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerPlantParams:
    plant_id: str
    capacity_MW: float
    marginal_cost_EUR_per_MWh: float
    ramp_MW_per_min: float
    min_stable_MW: float = 0.0
    droop: float = 0.05  # per unit: a 5 % frequency change moves the plant by its full capacity
    primary_reserve_MW: float = 0.0
    deadband_Hz: float = 0.0
    governor_time_constant_s: float = 0.5
    turbine_time_constant_s: float = 5.0
    nominal_frequency_Hz: float = 50.0

    def __post_init__(self) -> None:
        if not 0 <= self.min_stable_MW <= self.capacity_MW:
            raise ValueError(f"{self.plant_id}: need 0 <= min_stable_MW <= capacity_MW")
        if self.droop <= 0 or self.ramp_MW_per_min <= 0:
            raise ValueError(f"{self.plant_id}: droop and ramp rate must be positive")
        if self.governor_time_constant_s <= 0 or self.turbine_time_constant_s <= 0:
            raise ValueError(f"{self.plant_id}: time constants must be positive")


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerPlantState:
    setpoint_MW: float
    governor_MW: float
    generation_MW: float
    energy_MWh: float = 0.0  # generated-energy register


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerPlantInputs:
    schedule_MW: float
    frequency_Hz: float
    afrr_MW: float = 0.0  # upward positive


def steady_state(params: PowerPlantParams, generation_MW: float) -> PowerPlantState:
    """The plant settled at ``generation_MW`` at nominal frequency."""
    p = _clamp(generation_MW, params.min_stable_MW, params.capacity_MW)
    return PowerPlantState(setpoint_MW=p, governor_MW=p, generation_MW=p)


def _clamp(x: float, low: float, high: float) -> float:
    return max(low, min(high, x))


def droop_response_MW(params: PowerPlantParams, frequency_Hz: float) -> float:
    """Primary-control power change for a frequency, upward positive."""
    deviation_Hz = frequency_Hz - params.nominal_frequency_Hz
    if abs(deviation_Hz) <= params.deadband_Hz:
        return 0.0
    response = -(deviation_Hz / params.nominal_frequency_Hz) / params.droop * params.capacity_MW
    return _clamp(response, -params.primary_reserve_MW, params.primary_reserve_MW)


def _lag(x: float, u: float, dt_s: float, tau_s: float) -> float:
    return u + (x - u) * math.exp(-dt_s / tau_s)


def step(params: PowerPlantParams, state: PowerPlantState, inputs: PowerPlantInputs, dt_s: float) -> PowerPlantState:
    wanted = _clamp(inputs.schedule_MW + inputs.afrr_MW, params.min_stable_MW, params.capacity_MW)
    max_move = params.ramp_MW_per_min * dt_s / 60.0
    setpoint = state.setpoint_MW + _clamp(wanted - state.setpoint_MW, -max_move, max_move)
    reference = _clamp(setpoint + droop_response_MW(params, inputs.frequency_Hz), params.min_stable_MW, params.capacity_MW)
    governor = _lag(state.governor_MW, reference, dt_s, params.governor_time_constant_s)
    power = _lag(state.generation_MW, governor, dt_s, params.turbine_time_constant_s)
    energy = state.energy_MWh + (state.generation_MW + power) / 2.0 * dt_s / 3600.0
    return PowerPlantState(setpoint_MW=setpoint, governor_MW=governor, generation_MW=power, energy_MWh=energy)


def merit_order_dispatch(plants: Sequence[PowerPlantParams], demand_MW: float) -> tuple[float, ...]:
    """Schedules that meet ``demand_MW`` cheapest first (what a day-ahead auction yields when
    plants bid their marginal cost). A plant runs at least at its minimum stable power; one that
    holds primary reserve is kept inside [min_stable + reserve, capacity − reserve] so that its
    droop has room both ways. Demand beyond what the fleet offers is left unserved."""
    schedule = [p.min_stable_MW + p.primary_reserve_MW for p in plants]
    left = demand_MW - sum(schedule)
    for i in sorted(range(len(plants)), key=lambda i: plants[i].marginal_cost_EUR_per_MWh):
        if left <= 0:
            break
        extra = max(0.0, min(left, plants[i].capacity_MW - plants[i].primary_reserve_MW - schedule[i]))
        schedule[i] += extra
        left -= extra
    return tuple(schedule)
