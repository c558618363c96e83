"""The EVSE's EEBUS side of I-03: one SPINE node, entity ``EVSE``, every EV use-case server.

What the wallbox serves towards its energy manager (EEBUS, see ``docs/eebus.md``):

* EVSECC/EVCC/EVCEM/EVSOC/OPEV/OSCEV/CEVC through :class:`EvseServer` — plug in/out from the
  vehicle's plug state, measurements every cycle, the EV's energy demand (CEVC singleDemand:
  min = to the owner's minimum, opt = to the departure target, max = to full, duration = until
  the departure);
* LPC/LPP on the EVSE entity through :class:`ControllableSystem` (an Energy Guard may limit the
  wallbox directly); its failsafe limit defaults to the wallbox's maximum (grid side), so that a
  wallbox no Energy Guard ever spoke to is not dimmed after 120 s without a heartbeat;
* the bidicharge discharge extension (``x-bidicharge-evDischargeSetpoint``) when bidirectional.

Units on the wire: OPEV currents, EVCEM measurements and the permitted power range are on the
**grid side** of the power stage, for the EV's share (an AC current at the wallbox, power =
current · U · phases, U = ``voltage_V``; the wallbox's own standby is not the EV's); the
discharge setpoint and its maximum are the power **out of the vehicle** at its inlet. The stage's
setpoint is at the vehicle side, so :meth:`EvseEebus.setpoint_W` converts with the stage efficiency.

Our wallbox's policy (not prescribed by EEBUS): when a car plugs in while a CEM is connected
(its heartbeat is alive), the wallbox waits for the CEM's first OPEV write for that car before it
draws power, instead of charging at full power until the CEM has decided.

Every value is published "as of the end of the step" (``now + dt_s``): the state after
``step(now, dt_s)`` is the state at that instant, and it is when the energy manager reads it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bidicharge.components.interfaces.i01_vehicle import VehicleStatus
from bidicharge.protocols.spine import LocalDevice, SpineNode
from bidicharge.protocols.spine.usecases import (
    ControllableSystem,
    Direction,
    EvProfile,
    EvseServer,
    PowerLimitConfig,
)
from bidicharge.protocols.spine.usecases import discharge as ext
from bidicharge.protocols.spine.usecases.common import EC_PERMITTED, SETPOINTS, scaled
from bidicharge.protocols.spine.usecases.ev_layout import POWER_TOTAL_PARAMETER
from bidicharge.protocols.spine.usecases.evse import CurrentLimitsChanged

VOLTAGE_V = 230.0


@dataclass(frozen=True, slots=True, kw_only=True)
class StageView:
    """What the EEBUS side needs of the power stage and the vehicle after one step."""

    vehicle: VehicleStatus | None
    ev_power_W: float  # vehicle side, + into the vehicle
    grid_power_W: float  # grid side, the stage's standby included
    standby_W: float  # drawn by the wallbox itself while energised (not the EV's)
    charged_Wh: float  # grid side, into the vehicle, since the start (EVCEM charged energy)
    max_power_W: float  # the wallbox's own limit (vehicle side)
    min_power_W: float
    efficiency: float  # one way, of the stage


class EvseEebus:
    """The wallbox's SPINE node with the EVSE entity's servers; pure (no I/O, no clock)."""

    def __init__(self, name: str, *, max_power_W: float, phases: int, bidirectional: bool, now: float,
                 efficiency: float = 1.0, standby_W: float = 0.0, voltage_V: float = VOLTAGE_V,
                 failsafe_W: float | None = None) -> None:
        self.name = name
        self.phases = phases
        self.voltage_V = voltage_V
        self.device = LocalDevice(f"d:_n:bidicharge_{name}", "ChargingStation")
        self.node = SpineNode(self.device)
        entity = self.device.add_entity("EVSE")
        self.server = EvseServer(self.node, entity, model="bidicharge evse", serial=name,
                                 max_discharge_W=max_power_W if bidirectional else None)
        grid_max_W = max_power_W / efficiency + standby_W  # the whole wallbox at full power
        failsafe = PowerLimitConfig(nominal_max_W=grid_max_W,
                                    failsafe_limit_W=grid_max_W if failsafe_W is None else failsafe_W)
        self.lpc = ControllableSystem(self.node, entity, now=now, consumption=failsafe,
                                      production=failsafe if bidirectional else None)
        self._published: dict[str, object] = {}
        self.cem_decided = False  # the CEM wrote an obligation for the car plugged in now

    # --- the vehicle's side -> EEBUS ---------------------------------------------------

    def publish(self, now: float, view: StageView) -> None:
        """Plug state, measurements, SoC, demand and the power ranges as of ``now``."""
        v = view.vehicle
        plugged = v is not None and v.plugged_in
        if not plugged:
            if self.server.ev is not None:
                self.server.unplug(now)
                self._published.clear()
            return
        assert v is not None
        eta = view.efficiency
        max_charge_W = min(view.max_power_W, v.max_charge_W)
        max_discharge_W = min(view.max_power_W, v.max_discharge_W)
        if self.server.ev is None:
            self.cem_decided = False
            u_ph = self.voltage_V * self.phases
            self.server.plug_in(EvProfile(
                communication_standard="iso15118-20", phases=self.phases,
                min_current_A=round(view.min_power_W / eta / u_ph, 3),
                max_current_A=round(view.max_power_W / eta / u_ph, 3),
                min_power_W=view.min_power_W / eta, max_power_W=max_charge_W / eta), now)
        per_phase_W = (view.grid_power_W - view.standby_W) / self.phases  # EVCEM: what goes to the EV
        current_A = per_phase_W / self.voltage_V
        self.server.update_measurements(now, current_A=(current_A,) * self.phases, power_W=(per_phase_W,) * self.phases,
                                        charged_energy_Wh=view.charged_Wh, soc=v.soc)
        self._permitted_power(now, view.min_power_W / eta, max_charge_W / eta)
        self._discharge_max(now, max_discharge_W)
        self._demand(now, v)

    def _permitted_power(self, now: float, min_W: float, max_W: float) -> None:
        """EVCC power range: follows the vehicle (its limit falls as it fills up)."""
        key = (round(min_W, 3), round(max_W, 3))
        if self._published.get("power") == key:
            return
        self._published["power"] = key
        feature = self.server.ev_electrical
        data = feature.data.get(EC_PERMITTED) or {}
        sets = [dict(s) for s in data.get("electricalConnectionPermittedValueSetData", [])]
        for s in sets:
            if s.get("parameterId") == POWER_TOTAL_PARAMETER:
                s["permittedValueSet"] = [{"range": [{"min": scaled(min_W), "max": scaled(max_W)}]}]
        self.node.set_data(feature, EC_PERMITTED, {"electricalConnectionPermittedValueSetData": sets}, now)

    def _discharge_max(self, now: float, max_W: float) -> None:
        """The extension's ``valueMax``: what the vehicle can give now (0 at its minimum SoC)."""
        feature = self.server.ev_setpoint
        if feature is None or self._published.get("discharge_max") == round(max_W, 3):
            return
        self._published["discharge_max"] = round(max_W, 3)
        self.node.update_data(feature, SETPOINTS, {"setpointData": [
            {"setpointId": ext.SETPOINT_ID, "valueMax": scaled(max_W)}]}, now)

    def _demand(self, now: float, v: VehicleStatus) -> None:
        soc, capacity = v.soc, v.capacity_Wh
        target = v.target_soc if v.target_soc is not None else 1.0
        duration = None if v.departure_s is None else max(0.0, v.departure_s - now)
        key = (round(soc, 6), target, v.departure_s)
        if self._published.get("demand") == key:
            return
        self._published["demand"] = key
        self.server.set_energy_demand(now, min_Wh=max(0.0, (v.min_soc - soc) * capacity),
                                      opt_Wh=max(0.0, (target - soc) * capacity),
                                      max_Wh=max(0.0, (1.0 - soc) * capacity), duration_s=duration)

    # --- EEBUS -> the power stage --------------------------------------------------------

    def setpoint_W(self, default_W: float, efficiency: float, standby_W: float = 0.0) -> float:
        """The stage setpoint (vehicle side, + charge): the discharge setpoint capped by LPP when
        one is active, else ``min(default, OPEV obligation, LPC limit)`` converted to the vehicle
        side. OPEV bounds the current to the EV (EVCEM measures the same); LPC on the EVSE entity
        bounds what the whole wallbox draws, its own standby included."""
        discharge_W = ext.effective_discharge_W(self.server.discharge_setpoint_W(),
                                                self.lpc.limit_W(Direction.PRODUCE)
                                                if Direction.PRODUCE in self.lpc.configs else None)
        if discharge_W > 0:
            return -discharge_W
        if self.server.cem_alive and (self.server.ev is None or not self.cem_decided):
            return 0.0  # a CEM is there: wait for its decision on this car
        cap_W = default_W
        obligation, _ = self.server.current_limits_A()
        caps = [c for c in obligation if c is not None]
        if caps:
            cap_W = min(cap_W, min(caps) * self.voltage_V * self.phases * efficiency)
        lpc_W = self.lpc.limit_W(Direction.CONSUME)
        if lpc_W is not None and math.isfinite(lpc_W):
            cap_W = min(cap_W, max(0.0, lpc_W - standby_W) * efficiency)
        return cap_W

    def step(self, now: float) -> None:
        """Timers of the actors: the CEM heartbeat watchdog, LPC heartbeat and limit expiry."""
        self.server.step(now)
        self.lpc.step(now)
        for event in self.server.events():
            if isinstance(event, CurrentLimitsChanged):
                self.cem_decided = True  # otherwise the stage reads the limits in force each cycle
        for _ in self.lpc.events():
            pass
