"""Frequency reserves delivered by a pool of cars: FCR droop, aFRR tracking, pool allocation.

Sign convention of this module: ``upward_…`` powers are positive towards the grid (the pool
charges less or discharges: what an under-frequency needs) and negative away from it. Car
powers keep the house convention of ``core/units``: ``power_W`` positive = charging (import).

Rules followed (grid_and_markets.md §1):

* FCR (SO GL, EU 2017/1485, Annex V; regelleistung.net): activation linear in the deviation,
  full power at ±200 mHz, deadband ±10 mHz, full activation within 30 s. Outside the deadband
  the characteristic is the unshifted straight line P = −Δf / 200 mHz × P_FCR (the deadband
  only suppresses activation inside it, it does not move the line).
* FCR energy reservoir (limited energy reservoir, BK6-19-069): full delivery sustainable for
  15 minutes in either direction (marked "verify 15/30 min" in the reference; a parameter).
* aFRR (SO GL Art. 158; PICASSO): the TSO's load-frequency controller sends a set-point every
  4 s; the provider follows it with full activation within 5 minutes.
* Prequalification: the German double-pulse test profile of ±200 mHz steps; pulse and pause
  durations are parameters whose defaults must be checked against the PQ-Bedingungen.
* A day of realistic frequency (no public data set exists, grid_and_markets.md §6): the
  single-area model of ``physics.system_frequency`` with load noise, hourly schedules ramped
  over 10 minutes across each full hour, and this module's load-frequency controller.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from bidicharge.physics import system_frequency
from bidicharge.physics.power_plant import PowerPlantParams, merit_order_dispatch

NOMINAL_FREQUENCY_HZ = 50.0
FCR_MAX_FULL_ACTIVATION_S = 30.0  # SO GL Annex V: full activation time
AFRR_MAX_FULL_ACTIVATION_S = 300.0  # aFRR full activation time (PICASSO standard product)
FCR_RESERVE_DURATION_S = 900.0  # BK6-19-069 / PQ-Bedingungen 3.1.4 (15 or 30 min: verify)


# ----------------------------------------------------------------------------------- FCR


@dataclass(frozen=True, slots=True, kw_only=True)
class FcrCharacteristic:
    nominal_frequency_Hz: float = NOMINAL_FREQUENCY_HZ
    deadband_Hz: float = 0.010  # SO GL Annex V: frequency response deadband ≤ 10 mHz
    full_activation_deviation_Hz: float = 0.200  # SO GL Annex V: full activation at ±200 mHz


def fcr_activation(frequency_Hz: float, characteristic: FcrCharacteristic = FcrCharacteristic()) -> float:
    """Upward activation as a fraction of the contracted FCR, in [−1, 1]."""
    deviation_Hz = frequency_Hz - characteristic.nominal_frequency_Hz
    if abs(deviation_Hz) <= characteristic.deadband_Hz:
        return 0.0
    return max(-1.0, min(1.0, -deviation_Hz / characteristic.full_activation_deviation_Hz))


@dataclass(frozen=True, slots=True, kw_only=True)
class FcrProviderParams:
    contracted_W: float
    full_activation_time_s: float = FCR_MAX_FULL_ACTIVATION_S
    characteristic: FcrCharacteristic = FcrCharacteristic()

    def __post_init__(self) -> None:
        if not 0 < self.full_activation_time_s <= FCR_MAX_FULL_ACTIVATION_S:
            raise ValueError(f"FCR full activation must be within {FCR_MAX_FULL_ACTIVATION_S} s")
        if self.contracted_W < 0:
            raise ValueError("contracted_W is a capacity and cannot be negative")


@dataclass(frozen=True, slots=True, kw_only=True)
class FcrResponseState:
    upward_power_W: float = 0.0


def _ramp(current: float, target: float, max_step: float) -> float:
    return current + max(-max_step, min(max_step, target - current))


def fcr_step(state: FcrResponseState, frequency_Hz: float, dt_s: float, params: FcrProviderParams) -> FcrResponseState:
    """Follow the droop, rate-limited so that a full step takes ``full_activation_time_s``."""
    target_W = fcr_activation(frequency_Hz, params.characteristic) * params.contracted_W
    max_step_W = params.contracted_W * dt_s / params.full_activation_time_s
    return FcrResponseState(upward_power_W=_ramp(state.upward_power_W, target_W, max_step_W))


# ---------------------------------------------------------------------------------- aFRR


@dataclass(frozen=True, slots=True, kw_only=True)
class AfrrProviderParams:
    positive_W: float  # contracted upward capacity
    negative_W: float  # contracted downward capacity (a magnitude)
    full_activation_time_s: float = AFRR_MAX_FULL_ACTIVATION_S

    def __post_init__(self) -> None:
        if not 0 < self.full_activation_time_s <= AFRR_MAX_FULL_ACTIVATION_S:
            raise ValueError(f"aFRR full activation must be within {AFRR_MAX_FULL_ACTIVATION_S} s")


@dataclass(frozen=True, slots=True, kw_only=True)
class AfrrResponseState:
    upward_power_W: float = 0.0


def afrr_step(state: AfrrResponseState, setpoint_W: float, dt_s: float, params: AfrrProviderParams) -> AfrrResponseState:
    """Follow the TSO's latest set-point (upward positive), clamped to the contracted capacity;
    the ramp reaches the larger contracted capacity from zero in ``full_activation_time_s``."""
    target_W = max(-params.negative_W, min(params.positive_W, setpoint_W))
    rate_W_per_s = max(params.positive_W, params.negative_W) / params.full_activation_time_s
    return AfrrResponseState(upward_power_W=_ramp(state.upward_power_W, target_W, rate_W_per_s * dt_s))


@dataclass(frozen=True, slots=True, kw_only=True)
class LfcParams:
    """The TSO's load-frequency controller (single area: ACE = β·Δf, no tie lines)."""

    frequency_bias_MW_per_Hz: float
    proportional_gain: float = 0.2
    integral_time_s: float = 100.0
    cycle_s: float = 4.0  # the LFC/PICASSO optimisation cycle
    max_upward_MW: float = math.inf
    max_downward_MW: float = math.inf
    nominal_frequency_Hz: float = NOMINAL_FREQUENCY_HZ


