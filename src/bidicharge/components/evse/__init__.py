"""EVSE (C-EVSE): the charging station between the grid connection and the vehicle.

It speaks to the vehicle on I-01, takes setpoints from its energy manager on I-03, draws or
feeds power at the connection point on I-41, and applies its power stage (ramp, 6 A minimum
for AC, standby, losses). I-01 comes in two forms, exactly one wired:

* ``vehicle_iso15118`` — ISO 15118-20 with IEC 61851-1 (the seed's protocol): the wallbox's SECC
  and control pilot (:mod:`.iso15118`); it knows the car only from the protocol;
* ``vehicle`` — the older in-memory contract (`VehicleStatus`, `EnergyTransfer`), kept for the
  year-long studies, where its speed matters.

I-03 comes in two forms:

* ``eebus`` — EEBUS SPINE (the seed's protocol): the wallbox serves EVSECC/EVCC/EVCEM/EVSOC/
  OPEV/OSCEV/CEVC, LPC/LPP and the discharge extension on its SPINE node (:mod:`.eebus`), paired
  in memory with its energy manager in a study and over SHIP/TLS in live mode (:mod:`.eebus_live`);
* ``energy_manager`` — the older in-memory contract (`PowerSetpoint`, a negative setpoint
  discharges; `ChargerStatus`), kept for scenarios wired to it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, field_validator

from bidicharge.components.evse.eebus import EvseEebus, StageView
from bidicharge.components.evse.eebus_live import EvseEebusLive
from bidicharge.components.evse.iso15118 import EvseIso15118
from bidicharge.components.evse.iso15118_live import EvseIso15118Live
from bidicharge.components.evse.ocpp import EvseOcpp, EvseOcppSettings
from bidicharge.components.evse.setpoint_schedule import SetpointChange, SetpointTimetable, check_order
from bidicharge.components.interfaces.i01_vehicle import (
    EnergyTransfer,
    EnergyTransferResult,
    Iso15118InletRequest,
    VehicleStatus,
    VehicleStatusRequest,
)
from bidicharge.components.interfaces.i03_energy_manager import (
    ChargerStatus,
    ChargerStatusRequest,
    PowerSetpoint,
    SetpointAccepted,
)
from bidicharge.physics import evse_power_stage as stage
from bidicharge.protocols.spine import SpineNode
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import ELECTRICAL, Link, provides, requires


class EvseConfig(ComponentConfig):
    max_power_W: float = Field(11000.0, gt=0)
    phases: int = Field(3, ge=1, le=3)
    dc: bool = False
    bidirectional: bool = True
    efficiency: float = Field(0.97, gt=0, le=1)
    ramp_W_per_s: float = Field(2000.0, gt=0)
    standby_W: float = Field(5.0, ge=0)
    default_setpoint_W: float | None = Field(
        None, description="setpoint without an energy manager; default: charge at full power"
    )
    setpoint_schedule: tuple[SetpointChange, ...] = Field(
        (), description="local timetable of setpoints (see setpoint_schedule.py)"
    )

    @field_validator("setpoint_schedule")
    @classmethod
    def _schedule_in_order(cls, v: tuple[SetpointChange, ...]) -> tuple[SetpointChange, ...]:
        return check_order(v)
    # EEBUS (I-03 port `eebus`)
    eebus_voltage_V: float = Field(230.0, gt=0, description="U in power = current · U · phases (OPEV, LPC)")
    eebus_failsafe_W: float | None = Field(
        None, ge=0, description="LPC failsafe limit of the wallbox itself; default: its maximum (not dimmed)"
    )
    eebus_host: str = Field("127.0.0.1", description="live mode: where the SHIP server listens")
    eebus_port: int = Field(0, ge=0, le=65535, description="live mode: SHIP port (0: any free port)")
    eebus_state_dir: str | None = Field(
        None, description="live mode: keeps the SHIP identity (ship.crt/ship.key) so paired peers know our SKI"
    )
    eebus_trusted_skis: tuple[str, ...] = Field(
        (), description="live mode: SKIs of energy managers outside the scenario that may connect"
    )
    ocpp: EvseOcppSettings = Field(default_factory=EvseOcppSettings, description="OCPP station (I-04/I-05)")


@component_type
class Evse(EvseOcpp, EvseIso15118Live, EvseEebusLive, Component):
    kind = "evse"
    catalogue_id = "C-EVSE"
    Config = EvseConfig
    PORTS = (
        requires("vehicle", "I-01", "in-memory", wire_protocol="ISO 15118-20 / IEC 61851", optional=True,
                 one_of="vehicle"),
        requires("vehicle_iso15118", "I-01", "ISO 15118-20 / IEC 61851", optional=True, one_of="vehicle",
                 description="a bev's `charger_iso15118` port (SECC, control pilot)"),
        provides("energy_manager", "I-03", "in-memory", wire_protocol="EEBUS"),
        provides("eebus", "I-03", "EEBUS SPINE", description="EVSECC/EVCC/EVCEM/EVSOC/OPEV/OSCEV/CEVC, LPC/LPP"),
        provides("grid", "I-41", ELECTRICAL),
        requires("backend", "I-04", "OCPP 2.0.1 / 2.1", optional=True, description="to a CPO backend (CSMS)"),
        requires("evse_backend", "I-05", "OCPP 2.0.1 / 2.1", optional=True, description="to an EVSE backend"),
        requires("frequency", "I-42", ELECTRICAL, optional=True,
                 description="an hv_grid's `distribution`: the frequency for OCPP 2.1 LocalFrequency (see .ocpp)"),
    )
    phase = Phase.ACTUATION
    OBSERVABLES: ClassVar[tuple[str, ...]] = ("ev_power_W", "grid_power_W", "setpoint_W")

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        if config.phases == 2:
            raise ValueError("phases must be 1 or 3")
        self.params = stage.PowerStageParams(
            max_power_W=config.max_power_W,
            phases=config.phases,
            dc=config.dc,
            bidirectional=config.bidirectional,
            efficiency=config.efficiency,
            ramp_W_per_s=config.ramp_W_per_s,
            standby_W=config.standby_W,
        )
        self.state = stage.PowerStageState()
        self.setpoint_W = config.default_setpoint_W if config.default_setpoint_W is not None else config.max_power_W
        self.grid_power_W = 0.0
        self.vehicle: VehicleStatus | None = None
        self.default_setpoint_W = self.setpoint_W
        self.charged_Wh = 0.0  # grid side, into the vehicle (EVCEM)
        self.eebus: EvseEebus | None = None
        self.iso: EvseIso15118 | None = None
        self.timetable = SetpointTimetable(config.setpoint_schedule, context.start_s)

    def eebus_node(self) -> SpineNode:
        """The wallbox's SPINE node (entity ``EVSE``), created on first use."""
        if self.eebus is None:
            cfg = self.config
            self.eebus = EvseEebus(self.name, max_power_W=cfg.max_power_W, phases=cfg.phases,
                                   bidirectional=cfg.bidirectional, now=self.now, efficiency=cfg.efficiency, standby_W=cfg.standby_W,
                                   voltage_V=cfg.eebus_voltage_V,
                                   failsafe_W=cfg.eebus_failsafe_W)
        return self.eebus.node

    def start(self, now: float) -> None:
        super().start(now)
        iso_link = self.link("vehicle_iso15118")
        if iso_link is not None:  # plug the cable in: the car's inlet (pilot, V2GTP, power)
            inlet = self.iso15118_inlet(iso_link.peer.handle(iso_link.peer_port.name, Iso15118InletRequest(), iso_link))
            self.iso = EvseIso15118(name=self.name, vehicle_name=iso_link.peer.name, inlet=inlet, params=self.params,
                                    trace=self.context.trace, evse_id=f"DE*BDC*E{self.name.upper()}",
                                    plan_of=self.timetable.plan if self.config.setpoint_schedule else None)
            self.iso.exchange(now, 0.0, self.setpoint_W)  # know the car from the first cycle
            self.vehicle = self.iso.vehicle_status()
        else:
            self.vehicle = self._vehicle_link().request(VehicleStatusRequest())  # know the car from the first cycle
        if self.inbound.get("eebus") or self.config.eebus_trusted_skis:
            self.eebus_node()
        self._publish(now)

    def _publish(self, now: float) -> None:
        self.ocpp_publish(now)
        if self.eebus is not None:
            self.eebus.publish(now, StageView(
                vehicle=self.vehicle, ev_power_W=self.state.ev_power_W, grid_power_W=self.grid_power_W,
                standby_W=self.params.standby_W,
                charged_Wh=self.charged_Wh, max_power_W=self.params.max_power_W, min_power_W=self.params.min_power_W,
                efficiency=self.params.efficiency))
            self.eebus_sent()

    def _vehicle_link(self) -> Link:
        link = self.link("vehicle")
        assert link is not None
        return link

    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        scheduled = self.timetable.due(now)
        if scheduled is not None:
            self.setpoint_W = self.default_setpoint_W = scheduled
        if self.eebus is not None:
            self.eebus.step(now)
            self.setpoint_W = self.eebus.setpoint_W(self.default_setpoint_W, self.params.efficiency,
                                                   self.params.standby_W)
        self.setpoint_W = self.ocpp_setpoint_W(self.setpoint_W)  # a backend profile in force wins (see .ocpp)
        if self.iso is not None:
            self.iso.exchange(now, dt_s, self.setpoint_W)
            vehicle = self.iso.vehicle_status()
        else:
            vehicle = self._vehicle_link().request(VehicleStatusRequest())
        self.vehicle = vehicle
        if not vehicle.plugged_in or (self.iso is not None and not self.iso.energised):
            self.state = stage.PowerStageState(losses_Wh=self.state.losses_Wh)
            self.grid_power_W = stage.grid_side_W(self.params, 0.0, energised=False)
            self._publish(now + dt_s)
            return
        result = stage.step(
            self.params,
            self.state,
            setpoint_W=self.setpoint_W,
            ev_max_charge_W=vehicle.max_charge_W,
            ev_max_discharge_W=vehicle.max_discharge_W,
            dt_s=dt_s,
        )
        p = result.ev_power_W
        if p != 0.0 and self.iso is not None:
            p = self.iso.inlet.conduct(p, dt_s)
        elif p != 0.0:
            answer: EnergyTransferResult = self._vehicle_link().request(EnergyTransfer(power_W=p, duration_s=dt_s))
            p = answer.power_W
        if self.iso is not None:
            self.iso.delivered(p)
        grid = stage.grid_side_W(self.params, p, energised=True)
        self.state = stage.PowerStageState(
            ev_power_W=p, losses_Wh=self.state.losses_Wh + (grid - p) * dt_s / 3600.0
        )
        self.grid_power_W = grid
        if grid > 0:
            self.charged_Wh += grid * dt_s / 3600.0
        self._publish(now + dt_s)

    def observe(self) -> tuple[float, ...]:
        return (self.state.ev_power_W, self.grid_power_W, self.setpoint_W)

    def status(self) -> ChargerStatus:
        v = self.vehicle
        connected = v is not None and v.plugged_in
        max_c = min(self.params.max_power_W, v.max_charge_W) if connected and v else 0.0
        max_d = min(self.params.max_power_W, v.max_discharge_W) if connected and v and self.params.bidirectional else 0.0
        return ChargerStatus(
            vehicle_connected=connected,
            power_W=self.state.ev_power_W,
            grid_power_W=self.grid_power_W,
            max_charge_W=max_c,
            max_discharge_W=max_d,
            min_power_W=self.params.min_power_W,
            soc=v.soc if connected and v else None,
            capacity_Wh=v.capacity_Wh if connected and v else None,
            departure_s=v.departure_s if connected and v else None,
            target_soc=v.target_soc if connected and v else None,
            min_soc=v.min_soc if connected and v else None,
            charge_efficiency=(v.charge_efficiency if v else 1.0) * self.params.efficiency,
            discharge_efficiency=(v.discharge_efficiency if v else 1.0) * self.params.efficiency,
            stage_efficiency=self.params.efficiency,
        )

    def handle(self, port: str, message: object, link: Link) -> object:
        if isinstance(message, ChargerStatusRequest):
            return self.status()
        if isinstance(message, PowerSetpoint):
            self.setpoint_W = message.power_W
            vc = self.vehicle
            clamped = stage.clamp_setpoint_W(
                self.params,
                message.power_W,
                vc.max_charge_W if vc else 0.0,
                vc.max_discharge_W if vc else 0.0,
            )
            return SetpointAccepted(power_W=clamped)
        return super().handle(port, message, link)

    def report(self) -> dict[str, Any]:
        faults = [] if self.iso is None else list(self.iso.faults)
        return {"losses_Wh": self.state.losses_Wh, "iso15118_faults": faults}
