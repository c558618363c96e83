"""The DSO's §14a grid controller (C-GRID-CTRL, kind ``grid_controller``) for one LV grid.

Every cycle it asks the DSO backend for the grid state it has (TAF 10 power per connection
point through the gateways and the pEMP, the controllable units' draw and demand through
the CLS status path, the substation's measured power; I-31), estimates the connection
points without a smart meter from the substation's residual, runs `control.grid_controller.decide` on its own Kerber model
(power-flow estimate and one-step forecast; dims the fewest units, never below their §14a
minimum, releases with hysteresis, renews before expiry), and hands the commands back to the
DSO backend to dispatch and log (I-31). Units reached only by ripple control get a ripple
telegram for their group instead (I-27: step 1 to dim, 0 to release).

With `enabled: false` it watches and decides nothing (the "without §14a" case).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from bidicharge.components.interfaces.i10_cls import DimmingCommand, LimitRelease
from bidicharge.components.interfaces.i27_ripple import RippleTelegram
from bidicharge.components.interfaces.i31_grid import (
    DimmingOrders,
    GridState,
    GridStateRequest,
    UnitsCatalogue,
    UnitsRequest,
)
from bidicharge.components.lv_mv_grid.model import kerber_grid
from bidicharge.control import grid_controller as gc
from bidicharge.control.section14a import ControllableDevice, DeviceId, DeviceKind
from bidicharge.physics.lv_grid import HouseholdId, KerberNetwork
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import requires


class GridControllerConfig(ComponentConfig):
    network: KerberNetwork = KerberNetwork.DORFNETZ
    enabled: bool = True
    min_hold_s: float = Field(900.0, ge=0)
    command_duration_s: float = Field(3600.0, gt=0)
    renew_before_s: float = Field(300.0, ge=0)
    dim_margin_pct: float = Field(3.0, ge=0)
    command_id_prefix: str = "dso"


@component_type
class GridController(Component):
    kind = "grid_controller"
    catalogue_id = "C-GRID-CTRL"
    Config = GridControllerConfig
    PORTS = (
        requires("dso", "I-31", "in-memory", wire_protocol="proprietary"),
        requires("relays", "I-27", "in-memory", wire_protocol="ripple control", many=True, optional=True),
    )
    phase = Phase.CONTROL
    OBSERVABLES: ClassVar[tuple[str, ...]] = ("dimmed_units", "planned_loading_pct")

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.grid = kerber_grid(config.network)
        self.settings = gc.ControllerConfig(min_hold_s=config.min_hold_s, command_duration_s=config.command_duration_s,
                                            renew_before_s=config.renew_before_s, dim_margin_pct=config.dim_margin_pct,
                                            command_id_prefix=config.command_id_prefix)
        self.state = gc.ControllerState()
        self.units: list[gc.ControllableUnit] | None = None
        self.ripple_group: dict[str, str] = {}  # unit -> group, for units without a CLS channel
        self.planned_loading_pct = float("nan")
        self.unresolved: list[tuple[float, str, str]] = []
        self.commands_sent = 0

    def _load_units(self) -> list[gc.ControllableUnit]:
        dso = self.link("dso")
        assert dso is not None
        catalogue: UnitsCatalogue = dso.request(UnitsRequest())
        units = []
        for p in catalogue.points:
            if p.unit_id is None:
                continue
            devices = tuple(ControllableDevice(device_id=DeviceId(d.device_id), kind=DeviceKind(d.kind),
                                               rated_power_W=d.rated_power_W, phases=d.phases) for d in p.devices)
            units.append(gc.ControllableUnit(unit_id=gc.UnitId(p.unit_id), household_id=HouseholdId(p.household_id),
                                             devices=devices, via_ems=p.via_ems))
            if p.channel_id is None and p.ripple_group is not None:
                self.ripple_group[p.unit_id] = p.ripple_group
        return units

    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        dso = self.link("dso")
        assert dso is not None
        if self.units is None:
            self.units = self._load_units()
        state: GridState = dso.request(GridStateRequest())
        if not state.household_power_W or not self.config.enabled:
            return
        observation = gc.Observation(
            household_power_W=self.estimate(state),
            unit_power_W={gc.UnitId(u): p for u, p in state.unit_power_W.items()},
            unit_demand_W={gc.UnitId(u): p for u, p in state.unit_demand_W.items()},
        )
        decision = gc.decide(self.grid, self.units, self.settings, self.state, observation, now)
        self.state = decision.state
        self.planned_loading_pct = decision.planned.transformer_loading_pct
        for u in decision.unresolved:
            self.unresolved.append((now, u.violation.asset, u.reason))
        if decision.commands or decision.releases:
            self._dispatch(decision, now)

    def estimate(self, state: GridState) -> dict[HouseholdId, float]:
        """TAF 10 where a connection point has a smart meter; the rest of what the substation
        measures (SCADA, I-43) shared equally by the connection points without one."""
        powers = {HouseholdId(h): p for h, p in state.household_power_W.items()}
        unknown = [h for h in self.grid.household_ids if h not in powers]
        if unknown and state.transformer_power_W is not None:
            residual = max(state.transformer_power_W - sum(powers.values()), 0.0)
            powers |= dict.fromkeys(unknown, residual / len(unknown))
        return powers

    def _dispatch(self, decision: gc.Decision, now: float) -> None:
        commands = tuple(DimmingCommand(command_id=c.command_id, unit_id=c.unit_id, limit_W=c.limit_W,
                                        start_s=c.start_s, duration_s=c.duration_s) for c in decision.commands)
        releases = tuple(LimitRelease(command_id=r.command_id, unit_id=r.unit_id,
                                      releases_command_id=r.releases_command_id, start_s=r.at_s)
                         for r in decision.releases)
        triggers = tuple(dict.fromkeys(v.asset for v in decision.violations if v.kind not in gc.FEED_IN_KINDS))
        dso = self.link("dso")
        assert dso is not None
        dso.request(DimmingOrders(commands=commands, releases=releases, triggers=triggers))
        self.commands_sent += len(commands) + len(releases)
        relays = self.peers("relays")
        for cmd in commands:
            self._ripple(relays, cmd.unit_id, cmd.command_id, 1)
        for rel in releases:
            self._ripple(relays, rel.unit_id, rel.command_id, 0)

    def _ripple(self, relays: list[Any], unit_id: str, telegram_id: str, step: int) -> None:
        group = self.ripple_group.get(unit_id)
        if group is None:
            return
        for link in relays:
            if link.peer.config.group == group:
                link.request(RippleTelegram(telegram_id=telegram_id, group=group, step=step))

    def observe(self) -> tuple[float, ...]:
        return (float(len(self.state.active)), self.planned_loading_pct)

    def report(self) -> dict[str, Any]:
        return {"commands_sent": self.commands_sent, "unresolved": self.unresolved[-20:],
                "active_at_end": sorted(self.state.active)}