@dataclass(frozen=True, slots=True, kw_only=True)
class LfcState:
    integral_MW: float = 0.0
    setpoint_MW: float = 0.0  # aFRR demand, upward positive
    next_cycle_s: float = 0.0


def lfc_step(state: LfcState, frequency_Hz: float, time_s: float, params: LfcParams) -> LfcState:
    """PI on the area control error, evaluated once per 4-s cycle; holds the set-point between."""
    if time_s < state.next_cycle_s:
        return state
    ace_MW = params.frequency_bias_MW_per_Hz * (frequency_Hz - params.nominal_frequency_Hz)
    integral = state.integral_MW - ace_MW * params.cycle_s / params.integral_time_s
    integral = max(-params.max_downward_MW, min(params.max_upward_MW, integral))  # anti-windup
    setpoint = max(-params.max_downward_MW, min(params.max_upward_MW, integral - params.proportional_gain * ace_MW))
    return LfcState(integral_MW=integral, setpoint_MW=setpoint, next_cycle_s=time_s + params.cycle_s)


# ------------------------------------------------------------------------- pool allocation


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolCar:
    """One car as the pool sees it; powers at the battery, efficiency folded in upstream."""

    car_id: str
    power_W: float  # current operating point, + = charging
    max_charge_W: float
    max_discharge_W: float  # a magnitude; 0 for a car that cannot feed back
    soc: float
    min_soc: float
    max_soc: float = 1.0
    capacity_Wh: float
    consent: bool


