"""A commercial aggregator stand-in (C-COMM-AGG) for the ``fleet_v2g`` scenario.

``components/comm_aggregator`` (another issue) trades FCR/aFRR on I-24/I-44 and does not speak
I-23 yet; this stand-in does the day-ahead part the fleet scenario needs. At its first step it
reads the day-ahead prices (the bundled 2018 series through ``energy_provider_backend.prices``;
the catalogue's path for them is I-22 from the energy provider backend, which does not provide
it yet), sends them to the
technical aggregator as its price curve (I-23 "prices both ways"), takes the envelope offered
back and buys low and sells high inside it (``control.fleet_envelope.optimal_pool_schedule``,
an LP over the envelope, paying the pool's battery wear the offer prices). With ``probe_outside`` it first sends a schedule 10 % above the
envelope's maximum power to show that the technical side rejects it, naming the interval.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from bidicharge.components.energy_provider_backend.prices import load_prices
from bidicharge.components.interfaces.i23_flexibility import (
    DeliveryReport,
    DeliveryRequest,
    FlexibilityOffer,
    PoolSchedule,
    PriceCurve,
    ScheduleAnswer,
)
from bidicharge.control.fleet_envelope import FleetEnvelope, optimal_pool_schedule
from bidicharge.control.fleet_flexibility import Horizon
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import requires


class CommercialStandinConfig(ComponentConfig):
    prices: str = Field("bundled:de-day-ahead-2018", description="day-ahead prices, bundled name or CSV path")
    horizon_h: float = Field(24.0, gt=0, le=72)
    probe_outside: bool = Field(False, description="first send a schedule outside the envelope (it must be refused)")


@component_type
class CommercialStandin(Component):
    kind = "commercial_standin"
    catalogue_id = "C-COMM-AGG"
    Config = CommercialStandinConfig
    PORTS = (
        requires("flexibility", "I-23", "in-memory", wire_protocol="REST (served by tech_aggregator)"),
    )
    phase = Phase.CONTROL
    OBSERVABLES: ClassVar[tuple[str, ...]] = ("position_W",)

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.cfg: CommercialStandinConfig = config
        self.series = load_prices(config.prices, context.base_dir)
        self.offer: FlexibilityOffer | None = None
        self.sold: np.ndarray | None = None
        self.answers: list[ScheduleAnswer] = []
        self.delivery: DeliveryReport | None = None
        self._position = 0.0

    @classmethod
    def check_span(cls, config: Any, start_s: float, end_s: float, base_dir: str) -> list[tuple[str, str]]:
        series = load_prices(config.prices, base_dir)
        if start_s < series.start_s or start_s + config.horizon_h * 3600.0 > series.end_s:
            return [("config.prices", f"{series.source} does not cover the trading horizon")]
        return []

    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        if self.offer is None:
            self._trade(now)
        if self.sold is not None and self.offer is not None:
            k = int((now - self.offer.start_s) // self.offer.step_s)
            self._position = float(self.sold[k]) if 0 <= k < len(self.sold) else 0.0
            if (now - self.offer.start_s) % self.offer.step_s == 0 and 0 < k <= len(self.sold):
                flex = self.link("flexibility")
                assert flex is not None
                report = flex.request(DeliveryRequest())  # what was delivered, what cannot be
                assert isinstance(report, DeliveryReport)
                self.delivery = report

    def _trade(self, now: float) -> None:
        flex = self.link("flexibility")
        assert flex is not None
        start, spot = self.series.window(now, now + self.cfg.horizon_h * 3600.0)
        curve = PriceCurve(start_s=start, step_s=self.series.step_s,
                           price_EUR_per_MWh=tuple(round(float(p), 4) for p in spot))
        offer = flex.request(curve)
        assert isinstance(offer, FlexibilityOffer)
        self.offer = offer
        env = _envelope(offer)
        price = np.asarray(offer.price_EUR_per_MWh, dtype=np.float64)
        if self.cfg.probe_outside:
            bad = np.asarray(offer.max_power_W) * 1.1 + 1000.0
            self.answers.append(flex.request(PoolSchedule(offer_id=offer.offer_id, start_s=offer.start_s,
                                                          step_s=offer.step_s, power_W=tuple(float(v) for v in bad),
                                                          energy_bought_Wh=0.0, energy_sold_Wh=0.0)))
        schedule = optimal_pool_schedule(env, price)
        dt_h = offer.step_s / 3600.0
        answer = flex.request(PoolSchedule(
            offer_id=offer.offer_id, start_s=offer.start_s, step_s=offer.step_s,
            power_W=tuple(round(float(v), 1) for v in schedule), price_EUR_per_MWh=offer.price_EUR_per_MWh,
            energy_bought_Wh=round(float(np.maximum(schedule, 0).sum() * dt_h), 1),
            energy_sold_Wh=round(float(np.maximum(-schedule, 0).sum() * dt_h), 1)))
        self.answers.append(answer)
        if answer.accepted:
            self.sold = np.round(schedule, 1)

    def observe(self) -> tuple[float, ...]:
        return (self._position,)

    def report(self) -> dict[str, Any]:
        if self.sold is None or self.offer is None:
            return {"accepted": False}
        price = np.asarray(self.offer.price_EUR_per_MWh)
        dt_h = self.offer.step_s / 3600.0
        base = np.asarray(self.offer.baseline_power_W)
        below = np.maximum(np.asarray(self.offer.wear_free_min_power_W or np.zeros_like(base)) - self.sold, 0.0)
        return {"accepted": True, "cost_EUR": float((self.sold * price).sum() * dt_h / 1e6),
                "wear_EUR": float(self.offer.wear_EUR_per_MWh * below.sum() * dt_h / 1e6),
                "baseline_cost_EUR": float((base * price).sum() * dt_h / 1e6),
                "bought_Wh": float(np.maximum(self.sold, 0).sum() * dt_h),
                "sold_Wh": float(np.maximum(-self.sold, 0).sum() * dt_h)}


def _envelope(offer: FlexibilityOffer) -> FleetEnvelope:
    def arr(values: tuple[float, ...]) -> np.ndarray:
        return np.asarray(values, dtype=np.float64)

    return FleetEnvelope(
        horizon=Horizon(start_s=offer.start_s, n_steps=len(offer.min_power_W), step_s=offer.step_s),
        baseline_power_W=arr(offer.baseline_power_W), min_power_W=arr(offer.min_power_W),
        max_power_W=arr(offer.max_power_W), min_energy_Wh=arr(offer.min_energy_Wh),
        max_energy_Wh=arr(offer.max_energy_Wh), baseline_energy_Wh=arr(offer.baseline_energy_Wh),
        rate_low=offer.rate_low, rate_high=offer.rate_high, wear_EUR_per_MWh=offer.wear_EUR_per_MWh,
        wear_free_min_power_W=arr(offer.wear_free_min_power_W) if offer.wear_free_min_power_W else None)
