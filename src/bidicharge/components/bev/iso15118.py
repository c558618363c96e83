"""The BEV's side of I-01 over ISO 15118-20 and IEC 61851-1: the vehicle's inlet and its EVCC.

:class:`BevInlet` owns one :class:`~bidicharge.protocols.iso15118_20.Evcc` per session and is
what the EVSE reaches through the cable in a study (`Iso15118Inlet`):

* the control pilot the vehicle presents: A unplugged, B plugged in (high-level communication
  at 5 %), C after the SECC confirmed PowerDelivery(Start) [V2G20-847], B again after
  PowerDelivery(Stop) or when a session ends;
* the V2GTP bytes of the EVCC. Every request carries the battery's present state from the
  vehicle's physics (SoC, power limits, 0 W discharge at the owner's minimum SoC, departure
  time and target SoC of the next trip, capacity);
* the power: while the pilot is in C the vehicle takes what the EVSE offers, but never more
  than the SECC commanded (Dynamic: EVSETargetActivePower; Scheduled: its own plan within the
  schedule), nor more than its battery takes, nor below its minimum SoC.

The owner's side: `plug_in` when the car arrives (a new session starts), `leave` when it
departs (PowerDelivery(Stop), SessionStop(Terminate), then the plug comes out). A session that
fails while the car stays plugged in is retried after `retry_after_s`, as an EV restarts its
communication.

Study-mode pacing: the EVCC sends one charge-loop request per `loop_interval_s` (by default the
study step, at most 60 s so that V2G_SECC_Sequence_Timeout never expires between requests).
"""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from bidicharge.components.interfaces.i01_vehicle import NO_DEPARTURE_s, VehicleStatus
from bidicharge.protocols.exi.messages import common_messages as cm
from bidicharge.protocols.iec61851 import CpState
from bidicharge.protocols.iso15118_20 import ControlMode, Evcc, EvccConfig, EvState
from bidicharge.protocols.iso15118_20 import events as ev

MAX_LOOP_INTERVAL_s = 60.0  # V2G_SECC_Sequence_Timeout: the SECC waits at most this for the next request


class BevIso15118Config(BaseModel):
    """How the vehicle speaks ISO 15118-20 (the `iso15118` section of the bev config)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    evcc_id: str = Field("BIDICHARGEEV0001", pattern=r"^[A-Za-z0-9]{1,64}$", description="EVCCID (e.g. the MAC)")
    control_mode: Literal["dynamic", "scheduled"] = "dynamic"
    loop_interval_s: float | None = Field(
        None, gt=0, le=MAX_LOOP_INTERVAL_s, description="between charge-loop requests; default: the study step (<= 60 s)"
    )
    retry_after_s: float = Field(60.0, gt=0, description="a failed session is restarted this much later")
    secc_address: str | None = Field(
        None, pattern=r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$",
        description="live mode: host:port of an SECC to dial (default: the wired wallbox's address)",
    )


class Vehicle(Protocol):
    """What the inlet needs of the BEV component: its physics and its owner's settings."""

    def status(self) -> VehicleStatus: ...

    def transfer(self, power_W: float, duration_s: float) -> float: ...