def power_range_W(car: PoolCar, horizon_s: float) -> tuple[float, float]:
    """Lowest and highest power the car may be set to for ``horizon_s`` without leaving its
    SoC window; charging is never forced below zero and discharging never forced."""
    if not car.consent:
        return car.power_W, car.power_W
    to_min_W = (car.min_soc - car.soc) * car.capacity_Wh * 3600.0 / horizon_s
    to_max_W = (car.max_soc - car.soc) * car.capacity_Wh * 3600.0 / horizon_s
    low = max(-car.max_discharge_W, min(0.0, to_min_W))
    high = min(car.max_charge_W, max(0.0, to_max_W))
    return low, high


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolAllocation:
    setpoints_W: Mapping[str, float]  # per car, + = charging
    delivered_upward_W: float
    shortfall_W: float  # |requested − delivered|: what the pool cannot deliver


def allocate_pool(request_upward_W: float, cars: Iterable[PoolCar], *, horizon_s: float) -> PoolAllocation:
    """Change the pool's power by ``request_upward_W`` (upward positive) from the cars' operating
    points. A consenting car first goes back inside its allowed range (``power_range_W``) if it
    is outside; the change still needed is shared over the cars pro rata to each car's headroom
    in that direction. Cars without consent keep their operating point."""
    cars = list(cars)
    if horizon_s <= 0:
        raise ValueError("horizon_s must be positive")
    if len({car.car_id for car in cars}) != len(cars):
        raise ValueError("car ids must be unique within a pool")
    ranges = [power_range_W(car, horizon_s) for car in cars]
    start = [min(high, max(low, car.power_W)) for car, (low, high) in zip(cars, ranges, strict=True)]
    needed_W = request_upward_W - sum(car.power_W - p for car, p in zip(cars, start, strict=True))
    if needed_W >= 0:
        headroom = [max(0.0, p - low) for p, (low, _) in zip(start, ranges, strict=True)]
    else:
        headroom = [max(0.0, high - p) for p, (_, high) in zip(start, ranges, strict=True)]
    total = sum(headroom)
    fraction = min(1.0, abs(needed_W) / total) if total > 0 else 0.0
    direction = 1.0 if needed_W >= 0 else -1.0
    setpoints = {car.car_id: p - direction * fraction * h for car, p, h in zip(cars, start, headroom, strict=True)}
    delivered = sum(car.power_W - setpoints[car.car_id] for car in cars)
    return PoolAllocation(
        setpoints_W=setpoints, delivered_upward_W=delivered, shortfall_W=abs(request_upward_W - delivered)
    )


# ------------------------------------------------------------------ FCR energy reservoir


@dataclass(frozen=True, slots=True, kw_only=True)
class EnergyReservoir:
    """A pool seen as one storage: stored energy and its limits, power limits, operating point."""

    energy_Wh: float
    min_energy_Wh: float
    max_energy_Wh: float
    max_charge_W: float
    max_discharge_W: float
    baseline_W: float = 0.0  # operating point held during the reserve window, + = charging


