"""The HEMS's EEBUS side: the CEM of I-03 (wallboxes) and the Controllable System of I-09.

One SPINE node, entity ``CEM``, with

* :class:`CemEvClient` towards every wallbox wired to ``chargers`` on its ``eebus`` port: the
  EV's data (EVCC, EVCEM, EVSOC, CEVC demand) become the strategies' :class:`ChargerStatus`;
  their setpoint goes out as an OPEV obligation (charging, a grid-side current per phase) or as
  the discharge extension's setpoint (V2H/V2G, power out of the vehicle);
* :class:`ControllableSystem` (LPC) towards the Energy Guard wired to ``grid_guard`` (I-09): the
  limit in force — or the failsafe limit after 120 s without the guard's heartbeat — is the
  §14a allowance of the controllable devices (wallbox + home battery);
* :class:`MonitoringAppliance` (MGCP) towards the meter side wired to ``meter`` on its ``eebus``
  port (I-47, HAN): subscribed to the Grid Connection Point's measurements, whose notifications
  become the strategies' :class:`MeterReading` (power, energy consumed and fed in).

What EEBUS does not carry comes from the **owner's settings** (:class:`OwnerEvConfig` in the
HEMS config), never from the wallbox's memory: the conversion efficiencies and the car's
minimum SoC; the capacity too when given, else it is worked out from the CEVC demand
(max = energy to full, so capacity = max / (1 − SoC)). The departure and the target come from
the CEVC demand (duration until departure; opt = energy to the target).

Study mode: one :class:`MemoryLink` with our node and the peers' nodes (each peer component
exposes ``eebus_node()``), pumped every step; every datagram is recorded in the run's trace
(interface I-03 or I-09, protocol ``EEBUS SPINE``, message = the SPINE function). Live mode:
:mod:`.eebus_live` carries the same node over SHIP/TLS.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from typing import Final

from pydantic import Field

from bidicharge.components.interfaces.i03_energy_manager import ChargerStatus
from bidicharge.components.interfaces.i47_han import MeterReading
from bidicharge.protocols.ship.eebus_json import JsonObject
from bidicharge.protocols.spine import LocalDevice, SpineNode
from bidicharge.protocols.spine.memory import MemoryLink
from bidicharge.protocols.spine.model import decode_datagram
from bidicharge.protocols.spine.usecases import (
    CemEvClient,
    ControllableSystem,
    Direction,
    LimitState,
    MonitoringAppliance,
    PowerLimitConfig,
)
from bidicharge.protocols.spine.usecases import ev_layout as L
from bidicharge.protocols.spine.usecases.cem import EvDataUpdated, EvDisconnected, EvWriteResult
from bidicharge.protocols.spine.usecases.common import (
    TIME_SERIES,
    items,
    obj,
    remote_data,
    remote_feature,
    unscaled,
)
from bidicharge.protocols.spine.usecases.lpc import LIMIT_ID, PowerLimitChanged
from bidicharge.protocols.spine.values import parse_duration_s
from bidicharge.runtime.component import ComponentConfig
from bidicharge.runtime.trace import TraceRecorder

PROTOCOL: Final = "EEBUS SPINE"
VOLTAGE_V: Final = 230.0
log = logging.getLogger(__name__)


class OwnerEvConfig(ComponentConfig):
    """The owner's settings for the car behind an EEBUS wallbox (what EEBUS does not carry)."""

    capacity_kWh: float | None = Field(None, gt=0, description="None: from the CEVC demand, max / (1 − SoC)")
    min_soc: float = Field(0.0, ge=0, le=1, description="never discharged below this (besides the V2H reserve)")
    charge_efficiency: float = Field(0.9, gt=0, le=1, description="grid → car battery, wallbox and car together")
    discharge_efficiency: float = Field(0.9, gt=0, le=1)
    wallbox_efficiency: float = Field(0.96, gt=0, le=1, description="the wallbox's own conversion, one way")
    wallbox_standby_W: float = Field(0.0, ge=0, le=100, description="what each wallbox draws for itself; "
                                     "drawn inside the §14a allowance, booked by the meter as house load")
    voltage_V: float = Field(VOLTAGE_V, gt=0, description="U in power = current · U · phases (OPEV)")