class BevInlet:
    """The vehicle's inlet: control pilot, EVCC, and the power it takes (see the module doc)."""

    def __init__(self, vehicle: Vehicle, config: BevIso15118Config, *, step_s: float, timeout_factor: float = 1.0) -> None:
        """`timeout_factor` > 1 in accelerated live runs: a peer answers in wall time (see .iso15118_live);
        there the default loop interval is half the SECC's sequence timeout, for the same reason."""
        self.vehicle = vehicle
        default = MAX_LOOP_INTERVAL_s / 2 if timeout_factor > 1 else MAX_LOOP_INTERVAL_s
        interval = config.loop_interval_s or min(step_s, default)
        mode = ControlMode.DYNAMIC if config.control_mode == "dynamic" else ControlMode.SCHEDULED
        self.evcc_config = EvccConfig(evcc_id=config.evcc_id, control_mode=mode, loop_interval_s=interval,
                                      timeout_factor=timeout_factor)
        self.retry_after_s = config.retry_after_s
        self.evcc: Evcc | None = None
        self._cp = CpState.A
        self._connection = 0
        self._out = bytearray()
        self._retry_at: float | None = None
        self._leaving = False
        self.target_W = 0.0  # what the SECC commanded (Dynamic) or the EV plans (Scheduled)
        self.present_W = 0.0  # what went into the battery over the last step, + charging
        self._schedule: tuple[float, tuple[ev.ScheduleEntry, ...]] | None = None
        self.sessions_failed: list[tuple[float, str]] = []  # (time, error)

    # ---- the owner ---------------------------------------------------------------------------
    def plug_in(self, now: float) -> None:
        self._cp, self._leaving = CpState.B, False
        self._start(now)

    def leave(self, now: float) -> None:
        """The car departs: end the session cleanly, then unplug (at once if there is none)."""
        self._retry_at = None
        if self.evcc is not None and not self.evcc.closed:
            self._leaving = True
            self.evcc.stop()
        else:
            self._unplug()

    # ---- Iso15118Inlet ---------------------------------------------------------------------------
    @property
    def cp_state(self) -> CpState:
        return self._cp

    @property
    def connection(self) -> int:
        return self._connection

    def data_to_send(self) -> bytes:
        if self.evcc is not None:
            self._out += self.evcc.data_to_send()
        out = bytes(self._out)
        self._out.clear()
        return out

    def transmit(self, data: bytes) -> None:
        """Put raw bytes on the line after what the EVCC sent (a misbehaving vehicle)."""
        self._out += data

    def receive_data(self, data: bytes, now: float) -> None:
        if self.evcc is None:
            return
        self.evcc.update(self._ev_state(now))
        self.evcc.receive_data(data, now)
        self._on_events(now)

    def connection_lost(self, now: float) -> None:
        """Live mode: the TCP connection to the SECC broke."""
        if self.evcc is not None and not self.evcc.closed:
            self.evcc.connection_lost()
            self._on_events(now)

    def next_deadline(self) -> float | None:
        if self.evcc is not None and not self.evcc.closed:
            return self.evcc.next_deadline()
        return self._retry_at

    def handle_timeout(self, now: float) -> None:
        if self.evcc is not None and not self.evcc.closed:
            self.evcc.update(self._ev_state(now))
            self.evcc.handle_timeout(now)
            self._on_events(now)
        elif self._retry_at is not None and now >= self._retry_at and self._cp is not CpState.A:
            self._start(now)

    def conduct(self, power_W: float, duration_s: float) -> float:
        if self._cp is not CpState.C or power_W * self.target_W <= 0:
            self.present_W = 0.0
            return 0.0
        p = min(power_W, self.target_W) if power_W > 0 else max(power_W, self.target_W)
        self.present_W = self.vehicle.transfer(p, duration_s)  # the battery: limits, minimum SoC
        return self.present_W

    # ---- inside -----------------------------------------------------------------------------
    def _start(self, now: float) -> None:
        self._retry_at = None
        self._schedule = None
        self.target_W = self.present_W = 0.0
        self._connection += 1
        self.evcc = Evcc(self._ev_state(now), self.evcc_config)
        self.evcc.start(now)

    def _unplug(self) -> None:
        if self.evcc is not None and not self.evcc.closed:
            self.evcc.connection_lost()  # pulled out mid-session
        self.evcc = None
        self._cp, self._leaving = CpState.A, False
        self.target_W = self.present_W = 0.0

    def _ev_state(self, now: float) -> EvState:
        v = self.vehicle.status()
        departure = NO_DEPARTURE_s if v.departure_s is None else int(min(NO_DEPARTURE_s, max(0.0, v.departure_s - now)))
        return EvState(
            soc=v.soc,
            capacity_Wh=v.capacity_Wh,
            present_power_W=self.present_W,
            max_charge_power_W=v.max_charge_W,
            max_discharge_power_W=v.max_discharge_W,  # 0 at the owner's minimum SoC
            target_soc=v.target_soc if v.target_soc is not None else 1.0,
            min_soc=v.min_soc,
            departure_time_s=departure,
        )

    def _on_events(self, now: float) -> None:
        assert self.evcc is not None
        for e in self.evcc.events():
            if isinstance(e, ev.PowerCommanded):
                self.target_W = self._follow(e, now)
            elif isinstance(e, ev.ScheduleReceived):
                self._schedule = (now, e.entries)
            elif isinstance(e, ev.PowerDeliveryConfirmed):
                self._cp = CpState.C if e.progress == cm.ChargeProgress.Start else CpState.B
                if self._cp is CpState.B:
                    self.target_W = 0.0
            elif isinstance(e, ev.SessionEnded):
                self._session_ended(e, now)

    def _session_ended(self, e: ev.SessionEnded, now: float) -> None:
        self.target_W = 0.0
        if self._leaving:
            self._unplug()
            return
        self._cp = CpState.B
        if e.error is not None:
            self.sessions_failed.append((now, e.error))
            self._retry_at = now + self.retry_after_s

    def _follow(self, command: ev.PowerCommanded, now: float) -> float:
        """The power the vehicle will take: the SECC's target, or its own choice in the window."""
        s = self._ev_state(now)
        if command.target_power_W is not None:
            wanted = command.target_power_W
        else:
            max_c, max_d = self._window(command, now)
            if max_c > 0 and s.soc < s.target_soc:
                wanted = max_c
            elif max_d > 0 and s.soc > s.min_soc:
                wanted = -max_d
            else:
                wanted = 0.0
        return max(-s.max_discharge_power_W, min(s.max_charge_power_W, wanted))

    def _window(self, command: ev.PowerCommanded, now: float) -> tuple[float, float]:
        """What the SECC allows now: its loop limits, else the schedule entry in force."""
        if command.max_charge_power_W is not None or command.max_discharge_power_W is not None:
            return command.max_charge_power_W or 0.0, command.max_discharge_power_W or 0.0
        if self._schedule is None:
            return 0.0, 0.0
        received, entries = self._schedule
        elapsed = now - received
        entry = next((x for x in entries if x.start_s <= elapsed < x.start_s + x.duration_s), None)
        return (0.0, 0.0) if entry is None else (entry.max_charge_power_W, entry.max_discharge_power_W)


__all__ = ["BevInlet", "BevIso15118Config"]
