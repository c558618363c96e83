"""Single-area system frequency: swing equation with inertia, load damping, plant droop.

Direction is in the names: ``generation_…``, ``injection_MW`` and ``afrr_MW`` are power fed into
the grid (upward), ``load_MW`` and ``damping_…`` power drawn from it. Grid-scale units: MW, MWh.

The rotating masses of the area hold the kinetic energy

    E_kin = H · S_base · (f / f_n)²          [MJ with H in s and S_base in MW]

and change it by the power imbalance (the swing equation in energy form; linearised it is the
familiar 2H/f_n · df/dt = ΔP / S_base):

    dE_kin/dt = ΣP_plants + P_injection − P_load · (1 + D · Δf / f_n)

D (``load_damping``, per unit) is the self-regulation of the load: motors draw more at a higher
frequency. The load is the caller's profile plus an Ornstein–Uhlenbeck noise drawn from the
injected generator; the plants (``physics.power_plant``, none at all is allowed: an area whose
units are modelled elsewhere and fed in as ``injection_MW``) follow their schedules, which the caller
steps each hour (or quarter-hour) while the load moves continuously — the source of the
deterministic deviations seen around full hours. The aFRR demand of the TSO (``control.
frequency_reserve.lfc_step``) is shared over the plants by participation factors.

Each step books generation, injection, load and damping energy in registers (MWh); stepping the
energy rather than the frequency makes E_kin(f_end) − E_kin(f_0) equal to their balance exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bidicharge.physics import power_plant
from bidicharge.physics.power_plant import PowerPlantInputs, PowerPlantParams, PowerPlantState

MJ_PER_MWH = 3600.0


class FrequencyCollapse(ValueError):
    """The imbalance used up the rotating energy: the area has blacked out."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GridAreaParams:
    inertia_constant_s: float  # H on the system base
    system_base_MW: float  # rated power of the synchronous machines
    plants: tuple[PowerPlantParams, ...]
    load_damping: float = 1.0  # D: % load change per % frequency change
    nominal_frequency_Hz: float = 50.0
    noise_std_MW: float = 0.0  # stationary standard deviation of the load noise
    noise_time_constant_s: float = 60.0
    afrr_participation: tuple[float, ...] = field(default=())  # per plant; empty = pro rata to capacity

    def __post_init__(self) -> None:
        if self.afrr_participation and len(self.afrr_participation) != len(self.plants):
            raise ValueError(f"afrr_participation has {len(self.afrr_participation)} shares for "
                             f"{len(self.plants)} plants")
        if not self.afrr_participation and self.plants and sum(p.capacity_MW for p in self.plants) <= 0:
            raise ValueError("aFRR pro rata to capacity needs plants with capacity; give afrr_participation")

    def participation(self) -> tuple[float, ...]:
        if self.afrr_participation or not self.plants:
            return self.afrr_participation
        total = sum(p.capacity_MW for p in self.plants)
        return tuple(p.capacity_MW / total for p in self.plants)


@dataclass(frozen=True, slots=True, kw_only=True)
class GridAreaState:
    time_s: float
    frequency_Hz: float
    plants: tuple[PowerPlantState, ...]
    load_noise_MW: float = 0.0
    generation_MWh: float = 0.0
    injection_MWh: float = 0.0
    load_MWh: float = 0.0
    damping_MWh: float = 0.0  # extra consumption by load self-regulation (negative below f_n)

    @property
    def generation_MW(self) -> float:
        return sum(p.generation_MW for p in self.plants)


@dataclass(frozen=True, slots=True, kw_only=True)
class GridAreaInputs:
    load_MW: float
    plant_schedules_MW: Sequence[float]
    afrr_MW: float = 0.0
    injection_MW: float = 0.0  # units outside the plant list, e.g. a car pool's reserve


def kinetic_energy_MJ(frequency_Hz: float, params: GridAreaParams) -> float:
    return params.inertia_constant_s * params.system_base_MW * (frequency_Hz / params.nominal_frequency_Hz) ** 2


def initial_state(params: GridAreaParams, schedules_MW: Sequence[float], *, time_s: float = 0.0) -> GridAreaState:
    """Nominal frequency with every plant settled at its schedule."""
    return GridAreaState(
        time_s=time_s,
        frequency_Hz=params.nominal_frequency_Hz,
        plants=tuple(power_plant.steady_state(p, s) for p, s in zip(params.plants, schedules_MW, strict=True)),
    )


def _noise(x: float, dt_s: float, params: GridAreaParams, rng: np.random.Generator | None) -> float:
    a = math.exp(-dt_s / params.noise_time_constant_s)
    if rng is None or params.noise_std_MW == 0.0:
        return x * a
    return x * a + params.noise_std_MW * math.sqrt(1.0 - a * a) * float(rng.standard_normal())


def step(
    params: GridAreaParams,
    state: GridAreaState,
    inputs: GridAreaInputs,
    dt_s: float,
    rng: np.random.Generator | None = None,
) -> GridAreaState:
    """Advance by ``dt_s``. Load, damping and injection are held over the step at their values
    at its start; plants see the frequency at the start of the step."""
    if inputs.afrr_MW != 0.0 and not params.plants:
        # nobody would deliver it: dropping the demand silently would hide a missing reserve
        raise ValueError(f"aFRR demand of {inputs.afrr_MW} MW in an area without plants; "
                         "feed the units that deliver it as injection_MW")
    f = state.frequency_Hz
    hours = dt_s / 3600.0
    load_MW = inputs.load_MW + state.load_noise_MW
    damping_MW = params.load_damping * load_MW * (f - params.nominal_frequency_Hz) / params.nominal_frequency_Hz
    plants = tuple(
        power_plant.step(p, s, PowerPlantInputs(schedule_MW=sched, frequency_Hz=f, afrr_MW=inputs.afrr_MW * share), dt_s)
        for s, p, sched, share in zip(
            state.plants, params.plants, inputs.plant_schedules_MW, params.participation(), strict=True
        )
    )
    generation_MWh = sum(new.energy_MWh - old.energy_MWh for new, old in zip(plants, state.plants, strict=True))
    balance_MWh = generation_MWh + (inputs.injection_MW - load_MW - damping_MW) * hours
    energy_MJ = kinetic_energy_MJ(f, params) + balance_MWh * MJ_PER_MWH
    if energy_MJ <= 0:
        raise FrequencyCollapse(f"rotating energy exhausted at t = {state.time_s + dt_s} s")
    frequency = params.nominal_frequency_Hz * math.sqrt(energy_MJ / (params.inertia_constant_s * params.system_base_MW))
    return GridAreaState(
        time_s=state.time_s + dt_s,
        frequency_Hz=frequency,
        plants=plants,
        load_noise_MW=_noise(state.load_noise_MW, dt_s, params, rng),
        generation_MWh=state.generation_MWh + generation_MWh,
        injection_MWh=state.injection_MWh + inputs.injection_MW * hours,
        load_MWh=state.load_MWh + load_MW * hours,
        damping_MWh=state.damping_MWh + damping_MW * hours,
    )
