"""A park of bidirectional EVSEs behind one CPO (C-EVSE, many of them).

The CPO backend of the OCPP issue (``components/cpo_backend``) is a CSMS with a REST API for
the technical aggregator, but not yet a scenario component; until it is, ``cpo_standin``
(this package) answers the aggregator on I-14 from this park, which speaks to it on I-04 in
memory with the I-14 contract's messages (``components/interfaces/i14_cpo_aggregator.py``,
batched for the park instead of one OCPP connection per station): live data per EVSE (plug state,
the vehicle's id, SoC and limits as ISO 15118-20 reports them, measured power, meter
registers) and per-EVSE charging schedules shaped like OCPP 2.1 ``ChargingSchedule`` with
``CentralSetpoint`` periods.

EVSE ``i`` is wired to car ``i`` of a ``fleet_bev`` (I-01, batched). Each step the park applies
the setpoint in force, limited by the EVSE's rating and the car's limits; the car's battery
accepts what physics allows. A plugged car without a schedule gets ``default_setpoint_W`` for
``default_hold_s`` (OCPP's TxDefaultProfile: a managed park holds new cars until the
aggregator's schedule arrives), then full power; by default full power at once.
The EVSE's power stage is taken as lossless: the meter reads the power at the plug.
"""

from __future__ import annotations

import bisect
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from bidicharge.components.fleet_bev.messages import ChargeStep, ChargeStepResult
from bidicharge.components.interfaces.i14_cpo_aggregator import (
    ChargingSchedule,
    EvseLive,
    LiveData,
    LiveDataRequest,
    SetChargingSchedules,
    SetChargingSchedulesResult,
)
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import Link, provides, requires

from .cpo_standin import CpoStandin

__all__ = ["ChargingPark", "ChargingParkConfig", "CpoStandin"]


