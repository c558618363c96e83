"""I-31 grid controller – DSO backend: grid-state data up, dimming orders down, and the
compensation-relevant record of each control cycle; also I-43 (the grid's own
measurements to the DSO backend: transformer and feeder telemetry).

The DSO backend holds what the gateways deliver (TAF 10 through the pEMP, I-35), the
control units' status (through the CLS path) and the master data (I-33); the grid
controller asks for a `GridState` each cycle, decides with `control.grid_controller`,
and hands its commands back as `DimmingOrders`; the backend dispatches and logs them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bidicharge.components.interfaces.i10_cls import DimmingCommand, LimitRelease
from bidicharge.components.interfaces.i33_master_data import MeteringPoint


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitsRequest:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitsCatalogue:
    points: tuple[MeteringPoint, ...]  # the connection points with a controllable unit


@dataclass(frozen=True, slots=True, kw_only=True)
class GridStateRequest:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class GridState:
    """What the DSO knows now (W, + import): TAF 10 per connection point, status per unit."""

    household_power_W: Mapping[str, float]
    stale: tuple[str, ...]  # households whose last TAF 10 value is missing or old (last good value used)
    unit_power_W: Mapping[str, float]
    unit_demand_W: Mapping[str, float]
    transformer_loading_pct: float | None = None  # SCADA (I-43), if the substation is measured
    transformer_power_W: float | None = None  # SCADA: what the whole LV grid draws (+ import)


@dataclass(frozen=True, slots=True, kw_only=True)
class DimmingOrders:
    commands: tuple[DimmingCommand, ...]
    releases: tuple[LimitRelease, ...]
    triggers: tuple[str, ...] = ()  # assets whose violation caused this cycle's action


@dataclass(frozen=True, slots=True, kw_only=True)
class DispatchReport:
    delivered: tuple[str, ...]  # command ids the control units applied
    refused: Mapping[str, str] = field(default_factory=dict)  # command id -> reason
    queued: tuple[str, ...] = ()  # not delivered yet, retried next cycle


# ---- I-43 grid – DSO backend ------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ScadaRequest:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class ScadaMeasurement:
    transformer_loading_pct: float
    transformer_power_W: float
    vmin_pu: float
    max_line_loading_pct: float
