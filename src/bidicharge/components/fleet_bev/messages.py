"""I-01 between a park of EVSEs and a fleet of cars, batched: one message per step for all pairs.

In memory (what ISO 15118-20 carries per pair in ChargeParameterDiscovery and the charge
loop: the car's limits and SoC, the power transferred). Entry ``i`` of every tuple is the
pair EVSE ``i`` – car ``i``. Power is positive into the vehicle.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargeStep:
    dt_s: float
    setpoint_W: tuple[float, ...]  # what each EVSE offers to transfer; 0 where it stands still


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargeStepResult:
    vehicle_id: tuple[str, ...]
    plugged: tuple[bool, ...]
    power_W: tuple[float, ...]  # transferred in the step, at the plug
    soc: tuple[float, ...]
    max_charge_power_W: tuple[float, ...]  # the car's limits (ISO 15118-20 EVMaximum…Power)
    max_discharge_power_W: tuple[float, ...]