class ChargingParkConfig(ComponentConfig):
    max_power_W: float = Field(11_000.0, gt=0, description="per EVSE, both directions")
    bidirectional: bool = True
    evse_prefix: str = Field("evse", pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    default_setpoint_W: float | None = Field(None, description=(
        "TxDefaultProfile: what a newly plugged car gets until its schedule arrives (None: full power)"))
    default_hold_s: float = Field(900.0, ge=0, description="after this long without a schedule: full power")


@component_type
class ChargingPark(Component):
    kind = "charging_park"
    catalogue_id = "C-EVSE"
    Config = ChargingParkConfig
    PORTS = (
        requires("vehicles", "I-01", "in-memory", wire_protocol="ISO 15118-20 / IEC 61851"),
        provides("backend", "I-04", "in-memory", wire_protocol="OCPP 2.0.1 / 2.1"),
    )
    phase = Phase.ACTUATION
    OBSERVABLES: ClassVar[tuple[str, ...]] = ("power_W", "import_Wh", "export_Wh", "connected")

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.cfg: ChargingParkConfig = config
        self.evse_ids: tuple[str, ...] = ()
        self._index: dict[str, int] = {}
        self._schedules: dict[int, ChargingSchedule] = {}
        self._last: ChargeStepResult | None = None
        self._setpoint = np.zeros(0)
        self.imported_Wh = np.zeros(0)
        self.exported_Wh = np.zeros(0)
        self._plugged_since = np.zeros(0)
        self.schedules_received = 0

    def start(self, now: float) -> None:
        super().start(now)
        link = self.link("vehicles")
        assert link is not None
        # the first exchange tells the park how many pairs there are (one EVSE per car)
        first = link.request(ChargeStep(dt_s=0.0, setpoint_W=()))
        assert isinstance(first, ChargeStepResult)
        n = len(first.plugged)
        self.evse_ids = tuple(f"{self.cfg.evse_prefix}{i:04d}" for i in range(n))
        self._index = {e: i for i, e in enumerate(self.evse_ids)}
        self._last = first
        self._setpoint = np.full(n, np.nan)
        self.imported_Wh = np.zeros(n)
        self.exported_Wh = np.zeros(n)
        self._plugged_since = np.full(n, now)

    # -- I-14 ---------------------------------------------------------------------------------
    def handle(self, port: str, message: object, link: Link) -> object:
        if isinstance(message, LiveDataRequest):
            return self.live_data(message)
        if isinstance(message, SetChargingSchedules):
            return self.set_schedules(message)
        return super().handle(port, message, link)

    def live_data(self, request: LiveDataRequest) -> LiveData:
        last = self._last
        assert last is not None
        wanted = [self._index[e] for e in request.evse_ids if e in self._index] or range(len(self.evse_ids))
        evses = []
        for i in wanted:
            sp = self._setpoint[i]
            evses.append(EvseLive(
                evse_id=self.evse_ids[i], connected=last.plugged[i],
                vehicle_id=last.vehicle_id[i] if last.plugged[i] else None,
                soc=last.soc[i] if last.plugged[i] else None, power_W=round(last.power_W[i], 3),
                setpoint_W=None if np.isnan(sp) else float(sp),
                max_charge_power_W=min(self.cfg.max_power_W, last.max_charge_power_W[i]),
                max_discharge_power_W=min(self.cfg.max_power_W, last.max_discharge_power_W[i])
                if self.cfg.bidirectional else 0.0,
                imported_Wh=round(float(self.imported_Wh[i]), 3), exported_Wh=round(float(self.exported_Wh[i]), 3)))
        return LiveData(time_s=self.now, evses=tuple(evses))

    def set_schedules(self, message: SetChargingSchedules) -> SetChargingSchedulesResult:
        rejected: list[tuple[str, str]] = []
        accepted = 0
        for sched in message.schedules:
            i = self._index.get(sched.evse_id)
            if i is None:
                rejected.append((sched.evse_id, "unknown EVSE"))
            elif not sched.periods or any(b.start_offset_s <= a.start_offset_s
                                          for a, b in zip(sched.periods, sched.periods[1:], strict=False)):
                rejected.append((sched.evse_id, "periods must be non-empty with increasing start offsets"))
            elif not self.cfg.bidirectional and any(p.setpoint_W < 0 for p in sched.periods):
                rejected.append((sched.evse_id, "EVSE is not bidirectional"))
            else:
                self._schedules[i] = sched
                accepted += 1
        self.schedules_received += len(message.schedules)
        return SetChargingSchedulesResult(accepted=accepted, rejected=tuple(rejected))

    def _setpoint_at(self, i: int, now: float) -> float:
        sched = self._schedules.get(i)
        if sched is None or now < sched.start_s + sched.periods[0].start_offset_s:
            return float("nan")
        offsets = [p.start_offset_s for p in sched.periods]
        k = bisect.bisect_right(offsets, now - sched.start_s) - 1
        return sched.periods[k].setpoint_W

    # -- physics ------------------------------------------------------------------------------
    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        link = self.link("vehicles")
        assert link is not None and self._last is not None
        n = len(self.evse_ids)
        setpoint = np.array([self._setpoint_at(i, now) for i in range(n)])
        self._setpoint = setpoint
        cap_c = np.minimum(self.cfg.max_power_W, np.array(self._last.max_charge_power_W))
        cap_d = np.minimum(self.cfg.max_power_W, np.array(self._last.max_discharge_power_W)) \
            if self.cfg.bidirectional else np.zeros(n)
        default = cap_c.copy()
        if self.cfg.default_setpoint_W is not None:
            plugged_for = now - self._plugged_since
            # a car not plugged at the last step is either still away or plugged in just now
            hold = ~np.array(self._last.plugged) | (plugged_for < self.cfg.default_hold_s)
            default = np.where(hold, np.clip(self.cfg.default_setpoint_W, -cap_d, cap_c), cap_c)
        offer = np.where(np.isnan(setpoint), default, np.clip(np.nan_to_num(setpoint), -cap_d, cap_c))
        result = link.request(ChargeStep(dt_s=dt_s, setpoint_W=tuple(float(p) for p in offer)))
        assert isinstance(result, ChargeStepResult)
        power = np.array(result.power_W)
        was = np.array(self._last.plugged)
        self._plugged_since = np.where(np.array(result.plugged) & ~was, now, self._plugged_since)
        self.imported_Wh += np.maximum(power, 0.0) * dt_s / 3600.0
        self.exported_Wh += np.maximum(-power, 0.0) * dt_s / 3600.0
        self._last = result

    def observe(self) -> tuple[float, ...]:
        last = self._last
        power = float(sum(last.power_W)) if last is not None else 0.0
        return (power, float(self.imported_Wh.sum()), float(self.exported_Wh.sum()),
                float(sum(last.plugged)) if last is not None else 0.0)

    def report(self) -> dict[str, Any]:
        return {"evses": len(self.evse_ids), "imported_Wh": float(self.imported_Wh.sum()),
                "exported_Wh": float(self.exported_Wh.sum()), "schedules_received": self.schedules_received}