@dataclass(frozen=True, slots=True, kw_only=True)
class EebusPeer:
    name: str  # component name (study) or a label of the external device (live)
    interface: str  # "I-03" (wallbox), "I-09" (Energy Guard) or "I-47" (meter side, MGCP)


def clip_to_14a(*, limit_W: float | None, house_W: float, pv_W: float, ev_grid_W: float,
                battery_W: float) -> tuple[float, float]:
    """(ev_grid_W, battery_W) cut so that grid import ≤ house load + §14a allowance.

    Only the controllable devices are dimmed (BK6-22-300): battery charging is cut first, then
    the car's charging; discharging and the house load are never touched. ``pv_W`` is the PV
    generation (≥ 0), which the devices may use beyond the allowance.
    """
    if limit_W is None or not math.isfinite(limit_W):
        return ev_grid_W, battery_W
    grid_import = max(0.0, house_W - pv_W + ev_grid_W + battery_W)
    excess = grid_import - (house_W + limit_W)
    if excess <= 0:
        return ev_grid_W, battery_W
    battery_cut = min(excess, max(0.0, battery_W))
    ev_cut = min(excess - battery_cut, max(0.0, ev_grid_W))
    return ev_grid_W - ev_cut, battery_W - battery_cut


class HemsEebus:
    """The CEM node, its actors, and the peers it talks to; pure apart from the trace."""

    def __init__(self, name: str, *, now: float, trace: TraceRecorder, guard: bool, failsafe_W: float,
                 nominal_max_W: float, owner: OwnerEvConfig, meter: bool = False) -> None:
        self.name = name
        self.trace = trace
        self.owner = owner
        self.device = LocalDevice(f"d:_n:bidicharge_{name}", "EnergyManagementSystem")
        self.node = SpineNode(self.device)
        entity = self.device.add_entity("CEM")
        self.cs: ControllableSystem | None = None
        if guard:
            self.cs = ControllableSystem(self.node, entity, now=now, consumption=PowerLimitConfig(
                nominal_max_W=nominal_max_W, failsafe_limit_W=failsafe_W, contractual_nominal_max_W=nominal_max_W))
        self.cem = CemEvClient(self.node, entity)
        self.monitor = MonitoringAppliance(self.node, entity) if meter else None
        self.peers: dict[str, EebusPeer] = {}  # peer id (node name / SKI) -> who
        self.memory: MemoryLink | None = None
        self.limit_until_s: float | None = None  # end of the §14a limit in force, when known
        self.limit_changed = False  # set when the limit changes; the planner clears it
        self._demand_at: dict[str, float] = {}
        self._sent: dict[tuple[str, str], object] = {}
        self.rejected: list[tuple[float, str, int]] = []  # (time, peer, error number) of refused writes
        self.on_sent: list[object] = []  # live: callbacks that flush the transport

    # --- wiring --------------------------------------------------------------------------

    def add_peer(self, peer_id: str, peer: EebusPeer) -> None:
        self.peers[peer_id] = peer

    def chargers(self) -> list[str]:
        return [p for p, who in self.peers.items() if who.interface == "I-03"]

    def meter_reading(self) -> MeterReading | None:
        """The grid connection point as MGCP last told us (None: no meter connected or no power yet).

        MGCP's sign is the meter's (+ import, ``positiveEnergyDirection: consume``); the
        energies are the registers 1.8.0 (consumed) and 2.8.0 (fed in).
        """
        if self.monitor is None:
            return None
        for peer in self.monitor.points:
            if self.peers.get(peer, EebusPeer(name="", interface="")).interface != "I-47":
                continue
            grid = self.monitor.reading(peer)
            if grid.power_W is None:
                return None
            return MeterReading(power_W=grid.power_W, import_Wh=grid.consumed_energy_Wh or 0.0,
                                export_Wh=grid.feed_in_energy_Wh or 0.0)
        return None

    def pair_in_memory(self, nodes: dict[str, SpineNode], now: float) -> None:
        """Study mode: our node and the peers' nodes on one :class:`MemoryLink`."""
        self.memory = MemoryLink(keep_trace=False, tracer=self._trace_datagram if self.trace.enabled else None)
        self.memory.add(self.name, self.node)
        for name, node in nodes.items():
            self.memory.add(name, node)
        for name in nodes:
            self.memory.connect(self.name, name, now)

    def _trace_datagram(self, source: str, target: str, document: JsonObject, now: float) -> None:
        peer = self.peers.get(target if source == self.name else source)
        if peer is None:
            return
        try:
            datagram = decode_datagram(document)
            function = datagram.cmd.function
            kind = datagram.header.cmd_classifier.value
            payload = datagram.cmd.data
        except Exception:  # a datagram we cannot read is still a message on the interface
            function, kind, payload = "invalid", "", None
        self.trace.record(time_s=now, interface=peer.interface, source=source, target=target, protocol=PROTOCOL,
                          message=function or "result", summary=f"{kind} " + json.dumps(payload, separators=(",", ":")))

    def record_live(self, peer_id: str, direction: str, protocol: str, message_type: str, summary: str,
                    now: float) -> None:
        """Live mode: one SHIP/SPINE frame, summarised by the stack's tracer."""
        peer = self.peers.get(peer_id)
        if peer is None:
            return
        source, target = (peer.name, self.name) if direction == "rx" else (self.name, peer.name)
        function = message_type.split(" ")[-1]
        self.trace.record(time_s=now, interface=peer.interface, source=source, target=target,
                          protocol=PROTOCOL if protocol == "SPINE" else "EEBUS SHIP", message=function, summary=summary)

    # --- every step ----------------------------------------------------------------------

    def tick(self, now: float) -> None:
        """Deliver what arrived, run the actors' timers, take note of their events."""
        self.flush(now)
        self.cem.step(now)
        if self.cs is not None:
            self.cs.step(now)
            for event in self.cs.events():
                if isinstance(event, PowerLimitChanged) and event.direction is Direction.CONSUME:
                    self._limit_changed(event)
        if self.monitor is not None:
            for _ in self.monitor.events():
                pass  # the reading is taken when the control cycle needs it (meter_reading)
        for ev in self.cem.events():
            if isinstance(ev, EvDataUpdated) and ev.function == TIME_SERIES:
                self._demand_at[ev.peer] = ev.now
            elif isinstance(ev, EvDisconnected):
                self._sent = {k: v for k, v in self._sent.items() if k[0] != ev.peer}
            elif isinstance(ev, EvWriteResult) and not ev.accepted:
                self.rejected.append((now, ev.peer, ev.error_number))
                self._sent = {k: v for k, v in self._sent.items() if k[0] != ev.peer}  # send again
                log.warning("HEMS %s: %s refused a write (error %d)", self.name, ev.peer, ev.error_number)
        self.flush(now)

    def flush(self, now: float) -> None:
        if self.memory is not None:
            self.memory.pump(now)
        for callback in self.on_sent:
            callback()  # type: ignore[operator]

    def _limit_changed(self, event: PowerLimitChanged) -> None:
        assert self.cs is not None
        self.limit_changed = True
        self.limit_until_s = None
        if event.state is LimitState.FAILSAFE:
            self.limit_until_s = event.now + self.cs.failsafe_duration_s
        elif event.state is LimitState.LIMITED:
            for item in items(self.cs.load_control.data.get("loadControlLimitListData"), "loadControlLimitData"):
                end = obj(item.get("timePeriod")).get("endTime")
                if item.get("limitId") == LIMIT_ID[Direction.CONSUME] and isinstance(end, str):
                    self.limit_until_s = event.now + parse_duration_s(end)

    def import_limit_14a_W(self) -> float | None:
        """The §14a allowance of the controllable devices in force now (None: not dimmed)."""
        return None if self.cs is None else self.cs.limit_W(Direction.CONSUME)

    # --- I-03: what the wallbox tells us ---------------------------------------------------

    def charger_status(self, peer: str) -> ChargerStatus:
        o = self.owner
        snap = self.cem.ev(peer)
        grid_W = sum(p for p in snap.power_W if p is not None) if snap.connected else 0.0
        eta = o.wallbox_efficiency
        if not snap.connected or snap.soc is None:
            return ChargerStatus(vehicle_connected=False, power_W=0.0, grid_power_W=grid_W, max_charge_W=0.0,
                                 max_discharge_W=0.0, min_power_W=0.0, soc=None, capacity_Wh=None, departure_s=None,
                                 target_soc=None, min_soc=None, charge_efficiency=o.charge_efficiency,
                                 discharge_efficiency=o.discharge_efficiency, stage_efficiency=eta)
        soc = snap.soc
        demand, duration_s = self._demand(peer)
        capacity_Wh = o.capacity_kWh * 1000.0 if o.capacity_kWh is not None else None
        if capacity_Wh is None and demand is not None and soc < 0.999:
            capacity_Wh = demand[2] / (1.0 - soc)
        target = min_soc = None
        if demand is not None and capacity_Wh:
            # a demand without a duration: no departure known, so no target either (as in memory)
            target = min(1.0, soc + demand[1] / capacity_Wh) if duration_s is not None else None
            min_soc = max(o.min_soc, soc + demand[0] / capacity_Wh if demand[0] > 0 else 0.0)
        at = self._demand_at.get(peer)
        departure = at + duration_s if at is not None and duration_s is not None else None
        return ChargerStatus(
            vehicle_connected=True,
            power_W=grid_W * eta if grid_W >= 0 else grid_W / eta,
            grid_power_W=grid_W,
            max_charge_W=(snap.power_max_W or 0.0) * eta,
            max_discharge_W=self._discharge_max_W(peer),
            min_power_W=(snap.power_min_W or 0.0) * eta,
            soc=soc, capacity_Wh=capacity_Wh, departure_s=departure, target_soc=target,
            min_soc=min_soc if min_soc is not None else o.min_soc,
            charge_efficiency=o.charge_efficiency, discharge_efficiency=o.discharge_efficiency, stage_efficiency=eta)

    def _ev_data(self, peer: str, feature_type: str, function: str) -> JsonObject | None:
        path = self.cem.evs.get(peer)
        if path is None:
            return None
        remote = self.node.remote(peer)
        return remote_data(remote, remote_feature(remote, path, feature_type), function)

    def _demand(self, peer: str) -> tuple[tuple[float, float, float] | None, float | None]:
        """CEVC singleDemand: ((min, opt, max) Wh, seconds until departure)."""
        for series in items(self._ev_data(peer, "TimeSeries", TIME_SERIES), "timeSeriesData"):
            if series.get("timeSeriesId") != L.TS_DEMAND:
                continue
            for slot in items(series, "timeSeriesSlot")[:1]:
                parts = (unscaled(slot.get("minValue")), unscaled(slot.get("value")), unscaled(slot.get("maxValue")))
                duration = slot.get("duration")
                seconds = parse_duration_s(duration) if isinstance(duration, str) else None
                if all(p is not None for p in parts):
                    return (float(parts[0] or 0.0), float(parts[1] or 0.0), float(parts[2] or 0.0)), seconds
        return None, None

    def _discharge_max_W(self, peer: str) -> float:
        for item in items(self._ev_data(peer, "Setpoint", "setpointListData"), "setpointData"):
            value = unscaled(item.get("valueMax"))
            if value is not None:
                return value
        return 0.0  # no discharge extension: the wallbox cannot be told to discharge

    # --- I-03: what we tell the wallbox ----------------------------------------------------

    def send_setpoint(self, peer: str, power_W: float, now: float) -> None:
        """``power_W`` at the vehicle side (+ charge, − discharge) as OPEV + discharge setpoint.

        Charging: an OPEV obligation of ``power / η / (U · phases)`` per phase (a grid-side
        current, rounded down: it is a ceiling). Discharging: OPEV 0 A and the extension's
        setpoint; any other time the extension's setpoint is withdrawn.
        """
        snap = self.cem.ev(peer)
        if not snap.connected:
            return
        phases = max(1, len(snap.current_max_A))
        u_ph = self.owner.voltage_V * phases
        if power_W >= 0:
            current_A = math.floor(power_W / self.owner.wallbox_efficiency / u_ph * 1000.0) / 1000.0
            discharge_W: float | None = None
        else:
            current_A, discharge_W = 0.0, -power_W
        if self._sent.get((peer, "opev")) != current_A:
            self.cem.write_current_limits(peer, (current_A,) * phases, now)
            self._sent[(peer, "opev")] = current_A
        has_extension = self._ev_data(peer, "Setpoint", "setpointListData") is not None
        if has_extension and self._sent.get((peer, "discharge"), None) != discharge_W:
            value = None if discharge_W is None else min(discharge_W, self._discharge_max_W(peer))
            self.cem.write_discharge_setpoint(peer, value, now)
            self._sent[(peer, "discharge")] = discharge_W
        self.flush(now)
