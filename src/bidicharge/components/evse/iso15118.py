"""The EVSE's side of I-01 over ISO 15118-20 and IEC 61851-1: the wallbox's SECC and pilot.

:class:`EvseIso15118` owns the charger's :class:`~bidicharge.protocols.iso15118_20.Secc` (a new
one per EVCC connection) and its :class:`~bidicharge.protocols.iec61851.PilotMonitor`, and
reaches the vehicle through the cable (`Iso15118Inlet`, the bev's port ``charger_iso15118``).
In a study the V2GTP bytes travel in memory; every frame is decoded and traced on I-01 under
its message name (protocol "ISO 15118-20"), every pilot change under "IEC 61851-1".

What the wallbox knows of the car it knows from the protocol only: limits from
ChargeParameterDiscovery and every Dynamic charge loop (EVMaximum/MinimumCharge/DischargePower,
0 W discharge at the car's minimum SoC), needs from ScheduleExchange and the loop
(EVTargetEnergyRequest, EVMaximum/MinimumEnergyRequest, EVMinimumV2XEnergyRequest, departure
time, target and minimum SoC), SoC and battery capacity from the DisplayParameters. From these
:meth:`vehicle_status` builds the `VehicleStatus` the wallbox reports upward (I-03, EEBUS, OCPP).
Not on the wire: the car's battery efficiencies; the wallbox reports 1.0 (energies at the inlet).

The wallbox's setpoint (vehicle side, + charges, − discharges; from its energy manager or
backend) becomes the SECC's power target, clamped to what the car announced and what the stage
can do (AC: 6 A minimum): in Dynamic mode the EVSETargetActivePower of the next loop answer.
In Scheduled mode the wallbox offers a schedule at ScheduleExchange: with `plan_of` (its local
timetable laid out from now, `SetpointTimetable.plan`) the whole day ahead — charge and discharge
periods as ChargingSchedule/DischargingSchedule entries, which the car then follows on its own;
otherwise the present setpoint as one entry. A setpoint that departs from what was offered (an
energy manager or backend overriding) asks the car to renegotiate and offers the plan anew.

Pilot and contactor ([V2G20-847], IEC 61851-1 Annex A): the contactor closes only after the
SECC accepted PowerDelivery(Start) and the car switched to C; it opens on PowerDelivery(Stop),
when a session fails (an error answer, a timeout, a lost connection) and when the car is pulled
out; then no power flows (de-energised) until the car starts a new session.

Time: each study step advances the pair through [now, now + dt): every deadline inside it (the
EVCC's loop pacing and retries, the SECC's sequence timeout, the 250 ms pilot rule) is handled
at its own instant; exchanges in memory take no time.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from bidicharge.components.interfaces.i01_vehicle import Iso15118Inlet, NO_DEPARTURE_s, VehicleStatus
from bidicharge.physics import evse_power_stage as stage
from bidicharge.protocols.exi.messages import common_messages as cm
from bidicharge.protocols.iec61851 import NOMINAL_V, CpState, PhaseChanged, PilotMonitor
from bidicharge.protocols.iso15118_20 import (
    AcEvseLimits,
    ControlMode,
    DcEvseLimits,
    RemoteProtocolError,
    Secc,
    SeccConfig,
    ServiceId,
    bpt_offer,
)
from bidicharge.protocols.iso15118_20 import events as ev
from bidicharge.protocols.iso15118_20.v2gtp import FrameReader
from bidicharge.protocols.iso15118_20.wire import decode_message
from bidicharge.runtime.trace import TraceRecorder

PROTOCOL = "ISO 15118-20"
PILOT_PROTOCOL = "IEC 61851-1"
INTERFACE = "I-01"
MAX_ROUNDS = 10_000  # exchanges within one step; a pair that never settles is a bug, not a loop


@dataclass(frozen=True, slots=True, kw_only=True)
class PilotChange:
    """A control-pilot change as the wallbox measures it (traced)."""

    state: str  # A…F
    phase: str
    duty: float
    contactor_closed: bool


def _session_ids() -> Callable[[], bytes]:
    count = 0

    def next_id() -> bytes:
        nonlocal count
        count += 1
        return count.to_bytes(8, "big")

    return next_id


class EvseIso15118:
    def __init__(self, *, name: str, vehicle_name: str, inlet: Iso15118Inlet, params: stage.PowerStageParams,
                 trace: TraceRecorder, evse_id: str,
                 plan_of: Callable[[float, float], list[tuple[int, float]]] | None = None) -> None:
        self.name, self.vehicle_name = name, vehicle_name
        self.plan_of = plan_of
        self._offered: tuple[float, list[tuple[int, float]]] | None = None  # (when, raw plan) in Scheduled mode
        self.inlet = inlet
        self.params = params
        self.trace = trace
        self.secc_config = self._secc_config(params, evse_id)
        self.secc: Secc | None = None
        self.pilot = PilotMonitor()
        self._connection = 0
        self._target_sent: float | None = None
        self._forget_vehicle()
        self.faults: list[tuple[float, str]] = []  # (time, why) of failed sessions and pilot faults

    @staticmethod
    def _secc_config(p: stage.PowerStageParams, evse_id: str) -> SeccConfig:
        if p.dc:
            service = ServiceId.DC_BPT if p.bidirectional else ServiceId.DC
        else:
            service = ServiceId.AC_BPT if p.bidirectional else ServiceId.AC
        discharge_W = p.max_power_W if p.bidirectional else 0.0
        offer = bpt_offer(service, control_modes=(ControlMode.DYNAMIC, ControlMode.SCHEDULED),
                          nominal_voltage_V=round(p.voltage_V))
        return SeccConfig(
            evse_id=evse_id, offers=(offer,), new_session_id=_session_ids(),
            ac=AcEvseLimits(max_charge_power_W=p.max_power_W, min_charge_power_W=p.min_power_W,
                            max_discharge_power_W=discharge_W, min_discharge_power_W=p.min_power_W),
            dc=DcEvseLimits(max_charge_power_W=p.max_power_W, max_discharge_power_W=discharge_W),
        )

    def _forget_vehicle(self) -> None:
        self.limits: ev.EvLimits | None = None
        self.needs: ev.EvEnergyNeeds | None = None
        self._needs_at = 0.0
        self.status: ev.EvStatus | None = None
        self._capacity_Wh: float | None = None
        self._ev_voltage_V = 400.0

    # ---- what the wallbox knows -------------------------------------------------------------
    @property
    def energised(self) -> bool:
        """The contactor is closed (PowerDelivery(Start) accepted and the car in C)."""
        return self.pilot.contactor_closed

    def vehicle_status(self) -> VehicleStatus:
        """The car as the protocol told us; not plugged in until it has stated its needs."""
        plugged = self.inlet.cp_state is not CpState.A
        lim, needs = self.limits, self.needs
        if not plugged or lim is None or needs is None:
            return VehicleStatus(plugged_in=False, soc=0.0, capacity_Wh=0.0, max_charge_W=0.0, max_discharge_W=0.0,
                                 departure_s=None, target_soc=None, min_soc=0.0, charge_efficiency=1.0,
                                 discharge_efficiency=1.0)
        capacity = self._capacity_Wh or 0.0
        soc = self.status.soc if self.status is not None and self.status.soc is not None else 0.0
        if capacity > 0 and needs.max_energy_Wh is not None:
            soc = min(1.0, max(0.0, 1.0 - needs.max_energy_Wh / capacity))  # finer than the percent on display
        departure = needs.departure_time_s
        return VehicleStatus(
            plugged_in=True,
            soc=soc,
            capacity_Wh=capacity,
            max_charge_W=lim.max_charge_power_W,
            max_discharge_W=lim.max_discharge_power_W or 0.0,
            departure_s=None if departure is None or departure >= NO_DEPARTURE_s else self._needs_at + departure,
            target_soc=needs.target_soc,
            min_soc=needs.min_soc or 0.0,
            charge_efficiency=1.0,  # not carried by ISO 15118-20
            discharge_efficiency=1.0,
        )

    # ---- one study step ----------------------------------------------------------------------
    def exchange(self, now: float, dt_s: float, setpoint_W: float) -> None:
        """Run the session and the pilot through [now, now + dt_s) with the wallbox's setpoint."""
        self._setpoint_W = setpoint_W
        end = now + dt_s
        t = now
        handled: float | None = None  # a deadline still there after its instant was handled is stale
        self._pump(t)
        for _ in range(MAX_ROUNDS):
            deadlines = [d for d in (self.inlet.next_deadline(), self.pilot.next_deadline(),
                                     self.secc.next_deadline() if self.secc is not None else None)
                         if d is not None and d < end and (handled is None or d > handled)]
            if not deadlines:
                return
            t = handled = max(t, min(deadlines))
            self.inlet.handle_timeout(t)  # the EV's request first: it resets the SECC's timer
            self._pump(t)
            if self.secc is not None:
                self.secc.handle_timeout(t)
                self._secc_events(t)
            self.pilot.handle_timeout(t)
            self._pilot_events(t)
        raise RuntimeError(f"EVSE {self.name}: the ISO 15118-20 session did not settle within one step")

    def poll(self, now: float) -> None:
        """Live mode: bytes arrived on the socket; exchange them now (not at the next step)."""
        self._pump(now)
        if self.secc is not None:
            self.secc.handle_timeout(now)
            self._secc_events(now)

    def connection_lost(self, now: float) -> None:
        """Live mode: the EVCC's TCP connection closed."""
        if self.secc is not None and not self.secc.closed:
            self.secc.connection_lost()
            self._secc_events(now)

    def delivered(self, ev_power_W: float) -> None:
        """The stage's output over the step (vehicle side): what a DC stage measures and reports."""
        if self.secc is not None and not self.secc.closed and self.params.dc and self.energised:
            v = self._ev_voltage_V
            self.secc.set_dc_output(voltage_V=v, current_A=ev_power_W / v if v else 0.0)

    # ---- inside ---------------------------------------------------------------------------
    def _pump(self, t: float) -> None:
        for _ in range(MAX_ROUNDS):
            self._sync_connection(t)
            up = self.inlet.data_to_send()
            secc = self.secc
            if up:
                self._trace_frames(up, self.vehicle_name, self.name, t)
                if secc is not None:
                    self._command(t)
                    secc.receive_data(up, t)
                    self._secc_events(t)
            down = secc.data_to_send() if secc is not None else b""
            if down:
                self._trace_frames(down, self.name, self.vehicle_name, t)
                self.inlet.receive_data(down, t)
            self._measure_pilot(t)
            if not up and not down:
                return
        raise RuntimeError(f"EVSE {self.name}: the ISO 15118-20 exchange does not settle")

    def _sync_connection(self, t: float) -> None:
        """A new EVCC connection gets a new SECC; a pulled plug ends the old one."""
        unplugged = self.inlet.cp_state is CpState.A
        if self.secc is not None and not self.secc.closed and (unplugged or self.inlet.connection != self._connection):
            self.secc.connection_lost()
            self._secc_events(t)
        if not unplugged and self.inlet.connection != self._connection:
            self._connection = self.inlet.connection
            self.secc = Secc(self.secc_config)
            self._target_sent = None
            self._offered = None
            self._forget_vehicle()

    def _command(self, t: float) -> None:
        """The setpoint as the SECC's target (or the plan as its schedule), clamped to the car's
        announced limits and the stage."""
        assert self.secc is not None
        lim = self.limits
        max_c = lim.max_charge_power_W if lim is not None else self.params.max_power_W
        max_d = (lim.max_discharge_power_W or 0.0) if lim is not None else self.params.max_power_W
        ps = self.secc.parameter_set
        if self.plan_of is not None and ps is not None and ps.control_mode is ControlMode.SCHEDULED:
            self._offer_plan(t, max_c, max_d)
            return
        target = stage.clamp_setpoint_W(self.params, self._setpoint_W, max_c, max_d)
        if target != self._target_sent:  # Scheduled mode without a plan renegotiates on every change
            self._target_sent = target
            self.secc.set_power_target(target)

    def _offer_plan(self, t: float, max_c: float, max_d: float) -> None:
        """Offer the plan once per session; again (renegotiation) only when the setpoint left it."""
        assert self.secc is not None and self.plan_of is not None
        if self._offered is not None and _power_at(*self._offered, t) == self._setpoint_W:
            return
        plan = self.plan_of(t, self._setpoint_W)
        self._offered = (t, plan)
        self.secc.set_schedule([(d, stage.clamp_setpoint_W(self.params, p, max_c, max_d)) for d, p in plan])

    def _secc_events(self, t: float) -> None:
        assert self.secc is not None
        for e in self.secc.events():
            if isinstance(e, ev.EvLimits):
                self.limits = e
            elif isinstance(e, ev.EvEnergyNeeds):
                self.needs, self._needs_at = e, t
            elif isinstance(e, ev.EvStatus):
                self.status = e
                if e.battery_capacity_Wh:
                    self._capacity_Wh = e.battery_capacity_Wh
                if e.present_voltage_V:
                    self._ev_voltage_V = e.present_voltage_V
            elif isinstance(e, ev.PreChargeRequested):
                self._ev_voltage_V = e.target_voltage_V
                self.secc.set_dc_output(voltage_V=e.target_voltage_V)
            elif isinstance(e, ev.PowerDeliveryRequested):
                if e.progress == cm.ChargeProgress.Start:
                    self.pilot.power_delivery_start(t)
                elif e.progress in (cm.ChargeProgress.Stop, cm.ChargeProgress.Standby):
                    self.pilot.power_delivery_stop(t)
                    self.secc.set_dc_output(voltage_V=0.0)
                self._pilot_events(t)
            elif isinstance(e, ev.SessionEnded):
                self._session_ended(e, t)

    def _session_ended(self, e: ev.SessionEnded, t: float) -> None:
        self.pilot.power_delivery_stop(t)  # de-energise, whatever the reason
        if self.secc is not None:
            self.secc.set_dc_output(voltage_V=0.0)
        self._pilot_events(t)
        if e.error is not None:
            self.faults.append((t, e.error))
            if self.trace.enabled:
                code = None if e.response_code is None else e.response_code.name
                self.trace.record(time_s=t, interface=INTERFACE, source=self.name, target=self.vehicle_name,
                                  protocol=PROTOCOL, message="SessionFault",
                                  summary=json.dumps({"error": e.error, "response_code": code}))

    def _measure_pilot(self, t: float) -> None:
        cp = self.inlet.cp_state
        if cp is not self.pilot.cp_state or self.pilot.phase.value == "Fault":
            self.pilot.measure(NOMINAL_V[cp], t)
            self._pilot_events(t)

    def _pilot_events(self, t: float) -> None:
        for e in self.pilot.events():
            if isinstance(e, PhaseChanged):
                if self.trace.enabled:
                    self.trace.record(time_s=t, interface=INTERFACE, source=self.vehicle_name, target=self.name,
                                      protocol=PILOT_PROTOCOL, message="ControlPilot", payload=PilotChange(
                                          state=e.cp_state.value if e.cp_state else "?", phase=e.phase.value,
                                          duty=e.duty, contactor_closed=e.contactor_closed))
            else:
                self.faults.append((t, e.reason))
                if self.trace.enabled:
                    self.trace.record(time_s=t, interface=INTERFACE, source=self.name, target=self.vehicle_name,
                                      protocol=PILOT_PROTOCOL, message="PilotFault", summary=json.dumps(e.reason))

    def _trace_frames(self, data: bytes, source: str, target: str, t: float) -> None:
        if not self.trace.enabled:
            return
        reader = FrameReader()
        reader.feed(data)
        try:
            for frame in reader.frames():
                try:
                    message = decode_message(frame)
                except RemoteProtocolError as exc:
                    self.trace.record(time_s=t, interface=INTERFACE, source=source, target=target, protocol=PROTOCOL,
                                      message="undecodable", summary=json.dumps(str(exc)))
                    continue
                self.trace.record(time_s=t, interface=INTERFACE, source=source, target=target, protocol=PROTOCOL,
                                  message=type(message).__name__, payload=message)
        except RemoteProtocolError as exc:
            self.trace.record(time_s=t, interface=INTERFACE, source=source, target=target, protocol=PROTOCOL,
                              message="not V2GTP", summary=json.dumps(str(exc)))


def _power_at(since: float, plan: list[tuple[int, float]], t: float) -> float | None:
    """The plan's power at `t` (None past its end)."""
    elapsed = t - since
    for duration, power in plan:
        if elapsed < duration:
            return power
        elapsed -= duration
    return None
