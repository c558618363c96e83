"""§14a EnWG controllable consumption devices: guaranteed minimum power and dimming commands.

BNetzA decision BK6-22-300 (in force since 2024-01-01) lets the DSO dim a controllable
consumption device (SteuVE: non-public charge point, heat pump, room cooling, battery grid
draw, each > 4.2 kW on LV) while a grid-state determination shows a threatened overload —
but never below a guaranteed minimum:

* directly controlled device: 4.2 kW (# BK6-22-300 Tenor 4.2); heat pumps and room cooling
  rated above 11 kW: 0.4 × rated power (Anlage 1; figure from Dimplex docs, verify);
* several devices behind one energy-management system (EMS): one budget for the EMS,
  n × 4.2 kW scaled by a simultaneity factor GZF (Anlage 1 §4.5.2). Two published
  formulations disagree (``/shared/reference/grid_and_markets.md`` §2), both are offered, see
  :class:`GzfFormulation`. Mixed direct/EMS control in one home is not allowed (evcc PR 15119).

Phase awareness: 4.2 kW is a power. A single-phase device reaches it only at 18.3 A on its one
phase, a three-phase device at 6.1 A per phase. A current limit sent to a device must therefore
be computed with the device's own phase count and rounded *up* to the device's current
resolution — a three-phase charger rounding 6.09 A down to 6 A would draw 4.14 kW, below the
guarantee; a single-phase charger sent the three-phase 6.1 A would draw 1.4 kW.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, NewType

DeviceId = NewType("DeviceId", str)

MIN_POWER_W: Final = 4200.0  # BK6-22-300 Tenor 4.2: guaranteed power per SteuVE
LARGE_HEAT_PUMP_THRESHOLD_W: Final = 11_000.0  # BK6-22-300 Anlage 1: heat pumps/cooling > 11 kW
LARGE_HEAT_PUMP_FACTOR: Final = 0.4  # ... keep 40 % of rated power (verify against Anlage 1)
NOMINAL_PHASE_VOLTAGE_V: Final = 230.0


class DeviceKind(StrEnum):
    CHARGE_POINT = "charge_point"
    HEAT_PUMP = "heat_pump"
    ROOM_COOLING = "room_cooling"
    BATTERY = "battery"  # grid draw of a stationary battery


@dataclass(frozen=True, slots=True, kw_only=True)
class ControllableDevice:
    device_id: DeviceId
    kind: DeviceKind
    rated_power_W: float
    phases: int = 3
    current_resolution_A: float = 0.1
    """Smallest current step the device can apply (IEC 61851 PWM: 0.1 A; many wallboxes 1 A)."""

    def __post_init__(self) -> None:
        if self.phases not in (1, 2, 3):
            raise ValueError(f"{self.device_id}: phases must be 1, 2 or 3, got {self.phases}")
        if self.rated_power_W <= 0 or self.current_resolution_A <= 0:
            raise ValueError(f"{self.device_id}: rated power and current resolution must be positive")


class GzfFormulation(StrEnum):
    """How the EMS budget is built from the devices' minimums (BK6-22-300 Anlage 1 §4.5.2).

    ``N_TIMES_GZF`` (default) — evcc docs: ``P = GZF(n) × Σ P_min,i`` (n × 4.2 kW × GZF for
    plain devices): 2 → 8.4 kW, 3 → 11.34 kW, 4 → 13.44 kW.
    ``FIRST_PLUS_GZF`` — a DSO implementation document quoted in Tinkerforge/esp32-firmware#407:
    ``P = P_min,1 + GZF(n) × Σ_{i≥2} P_min,i`` (4.2 kW + (n − 1) × GZF × 4.2 kW): 2 → 7.56 kW.

    The default is the larger of the two for every n we have figures for, so a DSO using it
    never dims an EMS below what either reading grants; the rule text (Anlage 1) decides —
    verify before relying on the other one.
    """

    N_TIMES_GZF = "n_times_gzf"
    FIRST_PLUS_GZF = "first_plus_gzf"


DEFAULT_GZF_FORMULATION: Final = GzfFormulation.N_TIMES_GZF

# n -> GZF; beyond the last entry the last factor holds. Published figures: evcc docs (n = 2..4),
# the DSO document GZF(2) = 0.8; its further values 0.75, 0.7, ... are unverified (verify).
GZF_TABLES: Final[dict[GzfFormulation, tuple[float, ...]]] = {
    GzfFormulation.N_TIMES_GZF: (1.0, 1.0, 0.9, 0.8),
    GzfFormulation.FIRST_PLUS_GZF: (1.0, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5, 0.45),
}


def gzf(n: int, formulation: GzfFormulation = DEFAULT_GZF_FORMULATION) -> float:
    if n < 1:
        raise ValueError("GZF needs at least one device")
    table = GZF_TABLES[formulation]
    return table[min(n, len(table)) - 1]


def device_minimum_W(device: ControllableDevice) -> float:
    """Guaranteed power of one directly controlled device (never more than it can draw)."""
    minimum = MIN_POWER_W  # BK6-22-300 Tenor 4.2
    if (
        device.kind in (DeviceKind.HEAT_PUMP, DeviceKind.ROOM_COOLING)
        and device.rated_power_W > LARGE_HEAT_PUMP_THRESHOLD_W
    ):
        minimum = LARGE_HEAT_PUMP_FACTOR * device.rated_power_W  # BK6-22-300 Anlage 1
    return min(minimum, device.rated_power_W)


def ems_minimum_W(
    devices: Sequence[ControllableDevice], formulation: GzfFormulation = DEFAULT_GZF_FORMULATION
) -> float:
    """Guaranteed power of an EMS that controls ``devices`` (BK6-22-300 Anlage 1 §4.5.2)."""
    if not devices:
        raise ValueError("an EMS budget needs at least one controllable device")
    minimums = sorted((device_minimum_W(d) for d in devices), reverse=True)
    factor = gzf(len(minimums), formulation)
    if formulation is GzfFormulation.N_TIMES_GZF:
        return factor * math.fsum(minimums)
    # the largest minimum counts in full, the others scaled (4.2 kW + (n-1) × GZF × 4.2 kW)
    return minimums[0] + factor * math.fsum(minimums[1:])


def current_limit_A(
    limit_W: float,
    device: ControllableDevice,
    voltage_V: float = NOMINAL_PHASE_VOLTAGE_V,
) -> float:
    """Per-phase current that lets ``device`` draw ``limit_W``, rounded up to its resolution."""
    exact = limit_W / (device.phases * voltage_V)
    steps = math.ceil(exact / device.current_resolution_A - 1e-9)
    return round(steps * device.current_resolution_A, 6)


def minimum_current_A(device: ControllableDevice, voltage_V: float = NOMINAL_PHASE_VOLTAGE_V) -> float:
    """The phase-aware minimum: 18.3 A for a 1-phase device, 6.1 A per phase for a 3-phase one."""
    return current_limit_A(device_minimum_W(device), device, voltage_V)


class RefusalReason(StrEnum):
    BELOW_MINIMUM = "below_minimum"
    CURRENT_BELOW_MINIMUM = "current_below_minimum"
    NEGATIVE_LIMIT = "negative_limit"
    BAD_DURATION = "bad_duration"
    EMPTY_EMS = "empty_ems"


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandCheck:
    accepted: bool
    minimum_W: float
    reason: RefusalReason | None = None
    detail: str = ""


def check_limit(
    limit_W: float,
    minimum_W: float,
    *,
    duration_s: float = 1.0,
    what: str = "device",
) -> CommandCheck:
    """Validate a dimming command's power limit against the guaranteed minimum."""
    if not math.isfinite(duration_s) or duration_s <= 0:
        return CommandCheck(
            accepted=False,
            minimum_W=minimum_W,
            reason=RefusalReason.BAD_DURATION,
            detail=f"{what}: duration {duration_s} s must be positive",
        )
    if not math.isfinite(limit_W) or limit_W < 0:
        return CommandCheck(
            accepted=False,
            minimum_W=minimum_W,
            reason=RefusalReason.NEGATIVE_LIMIT,
            detail=f"{what}: limit {limit_W} W is not a power",
        )
    if limit_W < minimum_W - 1e-6:
        return CommandCheck(
            accepted=False,
            minimum_W=minimum_W,
            reason=RefusalReason.BELOW_MINIMUM,
            detail=f"{what}: limit {limit_W:.0f} W below the guaranteed {minimum_W:.0f} W "
            "(BK6-22-300 Tenor 4.2)",
        )
    return CommandCheck(accepted=True, minimum_W=minimum_W)


