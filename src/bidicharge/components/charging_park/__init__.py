"""A park of bidirectional EVSEs run by a CPO backend over OCPP 2.1 (C-EVSE, many of them, on I-04).

Each EVSE is a charging station of its own towards the ``cpo_backend`` wired to ``backend``
(:mod:`.stations`: boot, status on plug/unplug, a transaction per plug-in whose idToken is the
car's contract id, meter values with import and export registers, NotifyEVChargingNeeds with
the V2X limits, SetChargingProfile applied to the EVSE's power). The technical aggregator talks
to that CPO backend on I-14; the park never sees it.

EVSE ``i`` is wired to car ``i`` of a ``fleet_bev`` (I-01, batched). The physics stays
vectorised: each step the park offers every car the setpoint in force — the station's profile
if the CSMS sent one, else the park's default —, limited by the EVSE's rating and the car's
limits; the car's battery accepts what physics allows. A plugged car without a profile gets
``default_setpoint_W`` for ``default_hold_s`` (what a TxDefaultProfile does: a managed park
holds new cars until the aggregator's schedule arrives), then full power; by default full power
at once. The EVSE's power stage is taken as lossless: the meter reads the power at the plug.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from bidicharge.components.fleet_bev.messages import ChargeStep, ChargeStepResult
from bidicharge.components.interfaces.i04_ocpp import OcppFrame
from bidicharge.runtime.clock import Clock, ManualClock
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import Link, requires

from .stations import EvseReading, ParkStations
from .stations_live import ParkStationsLive

__all__ = ["ChargingPark", "ChargingParkConfig"]


class ChargingParkConfig(ComponentConfig):
    max_power_W: float = Field(11_000.0, gt=0, description="per EVSE, both directions")
    bidirectional: bool = True
    evse_prefix: str = Field("evse", pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    default_setpoint_W: float | None = Field(None, description=(
        "TxDefaultProfile: what a newly plugged car gets until its schedule arrives (None: full power)"))
    default_hold_s: float = Field(900.0, ge=0, description="after this long without a schedule: full power")
    meter_interval_s: float = Field(300.0, gt=0, description="TransactionEvent MeterValuePeriodic every so often")
    needs_threshold_W: float = Field(100.0, ge=0, description=(
        "NotifyEVChargingNeeds again when the car's power limits move by more than this"))


@component_type
class ChargingPark(Component):
    kind = "charging_park"
    catalogue_id = "C-EVSE"
    Config = ChargingParkConfig
    PORTS = (
        requires("vehicles", "I-01", "in-memory", wire_protocol="ISO 15118-20 / IEC 61851"),
        requires("backend", "I-04", "OCPP 2.1", description="to a CPO backend (CSMS): one station per EVSE"),
    )
    phase = Phase.ACTUATION
    OBSERVABLES: ClassVar[tuple[str, ...]] = ("power_W", "import_Wh", "export_Wh", "connected")

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.cfg: ChargingParkConfig = config
        self.evse_ids: tuple[str, ...] = ()
        self.stations: ParkStations | None = None
        self.live: ParkStationsLive | None = None  # live mode: one WebSocket station per EVSE
        self._last: ChargeStepResult | None = None
        self.imported_Wh = np.zeros(0)
        self.exported_Wh = np.zeros(0)
        self._plugged_since = np.zeros(0)

    def start(self, now: float) -> None:
        super().start(now)
        link = self.link("vehicles")
        assert link is not None
        # the first exchange tells the park how many pairs there are (one EVSE per car)
        first = link.request(ChargeStep(dt_s=0.0, setpoint_W=()))
        assert isinstance(first, ChargeStepResult)
        n = len(first.plugged)
        self.evse_ids = tuple(f"{self.cfg.evse_prefix}{i:04d}" for i in range(n))
        self._last = first
        self.imported_Wh = np.zeros(n)
        self.exported_Wh = np.zeros(n)
        self._plugged_since = np.full(n, now)
        self.stations = ParkStations(self.evse_ids, meter_interval_s=self.cfg.meter_interval_s,
                                     needs_threshold_W=self.cfg.needs_threshold_W)
        backend = self.link("backend")
        if backend is None:
            return
        if isinstance(self.context.clock, ManualClock) or self.context.clock is None:
            self.stations.connect(backend, self.context.trace, now)
        else:
            self.live = ParkStationsLive(self.stations.stations, backend)
        # cars plugged at the start: their transactions begin now, before any energy flows
        self._tell(now, now, self._registers(), self._readings(first))

    def _tell(self, start_s: float, end_s: float, before: list[tuple[float, float]],
              after: list[EvseReading]) -> None:
        assert self.stations is not None
        if self.live is None:
            self.stations.publish(start_s, end_s, before, after)
            return
        for station, events in self.stations.events(start_s, end_s, before, after):
            self.live.enqueue(station, events)

    async def serve(self, clock: Clock) -> None:
        if self.live is None:
            await super().serve(clock)
            return
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(super().serve(clock))
            tasks.create_task(self.live.run(clock))

    # -- I-04: the CSMS calls a station -------------------------------------------------------
    def handle(self, port: str, message: object, link: Link) -> object:
        if port == "backend" and isinstance(message, OcppFrame) and self.stations is not None:
            return self.stations.receive(message)
        return super().handle(port, message, link)

    # -- physics ------------------------------------------------------------------------------
    def _local_setpoint_W(self, now: float, cap_c: np.ndarray, cap_d: np.ndarray) -> np.ndarray:
        """The park's own setpoint where no backend profile is in force (TxDefaultProfile-like hold)."""
        assert self._last is not None
        if self.cfg.default_setpoint_W is None:
            return cap_c.copy()
        plugged_for = now - self._plugged_since
        # a car not plugged at the last step is either still away or plugged in just now
        hold = ~np.array(self._last.plugged) | (plugged_for < self.cfg.default_hold_s)
        return np.where(hold, np.clip(self.cfg.default_setpoint_W, -cap_d, cap_c), cap_c)

    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        link = self.link("vehicles")
        assert link is not None and self._last is not None and self.stations is not None
        n = len(self.evse_ids)
        cap_c = np.minimum(self.cfg.max_power_W, np.array(self._last.max_charge_power_W))
        cap_d = np.minimum(self.cfg.max_power_W, np.array(self._last.max_discharge_power_W)) \
            if self.cfg.bidirectional else np.zeros(n)
        local = self._local_setpoint_W(now, cap_c, cap_d)
        self.stations.clock_s = now
        wanted = np.array([station.setpoint_W(float(local[i])) for i, station in enumerate(self.stations.stations)])
        offer = np.clip(wanted, -cap_d, cap_c)
        result = link.request(ChargeStep(dt_s=dt_s, setpoint_W=tuple(float(p) for p in offer)))
        assert isinstance(result, ChargeStepResult)
        power = np.array(result.power_W)
        was = np.array(self._last.plugged)
        self._plugged_since = np.where(np.array(result.plugged) & ~was, now, self._plugged_since)
        before = self._registers()
        self.imported_Wh += np.maximum(power, 0.0) * dt_s / 3600.0
        self.exported_Wh += np.maximum(-power, 0.0) * dt_s / 3600.0
        self._last = result
        if self.link("backend") is not None:
            self._tell(now, now + dt_s, before, self._readings(result))

    def _registers(self) -> list[tuple[float, float]]:
        return list(zip(self.imported_Wh.tolist(), self.exported_Wh.tolist(), strict=True))

    def _readings(self, result: ChargeStepResult) -> list[EvseReading]:
        bidirectional = self.cfg.bidirectional
        return [EvseReading(plugged=result.plugged[i], vehicle_id=result.vehicle_id[i], soc=result.soc[i],
                            import_Wh=float(self.imported_Wh[i]), export_Wh=float(self.exported_Wh[i]),
                            max_charge_power_W=min(self.cfg.max_power_W, result.max_charge_power_W[i]),
                            max_discharge_power_W=min(self.cfg.max_power_W, result.max_discharge_power_W[i])
                            if bidirectional else 0.0)
                for i in range(len(self.evse_ids))]

    def observe(self) -> tuple[float, ...]:
        last = self._last
        power = float(sum(last.power_W)) if last is not None else 0.0
        return (power, float(self.imported_Wh.sum()), float(self.exported_Wh.sum()),
                float(sum(last.plugged)) if last is not None else 0.0)

    def report(self) -> dict[str, Any]:
        errors = [] if self.stations is None else self.stations.errors
        return {"evses": len(self.evse_ids), "imported_Wh": float(self.imported_Wh.sum()),
                "exported_Wh": float(self.exported_Wh.sum()), "ocpp_errors": len(errors),
                "ocpp_error_examples": errors[:5]}
