"""High-voltage transmission grid (C-HV-GRID): the synchronous area's frequency.

Owns ``physics.system_frequency`` (swing equation with inertia, load damping and load noise):
the power plants feed in over I-50, the distribution grid below over I-42 (and, until the LV/MV
grid carries it, the commercial aggregator's modelled pool, which attaches itself by name), and the area's load follows a profile (``control.frequency_reserve.
demo_load_MW`` scaled) plus an Ornstein–Uhlenbeck noise from the run's seeded generator.
Frequency follows the imbalance; the plants' droop and the TSO's aFRR restore it.

``frequency.mode: double_pulse`` imposes the prequalification test signal instead (the
frequency a provider under test is given; ±200 mHz pulses from
``control.frequency_reserve.double_pulse_test_frequency``) — every measuring device (plants,
EVSEs, the TSO through the plant operators) sees it.

Phase BALANCE: the step integrates the flows the plants and the pool set in this step.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from bidicharge.components.power_plant import units
from bidicharge.control.frequency_reserve import demo_load_MW, double_pulse_test_frequency
from bidicharge.physics import system_frequency
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import ELECTRICAL, provides

# The plants here are components of their own (I-50): the area has no plants of its own and
# takes their generation, like the pool's, as injection.


class DoublePulse(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    deviation_Hz: float = Field(0.2, gt=0, le=1.0)
    pulse_s: float = Field(900.0, gt=0)
    pause_s: float = Field(900.0, gt=0)
    lead_s: float = Field(300.0, ge=0)


class FrequencyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    mode: Literal["model", "double_pulse"] = "model"
    double_pulse: DoublePulse = DoublePulse()


class HvGridConfig(ComponentConfig):
    inertia_constant_s: float = Field(5.0, gt=0)
    system_base_MW: float = Field(10_000.0, gt=0)
    load_damping: float = Field(1.0, ge=0)
    load_scale: float = Field(1.0, gt=0, description="multiplies the 10 GW demo load profile")
    noise_std_MW: float = Field(50.0, ge=0)
    noise_time_constant_s: float = Field(300.0, gt=0)
    utc_offset_h: float = Field(1.0, ge=-12, le=14, description="the load profile runs on local time")
    frequency: FrequencyConfig = FrequencyConfig()


def area_load_MW(cfg: HvGridConfig, time_s: float) -> float:
    """The area's scheduled load (without noise) at ``time_s``: what suppliers buy day-ahead."""
    return cfg.load_scale * demo_load_MW(time_s + cfg.utc_offset_h * 3600.0)


@component_type
class HvGrid(Component):
    kind = "hv_grid"
    catalogue_id = "C-HV-GRID"
    Config = HvGridConfig
    PORTS = (
        provides("plants", "I-50", ELECTRICAL, description="large plants feed in; they measure the frequency here"),
        provides("distribution", "I-42", ELECTRICAL, description="net injection of the grid levels below"),
    )
    phase = Phase.BALANCE
    OBSERVABLES: ClassVar[tuple[str, ...]] = ("frequency_Hz", "load_MW", "generation_MW", "injection_MW")

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.cfg: HvGridConfig = config
        self.params = system_frequency.GridAreaParams(
            inertia_constant_s=config.inertia_constant_s, system_base_MW=config.system_base_MW,
            plants=(), load_damping=config.load_damping,
            noise_std_MW=config.noise_std_MW, noise_time_constant_s=config.noise_time_constant_s,
        )
        self.state = system_frequency.initial_state(self.params, (), time_s=context.start_s)
        self.frequency_Hz = self.params.nominal_frequency_Hz
        self._generation_MW = self._injection_MW = self._load_MW = 0.0
        self._attached: list[Any] = []
        units.register(self)
        self.kinetic_start_MJ = system_frequency.kinetic_energy_MJ(self.frequency_Hz, self.params)
        pulse = config.frequency.double_pulse
        if config.frequency.mode == "double_pulse":
            self._pulse_t, self._pulse_f = double_pulse_test_frequency(
                1.0, deviation_Hz=pulse.deviation_Hz, pulse_s=pulse.pulse_s, pause_s=pulse.pause_s, lead_s=pulse.lead_s)

    def attach_distribution(self, unit: Any) -> None:
        """A unit below this grid (``grid_injection_MW``, MW into the grid) without an I-42 link."""
        self._attached.append(unit)

    def imposed_frequency(self, time_s: float) -> float | None:
        if self.cfg.frequency.mode != "double_pulse":
            return None
        k = int((time_s - self.context.start_s) // 1.0)
        return float(self._pulse_f[k]) if 0 <= k < len(self._pulse_f) else self.params.nominal_frequency_Hz

    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        hours = dt_s / 3600.0
        generation_MWh = sum(link.local.step_energy_MWh for link in self.inbound.get("plants", []))  # type: ignore[attr-defined]
        below = [link.local for link in self.inbound.get("distribution", [])] + self._attached
        pool_MW = sum(unit.grid_injection_MW for unit in below)
        self._generation_MW = generation_MWh / hours
        self._injection_MW = self._generation_MW + pool_MW
        self._load_MW = area_load_MW(self.cfg, now)
        imposed = self.imposed_frequency(now + dt_s)
        if imposed is not None:  # a test signal: the swing equation is not stepped
            self.frequency_Hz = imposed
            return
        inputs = system_frequency.GridAreaInputs(load_MW=self._load_MW, plant_schedules_MW=(),
                                                 injection_MW=self._injection_MW)
        self.state = system_frequency.step(self.params, self.state, inputs, dt_s, self.context.rng)
        self.frequency_Hz = self.state.frequency_Hz

    def observe(self) -> tuple[float, ...]:
        return (self.frequency_Hz, self._load_MW + self.state.load_noise_MW, self._generation_MW, self._injection_MW)

    def report(self) -> dict[str, Any]:
        s = self.state
        kinetic_end = system_frequency.kinetic_energy_MJ(s.frequency_Hz, self.params)
        balance_MWh = s.injection_MWh - s.load_MWh - s.damping_MWh
        return {
            "injection_MWh": s.injection_MWh, "load_MWh": s.load_MWh, "damping_MWh": s.damping_MWh,
            "kinetic_change_MWh": (kinetic_end - self.kinetic_start_MJ) / system_frequency.MJ_PER_MWH,
            "balance_MWh": balance_MWh,
        }