def check_device_command(
    device: ControllableDevice,
    *,
    limit_W: float | None = None,
    limit_A: float | None = None,
    duration_s: float = 1.0,
    voltage_V: float = NOMINAL_PHASE_VOLTAGE_V,
) -> CommandCheck:
    """Validate a command to a directly controlled device, given as power or per-phase current."""
    if (limit_W is None) == (limit_A is None):
        raise ValueError("give exactly one of limit_W or limit_A")
    minimum = device_minimum_W(device)
    if limit_A is not None:
        needed_A = minimum_current_A(device, voltage_V)
        if limit_A < needed_A - 1e-9:
            return CommandCheck(
                accepted=False,
                minimum_W=minimum,
                reason=RefusalReason.CURRENT_BELOW_MINIMUM,
                detail=f"{device.device_id}: {limit_A} A on {device.phases} phase(s) is "
                f"{limit_A * device.phases * voltage_V:.0f} W, below the guaranteed {minimum:.0f} W "
                f"(needs >= {needed_A} A)",
            )
        limit_W = limit_A * device.phases * voltage_V
    assert limit_W is not None
    return check_limit(limit_W, minimum, duration_s=duration_s, what=str(device.device_id))


def check_ems_command(
    devices: Sequence[ControllableDevice],
    limit_W: float,
    *,
    duration_s: float = 1.0,
    formulation: GzfFormulation = DEFAULT_GZF_FORMULATION,
) -> CommandCheck:
    """Validate a power limit sent to an EMS against its budget n × 4.2 kW × GZF."""
    if not devices:
        return CommandCheck(
            accepted=False, minimum_W=0.0, reason=RefusalReason.EMPTY_EMS, detail="EMS without SteuVE"
        )
    return check_limit(limit_W, ems_minimum_W(devices, formulation), duration_s=duration_s, what="EMS")
