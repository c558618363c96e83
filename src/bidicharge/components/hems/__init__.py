"""(H)EMS (C-HEMS): coordinates the wallbox, the home battery and PV with the dynamic tariff.

Every `control_period_s` it reads the meter (I-47), the chargers (I-03), the plants (I-08)
and the prices (I-45), runs its strategy (the first rule-based one: `control.home_rule`;
the optimiser arrives with its own issue) and sends setpoints.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from bidicharge.components.interfaces.i03_energy_manager import (
    ChargerStatus,
    ChargerStatusRequest,
    PowerSetpoint,
)
from bidicharge.components.interfaces.i08_plants import BatterySetpoint, BatteryStatus, PlantStatusRequest
from bidicharge.components.interfaces.i45_tariff import PriceRequest, PriceSchedule
from bidicharge.components.interfaces.i47_han import MeterReading, MeterReadingRequest
from bidicharge.control import home_rule
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import requires


class HemsConfig(ComponentConfig):
    strategy: str = Field("rules", pattern="^(rules|none)$", description="'none' = no control: chargers run at their default")
    control_period_s: float = Field(60.0, gt=0)
    v2h: bool = True
    v2g: bool = False
    reserve_soc: float = Field(0.5, ge=0, le=1)
    wear_EUR_per_kWh: float = Field(0.03, ge=0)
    price_refresh_s: float = Field(3600.0, gt=0)


@component_type
class Hems(Component):
    kind = "hems"
    catalogue_id = "C-HEMS"
    Config = HemsConfig
    PORTS = (
        requires("chargers", "I-03", "in-memory", wire_protocol="EEBUS", many=True, optional=True),
        requires("plants", "I-08", "in-memory", wire_protocol="SunSpec Modbus/TCP", many=True, optional=True),
        requires("meter", "I-47", "in-memory", wire_protocol="SMGW HAN"),
        requires("tariff", "I-45", "in-memory", wire_protocol="REST", optional=True),
    )
    phase = Phase.CONTROL
    OBSERVABLES: ClassVar[tuple[str, ...]] = ("ev_setpoint_W", "battery_setpoint_W")

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.cfg: HemsConfig = config
        self.settings = home_rule.RuleSettings(
            v2h=config.v2h, v2g=config.v2g, reserve_soc=config.reserve_soc, wear_EUR_per_kWh=config.wear_EUR_per_kWh
        )
        self._next_control = context.start_s
        self._prices: PriceSchedule | None = None
        self._prices_until = -1.0
        self.decision = home_rule.Decision(ev_setpoint_W=0.0, battery_setpoint_W=0.0, reason="start")
        self.reasons: dict[str, int] = {}
        # persistence forecast of the PV surplus: what was spare in the same slot of the
        # day, one day earlier (slots of one control period; unvisited slots count as 0)
        self._slot_s = config.control_period_s
        self._surplus_Wh = np.zeros(max(1, round(86400.0 / config.control_period_s)))
        self._feed_in: float | None = None

    def _slot(self, t: float) -> int:
        return int((t % 86400.0) // self._slot_s) % len(self._surplus_Wh)

    def _surplus_forecast_Wh(self, now: float, until_s: float | None) -> float:
        horizon = (until_s if until_s is not None else now + 86400.0) - now
        slots = self._surplus_Wh
        if horizon >= 86400.0:
            return float(slots.sum()) * horizon / 86400.0
        i = self._slot(now) + 1
        j = i + int(horizon // self._slot_s)
        if j <= len(slots):
            return float(slots[i:j].sum())
        return float(slots[i:].sum() + slots[: j - len(slots)].sum())

    def _price_view(self, now: float, departure_s: float | None) -> tuple[float | None, float | None]:
        tariff = self.link("tariff")
        if tariff is None:
            return None, None
        if self._prices is None or now >= self._prices_until:
            self._prices = tariff.request(PriceRequest(from_s=now, to_s=now + 36 * 3600.0))
            self._prices_until = now + self.cfg.price_refresh_s
        ps = self._prices
        assert ps is not None
        i = int((now - ps.start_s) // ps.step_s)
        if not 0 <= i < len(ps.import_EUR_per_kWh):
            return None, None
        end = departure_s if departure_s is not None else now + 24 * 3600.0
        j = max(i + 1, min(len(ps.import_EUR_per_kWh), int((end - ps.start_s) // ps.step_s)))
        self._feed_in = ps.feed_in_EUR_per_kWh
        return ps.import_EUR_per_kWh[i], min(ps.import_EUR_per_kWh[i:j])

    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        if self.cfg.strategy == "none" or now < self._next_control:
            return
        self._next_control = now + self.cfg.control_period_s
        meter_link = self.link("meter")
        assert meter_link is not None
        reading: MeterReading = meter_link.request(MeterReadingRequest())
        chargers = self.peers("chargers")
        charger_link = chargers[0] if chargers else None
        ev_view = None
        if charger_link is not None:
            cs: ChargerStatus = charger_link.request(ChargerStatusRequest())
            if cs.vehicle_connected and cs.soc is not None and cs.capacity_Wh is not None:
                ev_view = home_rule.EvView(
                    soc=cs.soc,
                    capacity_Wh=cs.capacity_Wh,
                    max_charge_W=cs.max_charge_W,
                    max_discharge_W=cs.max_discharge_W,
                    min_power_W=cs.min_power_W,
                    charge_efficiency=cs.charge_efficiency,
                    discharge_efficiency=cs.discharge_efficiency,
                    departure_s=cs.departure_s,
                    target_soc=cs.target_soc,
                    min_soc=cs.min_soc if cs.min_soc is not None else 0.0,
                    grid_power_W=cs.grid_power_W,
                )
        battery_link = None
        bat_view = None
        for link in self.peers("plants"):
            status = link.request(PlantStatusRequest())
            if isinstance(status, BatteryStatus) and battery_link is None:
                battery_link = link
                bat_view = home_rule.BatteryView(
                    soc=status.soc,
                    max_charge_W=status.max_charge_W,
                    max_discharge_W=status.max_discharge_W,
                    power_W=status.power_W,
                )
        departure = ev_view.departure_s if ev_view else None
        price_now, price_min = self._price_view(now, departure)
        base_W = reading.power_W - (ev_view.grid_power_W if ev_view else 0.0) - (bat_view.power_W if bat_view else 0.0)
        self._surplus_Wh[self._slot(now)] = max(0.0, -base_W) * self.cfg.control_period_s / 3600.0
        snap = home_rule.HomeSnapshot(
            now_s=now,
            grid_power_W=reading.power_W,
            ev=ev_view,
            battery=bat_view,
            price_now_EUR_per_kWh=price_now,
            min_price_before_departure_EUR_per_kWh=price_min,
            feed_in_EUR_per_kWh=self._feed_in,
            pv_surplus_forecast_Wh=self._surplus_forecast_Wh(now, departure),
        )
        d = home_rule.decide(snap, self.settings)
        self.decision = d
        self.reasons[d.reason] = self.reasons.get(d.reason, 0) + 1
        if charger_link is not None:
            charger_link.request(PowerSetpoint(power_W=d.ev_setpoint_W))
        if battery_link is not None:
            battery_link.request(BatterySetpoint(power_W=d.battery_setpoint_W))

    def observe(self) -> tuple[float, ...]:
        return (self.decision.ev_setpoint_W, self.decision.battery_setpoint_W)

    def report(self) -> dict[str, Any]:
        return {"decisions": dict(self.reasons)}