def reservoir_of(cars: Iterable[PoolCar]) -> EnergyReservoir:
    """Aggregate the consenting cars; the others contribute nothing to the reserve."""
    mine = [c for c in cars if c.consent]
    return EnergyReservoir(
        energy_Wh=sum(c.soc * c.capacity_Wh for c in mine),
        min_energy_Wh=sum(c.min_soc * c.capacity_Wh for c in mine),
        max_energy_Wh=sum(c.max_soc * c.capacity_Wh for c in mine),
        max_charge_W=sum(c.max_charge_W for c in mine),
        max_discharge_W=sum(c.max_discharge_W for c in mine),
        baseline_W=sum(c.power_W for c in mine),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class FcrReserveCheck:
    upward_power_margin_W: float
    downward_power_margin_W: float
    upward_energy_margin_Wh: float
    downward_energy_margin_Wh: float

    @property
    def ok(self) -> bool:
        return min(self.upward_power_margin_W, self.downward_power_margin_W,
                   self.upward_energy_margin_Wh, self.downward_energy_margin_Wh) >= 0


def fcr_reserve_check(
    reservoir: EnergyReservoir, contracted_W: float, *, reserve_duration_s: float = FCR_RESERVE_DURATION_S
) -> FcrReserveCheck:
    """Can the pool hold full FCR for ``reserve_duration_s`` upwards and, separately, downwards?
    Negative margins say by how much it cannot."""
    hours = reserve_duration_s / 3600.0
    up_W = reservoir.baseline_W - contracted_W
    down_W = reservoir.baseline_W + contracted_W
    return FcrReserveCheck(
        upward_power_margin_W=up_W + reservoir.max_discharge_W,
        downward_power_margin_W=reservoir.max_charge_W - down_W,
        upward_energy_margin_Wh=reservoir.energy_Wh + up_W * hours - reservoir.min_energy_Wh,
        downward_energy_margin_Wh=reservoir.max_energy_Wh - (reservoir.energy_Wh + down_W * hours),
    )


def ler_management_W(
    reservoir: EnergyReservoir,
    contracted_W: float,
    *,
    reserve_duration_s: float = FCR_RESERVE_DURATION_S,
    correction_time_s: float = 900.0,
) -> float:
    """Limited-energy-reservoir management: the extra power (+ = charging) that brings the stored
    energy back into the band where both 15-minute reserves hold, over ``correction_time_s``,
    using only the power left beside the contracted FCR. Zero inside the band."""
    reserve_Wh = contracted_W * reserve_duration_s / 3600.0
    low_Wh = reservoir.min_energy_Wh + reserve_Wh
    high_Wh = reservoir.max_energy_Wh - reserve_Wh
    if low_Wh > high_Wh:  # the contract does not fit at all: steer to the middle
        low_Wh = high_Wh = (reservoir.min_energy_Wh + reservoir.max_energy_Wh) / 2
    if reservoir.energy_Wh < low_Wh:
        wanted = (low_Wh - reservoir.energy_Wh) * 3600.0 / correction_time_s
        return min(wanted, max(0.0, reservoir.max_charge_W - contracted_W))
    if reservoir.energy_Wh > high_Wh:
        wanted = (reservoir.energy_Wh - high_Wh) * 3600.0 / correction_time_s
        return -min(wanted, max(0.0, reservoir.max_discharge_W - contracted_W))
    return 0.0


# -------------------------------------------------------------------- prequalification


def double_pulse_test_frequency(
    dt_s: float,
    *,
    deviation_Hz: float = 0.200,
    pulse_s: float = 900.0,
    pause_s: float = 900.0,
    lead_s: float = 300.0,
    nominal_frequency_Hz: float = NOMINAL_FREQUENCY_HZ,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The prequalification double pulse as a frequency series (time_s, frequency_Hz):
    nominal for ``lead_s``; two under-frequency pulses (−deviation for ``pulse_s``, separated by
    ``pause_s`` at nominal); a pause; two over-frequency pulses; nominal for ``lead_s``."""
    segments = [(lead_s, 0.0)]
    for sign in (-1.0, 1.0):
        segments += [(pulse_s, sign), (pause_s, 0.0), (pulse_s, sign), (pause_s, 0.0)]
    segments[-1] = (lead_s, 0.0)
    total_s = sum(d for d, _ in segments)
    time_s = np.arange(0.0, total_s, dt_s)
    frequency = np.full_like(time_s, nominal_frequency_Hz)
    start = 0.0
    for duration, sign in segments:
        frequency[(time_s >= start) & (time_s < start + duration)] += sign * deviation_Hz
        start += duration
    return time_s, frequency


# ------------------------------------------------------------------ a realistic frequency day

DEMO_PLANTS = (
    PowerPlantParams(plant_id="nuclear", capacity_MW=3000, marginal_cost_EUR_per_MWh=10, ramp_MW_per_min=30),
    PowerPlantParams(plant_id="coal", capacity_MW=3500, marginal_cost_EUR_per_MWh=30, ramp_MW_per_min=60,
                     primary_reserve_MW=150),
    PowerPlantParams(plant_id="gas", capacity_MW=3500, marginal_cost_EUR_per_MWh=60, ramp_MW_per_min=150,
                     primary_reserve_MW=150),
)


def demo_load_MW(time_s: float) -> float:
    """A smooth weekday load of the 10 GW demo area: night trough, morning and evening peaks."""
    h = (time_s / 3600.0) % 24.0
    return (7500.0 + 1000.0 * math.exp(-(((h - 8.0) / 2.5) ** 2)) + 1300.0 * math.exp(-(((h - 19.0) / 3.0) ** 2))
            - 600.0 * math.exp(-(((h - 3.0) / 3.0) ** 2)))


def _ramped(schedules: list[tuple[float, ...]], time_s: float, ramp_s: float = 600.0) -> tuple[float, ...]:
    """Hourly schedules changed by a linear ramp centred on each full hour."""
    hour, into = int(time_s // 3600), time_s % 3600
    if into >= 3600 - ramp_s / 2 and hour + 1 < len(schedules):
        w, a, b = (into - 3600 + ramp_s / 2) / ramp_s, schedules[hour], schedules[hour + 1]
    elif into < ramp_s / 2 and hour > 0:
        w, a, b = 0.5 + into / ramp_s, schedules[hour - 1], schedules[hour]
    else:
        return schedules[min(hour, len(schedules) - 1)]
    return tuple((1 - w) * x + w * y for x, y in zip(a, b, strict=True))


def simulated_frequency(
    rng: np.random.Generator,
    *,
    duration_s: float = 86_400.0,
    dt_s: float = 1.0,
    noise_std_MW: float = 50.0,
    noise_time_constant_s: float = 300.0,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(time_s, frequency_Hz) of the demo area over ``duration_s``: plants scheduled by merit order
    on each hour's mean load, load noise from ``rng``, droop and aFRR acting. With the defaults
    the deviation has a standard deviation of some 15–20 mHz (as measured in Continental Europe)
    and stays well inside ±200 mHz; one day takes a few seconds."""
    area = system_frequency.GridAreaParams(
        inertia_constant_s=5.0, system_base_MW=10_000.0, plants=DEMO_PLANTS,
        noise_std_MW=noise_std_MW, noise_time_constant_s=noise_time_constant_s,
        afrr_participation=(0.0, 0.5, 0.5),  # nuclear runs flat out and holds no reserve
    )
    hours = math.ceil(duration_s / 3600.0)
    schedules = [merit_order_dispatch(DEMO_PLANTS, float(np.mean([demo_load_MW(h * 3600.0 + m * 60.0)
                                                                   for m in range(60)])))
                 for h in range(hours)]
    bias = sum(p.capacity_MW / (p.droop * p.nominal_frequency_Hz) for p in DEMO_PLANTS if p.primary_reserve_MW > 0)
    lfc = LfcParams(frequency_bias_MW_per_Hz=bias + demo_load_MW(0.0) / area.nominal_frequency_Hz)
    start_gap = demo_load_MW(0.0) - sum(schedules[0])  # aFRR already covering it: no start-up transient
    lfc_state = LfcState(integral_MW=start_gap, setpoint_MW=start_gap)
    state = system_frequency.initial_state(area, schedules[0])
    state = replace(state, plants=tuple(replace(p, setpoint_MW=p.setpoint_MW + start_gap * share,
                                                governor_MW=p.governor_MW + start_gap * share,
                                                generation_MW=p.generation_MW + start_gap * share)
                                        for p, share in zip(state.plants, area.participation(), strict=True)))
    n = int(round(duration_s / dt_s))
    frequency = np.empty(n)
    for k in range(n):
        lfc_state = lfc_step(lfc_state, state.frequency_Hz, state.time_s, lfc)
        inputs = system_frequency.GridAreaInputs(
            load_MW=demo_load_MW(state.time_s), plant_schedules_MW=_ramped(schedules, state.time_s),
            afrr_MW=lfc_state.setpoint_MW,
        )
        state = system_frequency.step(area, state, inputs, dt_s, rng)
        frequency[k] = state.frequency_Hz
    return (dt_s * np.arange(1, n + 1)).astype(np.float64), frequency
