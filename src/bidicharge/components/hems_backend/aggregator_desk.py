"""The HEMS backend's desk for a technical aggregator: home-charged cars on I-14.

See :mod:`bidicharge.components.interfaces.i14_hems_aggregator` for the contract. The desk
turns what the HEMSs report (I-06 states, the owner's settings) into the aggregator's view of
each registered home car, and takes the aggregator's schedules back:

* the owner's rules come from the HEMS settings: ``departure_time`` (next occurrence in the
  site's time zone), ``target_soc``, ``min_soc_v2h`` as the floor of *any* discharge, and
  ``v2g_consent``; a site without settings runs the HEMS defaults (no V2G consent);
* the home EVSE's meter registers are integrated from the reported EV power between states
  (an I-06 state carries no register; its ``ev_W`` is what the wallbox drew up to the state's
  time, so it counts for the span since the previous state), so they never go back;
* a schedule is refused for an unknown or unregistered site, a car not plugged in, a
  discharge without V2G consent, or a setpoint beyond the registered limits — each with its
  reason; accepted ones are kept per site (database) and go to the HEMS (I-06), which follows
  them within the owner's limits; a schedule ends when the car leaves;
* what the HEMS could not follow (``HemsState.aggregator_deviation``) the aggregator reads in
  :class:`HomeCars` ``deviations``; it also sees the measured power off its setpoint in the
  live data and re-dispatches the pool.
"""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, String, delete, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from bidicharge.components.interfaces.i02_telematics import (
    Location,
    OwnerSettings,
    VehicleStatus,
    VehicleView,
)
from bidicharge.components.interfaces.i06_hems_backend import HemsSettings, HemsState, next_departure_s
from bidicharge.components.interfaces.i14_cpo_aggregator import (
    ChargingSchedule,
    EvseLive,
    LiveData,
    SchedulePeriod,
    SetChargingSchedules,
    SetChargingSchedulesResult,
)
from bidicharge.components.interfaces.i14_hems_aggregator import (
    HOME_EVSE_PREFIX,
    HomeCarRegistration,
    HomeCars,
    home_evse_id,
)

_TOLERANCE_W = 1.0


class _Base(DeclarativeBase):
    pass


