"""The EVSE power stage between the grid connection and the vehicle.

AC (1- or 3-phase, the on-board charger converts) or DC (the EVSE converts), uni- or
bidirectional, with a ramp limit, the IEC 61851-1 minimum current of 6 A for AC, and
standby consumption. `ev_power_W` is the power at the vehicle side (positive = into the
vehicle); `grid_power_W` the power drawn from the connection point (positive = import).
Losses = grid_power_W − ev_power_W over the step, always >= 0.
"""

from __future__ import annotations

from dataclasses import dataclass

AC_MIN_CURRENT_A = 6.0  # IEC 61851-1: the lowest current a PWM signal may offer


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerStageParams:
    max_power_W: float
    phases: int = 3
    voltage_V: float = 230.0
    dc: bool = False
    bidirectional: bool = True
    efficiency: float = 0.97  # one-way conversion efficiency of the stage (incl. cable)
    ramp_W_per_s: float = 2000.0
    standby_W: float = 5.0

    def __post_init__(self) -> None:
        if self.max_power_W <= 0:
            raise ValueError(f"max_power_W must be > 0, got {self.max_power_W}")
        if self.phases not in (1, 3):
            raise ValueError(f"phases must be 1 or 3, got {self.phases}")
        if not 0 < self.efficiency <= 1:
            raise ValueError(f"efficiency must be in (0, 1], got {self.efficiency}")
        if self.ramp_W_per_s <= 0:
            raise ValueError("ramp_W_per_s must be > 0")

    @property
    def min_power_W(self) -> float:
        """Below this an AC stage cannot run (6 A × phases × V); DC stages can go to ~0."""
        return 0.0 if self.dc else AC_MIN_CURRENT_A * self.phases * self.voltage_V


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerStageState:
    ev_power_W: float = 0.0
    losses_Wh: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerStageStep:
    state: PowerStageState
    ev_power_W: float
    grid_power_W: float


def clamp_setpoint_W(params: PowerStageParams, setpoint_W: float, ev_max_charge_W: float, ev_max_discharge_W: float) -> float:
    """The power the stage can deliver for a requested setpoint (no ramp)."""
    p = setpoint_W
    if p < 0 and not params.bidirectional:
        p = 0.0
    p = min(p, params.max_power_W, ev_max_charge_W) if p > 0 else max(p, -params.max_power_W, -ev_max_discharge_W)
    if abs(p) < params.min_power_W:
        p = 0.0  # AC: a current below 6 A cannot be signalled
    return p


def grid_side_W(params: PowerStageParams, ev_power_W: float, energised: bool) -> float:
    standby = params.standby_W if energised else 0.0
    if ev_power_W >= 0:
        return ev_power_W / params.efficiency + standby
    return ev_power_W * params.efficiency + standby


def step(
    params: PowerStageParams,
    state: PowerStageState,
    *,
    setpoint_W: float,
    ev_max_charge_W: float,
    ev_max_discharge_W: float,
    dt_s: float,
    energised: bool = True,
) -> PowerStageStep:
    target = clamp_setpoint_W(params, setpoint_W, ev_max_charge_W, ev_max_discharge_W) if energised else 0.0
    max_delta = params.ramp_W_per_s * dt_s
    delta = target - state.ev_power_W
    p = target if abs(delta) <= max_delta else state.ev_power_W + (max_delta if delta > 0 else -max_delta)
    if abs(p) < params.min_power_W and target == 0.0:
        p = 0.0
    grid = grid_side_W(params, p, energised)
    loss_Wh = (grid - p) * dt_s / 3600.0
    return PowerStageStep(
        state=PowerStageState(ev_power_W=p, losses_Wh=state.losses_Wh + loss_Wh),
        ev_power_W=p,
        grid_power_W=grid,
    )
