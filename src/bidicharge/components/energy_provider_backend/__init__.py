"""Energy provider backend (C-EP-BACKEND): the supplier's dynamic tariff.

End-customer price = (day-ahead price + markup) × (1 + VAT), per kWh; feed-in is paid at a
fixed rate (EEG-style). Serves prices to the HEMS on I-45.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import Field, ValidationInfo, field_validator

from bidicharge.components.energy_provider_backend.prices import PriceFileError, PriceSeries, load_prices
from bidicharge.components.interfaces.i45_tariff import PriceRequest, PriceSchedule
from bidicharge.runtime.clock import Clock
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import Link, provides


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%MZ")


class TariffConfig(ComponentConfig):
    api_host: str = "127.0.0.1"
    api_port: int = Field(0, ge=0, le=65535, description="live mode: the REST port (0 = a free port)")
    prices: str = "bundled:de-day-ahead-2018"
    markup_EUR_per_kWh: float = Field(0.20, ge=0, description="grid fees, levies, supplier margin (net)")
    vat: float = Field(0.19, ge=0, le=1)
    feed_in_EUR_per_kWh: float = Field(0.082, ge=0)

    @field_validator("prices")
    @classmethod
    def _prices_load(cls, v: str, info: ValidationInfo) -> str:
        base = (info.context or {}).get("base_dir", ".")
        try:
            load_prices(v, base)
        except PriceFileError as exc:
            raise ValueError(str(exc)) from None
        return v


@component_type
class EnergyProviderBackend(Component):
    kind = "energy_provider_backend"
    catalogue_id = "C-EP-BACKEND"
    Config = TariffConfig
    PORTS = (provides("tariff", "I-45", "REST (OpenAPI)"),)
    phase = Phase.ENVIRONMENT
    OBSERVABLES: ClassVar[tuple[str, ...]] = ("spot_EUR_per_MWh", "import_EUR_per_kWh", "feed_in_EUR_per_kWh")

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.cfg: TariffConfig = config
        self.series: PriceSeries = load_prices(config.prices, context.base_dir)
        self._spot = 0.0
        self.api_url: str | None = None
        self.ready = asyncio.Event()

    async def serve(self, clock: Clock) -> None:
        """Live mode: serve the tariff's REST API (I-45)."""
        from bidicharge.components.energy_provider_backend.api import create_app
        from bidicharge.transports.http_server import HttpApi

        api = HttpApi(create_app(self), self.cfg.api_host, self.cfg.api_port)
        self.api_url = api.url
        self.ready.set()
        await api.serve()

    @classmethod
    def check_span(cls, config: Any, start_s: float, end_s: float, base_dir: str) -> list[tuple[str, str]]:
        series = load_prices(config.prices, base_dir)
        if start_s < series.start_s or end_s > series.end_s:
            return [("config.prices", f"{series.source} covers {_iso(series.start_s)} to {_iso(series.end_s)}; "
                     f"the scenario runs {_iso(start_s)} to {_iso(end_s)}")]
        return []

    def customer_price(self, spot_EUR_per_MWh: float) -> float:
        return (spot_EUR_per_MWh / 1000.0 + self.cfg.markup_EUR_per_kWh) * (1.0 + self.cfg.vat)

    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        self._spot = self.series.at(now)

    def observe(self) -> tuple[float, ...]:
        return (self._spot, self.customer_price(self._spot), self.cfg.feed_in_EUR_per_kWh)

    def handle(self, port: str, message: object, link: Link) -> object:
        if isinstance(message, PriceRequest):
            start, spot = self.series.window(message.from_s, message.to_s)
            return PriceSchedule(
                start_s=start,
                step_s=self.series.step_s,
                import_EUR_per_kWh=tuple(self.customer_price(float(p)) for p in spot),
                feed_in_EUR_per_kWh=self.cfg.feed_in_EUR_per_kWh,
            )
        return super().handle(port, message, link)