class RegistrationRow(_Base):
    __tablename__ = "hems_aggregator_cars"
    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class ScheduleRow(_Base):
    __tablename__ = "hems_aggregator_schedules"
    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class AggregatorDesk:
    """Registrations, meter registers and schedules of the home cars an aggregator may steer."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        _Base.metadata.create_all(engine)
        self._registers: dict[str, tuple[float, float, float, float]] = {}  # site -> (t, W, imp, exp)

    def register(self, registration: HomeCarRegistration) -> None:
        ZoneInfo(registration.timezone)  # an unknown zone is refused here (ZoneInfoNotFoundError)
        with self.engine.begin() as c:
            c.execute(delete(RegistrationRow).where(RegistrationRow.site == registration.site))
            c.execute(insert(RegistrationRow), [{"site": registration.site, "data": registration.model_dump()}])

    def registrations(self, aggregator: str | None = None) -> list[HomeCarRegistration]:
        with Session(self.engine) as s:
            regs = [HomeCarRegistration(**r.data) for r in s.scalars(select(RegistrationRow))]
        return [r for r in regs if aggregator is None or r.aggregator == aggregator]

    def observe(self, state: HemsState) -> bool:
        """Integrate the EV power into the home EVSE's registers; ``True`` if this ended a schedule.

        The state's ``ev_W`` was measured over the span up to ``time_s``: it counts for the time
        since the previous state (the first state only starts the registers).
        """
        t, _, imported, exported = self._registers.get(state.site, (state.time_s, 0.0, 0.0, 0.0))
        if state.time_s < t:
            return False  # an older state (a replay): the registers never go back
        energy = state.ev_W * (state.time_s - t) / 3600.0
        self._registers[state.site] = (state.time_s, state.ev_W, imported + max(energy, 0.0),
                                       exported + max(-energy, 0.0))
        if state.ev_connected or self.schedule(state.site) is None:
            return False
        with self.engine.begin() as c:
            c.execute(delete(ScheduleRow).where(ScheduleRow.site == state.site))
        return True

    def cars(self, aggregator: str, states: dict[str, HemsState | None],
             settings: dict[str, HemsSettings | None], *, now_s: float) -> HomeCars:
        vehicles, refused = [], []
        for reg in self.registrations(aggregator):
            state = states.get(reg.site)
            if state is None or state.ev_soc is None:
                refused.append((reg.site, "the HEMS has reported no state of charge of the car yet"))
                continue
            owner = settings.get(reg.site) or HemsSettings()  # what the HEMS runs without settings
            status = VehicleStatus(
                vin=reg.vin, time_s=state.time_s, soc=state.ev_soc,
                location=Location.HOME if state.ev_connected else Location.AWAY, plugged=state.ev_connected,
                capacity_Wh=reg.capacity_Wh, max_charge_power_W=reg.max_charge_power_W,
                max_discharge_power_W=reg.max_discharge_power_W, charge_efficiency=reg.charge_efficiency,
                discharge_efficiency=reg.discharge_efficiency)
            rules = OwnerSettings(
                departure_s=next_departure_s(owner.departure_time, now_s, reg.timezone),
                target_soc=owner.target_soc, min_soc_for_discharge=owner.min_soc_v2h,
                v2g_consent=owner.v2g_consent, aggregator=aggregator)
            vehicles.append(json.loads(VehicleView(vin=reg.vin, status=status, settings=rules).model_dump_json()))
        deviations = tuple((site, state.aggregator_deviation) for site, state in states.items()
                           if state is not None and state.aggregator_deviation)
        return HomeCars(time_s=now_s, vehicles=tuple(vehicles), refused=tuple(refused), deviations=deviations)

    def live(self, aggregator: str, states: dict[str, HemsState | None], *, now_s: float) -> LiveData:
        evses = []
        for reg in self.registrations(aggregator):
            state = states.get(reg.site)
            connected = state is not None and state.ev_connected
            _, _, imported, exported = self._registers.get(reg.site, (0.0, 0.0, 0.0, 0.0))
            sched = self.schedule(reg.site)
            evses.append(EvseLive(
                evse_id=home_evse_id(reg.site), connected=connected, vehicle_id=reg.vin if connected else None,
                soc=state.ev_soc if state is not None and connected else None,
                power_W=state.ev_W if state is not None else 0.0,
                setpoint_W=setpoint_at(sched, now_s) if sched is not None else None,
                max_charge_power_W=reg.max_charge_power_W, max_discharge_power_W=reg.max_discharge_power_W,
                imported_Wh=imported, exported_Wh=exported))
        return LiveData(time_s=now_s, evses=tuple(evses))

    def accept(self, aggregator: str, request: SetChargingSchedules, states: dict[str, HemsState | None],
               settings: dict[str, HemsSettings | None]) -> tuple[SetChargingSchedulesResult, list[ChargingSchedule]]:
        regs = {home_evse_id(r.site): r for r in self.registrations(aggregator)}
        accepted: list[ChargingSchedule] = []
        rejected: list[tuple[str, str]] = []
        for sched in request.schedules:
            reg = regs.get(sched.evse_id)
            reason = self._problem(sched, reg, states, settings)
            if reason is not None or reg is None:
                rejected.append((sched.evse_id, reason or "unknown"))
                continue
            with self.engine.begin() as c:
                c.execute(delete(ScheduleRow).where(ScheduleRow.site == reg.site))
                c.execute(insert(ScheduleRow), [{"site": reg.site, "data": _schedule_json(sched)}])
            accepted.append(sched)
        return SetChargingSchedulesResult(accepted=len(accepted), rejected=tuple(rejected)), accepted

    @staticmethod
    def _problem(sched: ChargingSchedule, reg: HomeCarRegistration | None, states: dict[str, HemsState | None],
                 settings: dict[str, HemsSettings | None]) -> str | None:
        if not sched.evse_id.startswith(HOME_EVSE_PREFIX) or reg is None:
            return "no home car registered for this aggregator at that EVSE"
        state = states.get(reg.site)
        if state is None or not state.ev_connected:
            return "the car is not plugged in at home"
        lowest = min((p.setpoint_W for p in sched.periods), default=0.0)
        highest = max((p.setpoint_W for p in sched.periods), default=0.0)
        owner = settings.get(reg.site) or HemsSettings()
        if lowest < -_TOLERANCE_W and not owner.v2g_consent:
            return "discharge without the owner's V2G consent (HEMS settings)"
        if lowest < -reg.max_discharge_power_W - _TOLERANCE_W:
            return f"discharge {-lowest:.0f} W above the limit {reg.max_discharge_power_W:.0f} W"
        if highest > reg.max_charge_power_W + _TOLERANCE_W:
            return f"charge {highest:.0f} W above the limit {reg.max_charge_power_W:.0f} W"
        return None

    def schedule(self, site: str) -> ChargingSchedule | None:
        with Session(self.engine) as s:
            row = s.get(ScheduleRow, site)
        return _schedule_from_json(row.data) if row is not None else None


def setpoint_at(schedule: ChargingSchedule, now_s: float) -> float | None:
    """The setpoint in force at ``now_s`` (``None`` before the schedule starts)."""
    value = None
    for period in schedule.periods:
        if schedule.start_s + period.start_offset_s <= now_s + 1e-9:
            value = period.setpoint_W
    return value


def _schedule_json(schedule: ChargingSchedule) -> dict[str, Any]:
    return {"evse_id": schedule.evse_id, "start_s": schedule.start_s,
            "periods": [{"start_offset_s": p.start_offset_s, "setpoint_W": p.setpoint_W} for p in schedule.periods]}


def _schedule_from_json(data: dict[str, Any]) -> ChargingSchedule:
    return ChargingSchedule(evse_id=data["evse_id"], start_s=data["start_s"],
                            periods=tuple(SchedulePeriod(**p) for p in data["periods"]))
