"""A battery as seen at its DC terminals: stored energy, per-direction efficiency, taper.

Used for the EV traction battery and for the stationary home battery. Power at the
terminals is positive when charging. Energy balance per step (checked by a property test):

    terminal energy in  =  Δ stored energy  +  losses        (all in Wh)

The charge limit tapers linearly from `taper_charge_from_soc` to `taper_floor` × max at
full (CC/CV behaviour of Li-ion); the discharge limit tapers the same way towards empty.
"""

from __future__ import annotations

from dataclasses import dataclass

_S_PER_H = 3600.0


@dataclass(frozen=True, slots=True, kw_only=True)
class BatteryParams:
    capacity_Wh: float
    max_charge_W: float
    max_discharge_W: float
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    soc_min: float = 0.0
    soc_max: float = 1.0
    taper_charge_from_soc: float = 0.8
    taper_discharge_below_soc: float = 0.1
    taper_floor: float = 0.1  # fraction of the max limit left at soc_max / soc_min

    def __post_init__(self) -> None:
        if self.capacity_Wh <= 0:
            raise ValueError(f"capacity_Wh must be > 0, got {self.capacity_Wh}")
        if self.max_charge_W < 0 or self.max_discharge_W < 0:
            raise ValueError("power limits must be >= 0")
        for name in ("charge_efficiency", "discharge_efficiency"):
            eff = getattr(self, name)
            if not 0 < eff <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {eff}")
        if not 0 <= self.soc_min < self.soc_max <= 1:
            raise ValueError(f"need 0 <= soc_min < soc_max <= 1, got {self.soc_min}, {self.soc_max}")


@dataclass(frozen=True, slots=True, kw_only=True)
class BatteryState:
    energy_Wh: float  # stored (chemical) energy
    charged_Wh: float = 0.0  # cumulative energy in at the terminals
    discharged_Wh: float = 0.0  # cumulative energy out at the terminals
    losses_Wh: float = 0.0  # cumulative conversion losses

    def soc(self, params: BatteryParams) -> float:
        return self.energy_Wh / params.capacity_Wh


def initial_state(params: BatteryParams, soc: float) -> BatteryState:
    if not 0 <= soc <= 1:
        raise ValueError(f"soc must be in [0, 1], got {soc}")
    return BatteryState(energy_Wh=soc * params.capacity_Wh)


def power_limits_W(params: BatteryParams, state: BatteryState) -> tuple[float, float]:
    """(max charge W, max discharge W) at the terminals for the present SoC, both >= 0."""
    soc = state.energy_Wh / params.capacity_Wh
    charge = params.max_charge_W
    if soc >= params.soc_max:
        charge = 0.0
    elif soc > params.taper_charge_from_soc and params.soc_max > params.taper_charge_from_soc:
        frac = (soc - params.taper_charge_from_soc) / (params.soc_max - params.taper_charge_from_soc)
        charge *= 1.0 - (1.0 - params.taper_floor) * frac
    discharge = params.max_discharge_W
    if soc <= params.soc_min:
        discharge = 0.0
    elif soc < params.taper_discharge_below_soc and params.taper_discharge_below_soc > params.soc_min:
        frac = (params.taper_discharge_below_soc - soc) / (params.taper_discharge_below_soc - params.soc_min)
        discharge *= 1.0 - (1.0 - params.taper_floor) * frac
    return charge, discharge


def step(params: BatteryParams, state: BatteryState, power_W: float, dt_s: float) -> tuple[BatteryState, float]:
    """Apply `power_W` at the terminals for `dt_s`; return the new state and the power
    actually accepted (limited by the tapered limits and by the SoC bounds)."""
    if dt_s <= 0:
        return state, 0.0
    max_c, max_d = power_limits_W(params, state)
    p = min(power_W, max_c) if power_W > 0 else max(power_W, -max_d)
    dt_h = dt_s / _S_PER_H
    e_max = params.soc_max * params.capacity_Wh
    e_min = params.soc_min * params.capacity_Wh
    if p > 0:
        room_Wh = max(0.0, e_max - state.energy_Wh)
        if p * dt_h * params.charge_efficiency > room_Wh:
            p = room_Wh / (dt_h * params.charge_efficiency)
        e_in = p * dt_h
        stored = e_in * params.charge_efficiency
        return (
            BatteryState(
                energy_Wh=min(e_max, state.energy_Wh + stored),
                charged_Wh=state.charged_Wh + e_in,
                discharged_Wh=state.discharged_Wh,
                losses_Wh=state.losses_Wh + (e_in - stored),
            ),
            p,
        )
    if p < 0:
        avail_Wh = max(0.0, state.energy_Wh - e_min)
        if -p * dt_h / params.discharge_efficiency > avail_Wh:
            p = -avail_Wh * params.discharge_efficiency / dt_h
        e_out = -p * dt_h
        drawn = e_out / params.discharge_efficiency
        return (
            BatteryState(
                energy_Wh=max(e_min, state.energy_Wh - drawn),
                charged_Wh=state.charged_Wh,
                discharged_Wh=state.discharged_Wh + e_out,
                losses_Wh=state.losses_Wh + (drawn - e_out),
            ),
            p,
        )
    return state, 0.0


def drain(params: BatteryParams, state: BatteryState, energy_Wh: float) -> tuple[BatteryState, float]:
    """Take `energy_Wh` of stored energy for driving; returns the state and the energy that
    could not be supplied (the car was stranded) — never below zero stored energy."""
    taken = min(energy_Wh, state.energy_Wh)
    return (
        BatteryState(
            energy_Wh=state.energy_Wh - taken,
            charged_Wh=state.charged_Wh,
            discharged_Wh=state.discharged_Wh,
            losses_Wh=state.losses_Wh,
        ),
        energy_Wh - taken,
    )


def equivalent_full_cycles(params: BatteryParams, state: BatteryState) -> float:
    """Throughput-based EFC: (energy in + energy out) / (2 × capacity)."""
    return (state.charged_Wh + state.discharged_Wh) / (2.0 * params.capacity_Wh)
