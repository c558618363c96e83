"""I-45: the dynamic tariff's REST API (FastAPI; OpenAPI at /openapi.json).

| method | path | what |
|---|---|---|
| GET | /v1/tariff | the tariff's terms: markup, VAT, feed-in rate, the price series' source and span |
| GET | /v1/prices?from_s=&to_s= | end-customer prices per interval in [from_s, to_s) (≤ 8 days) |
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, HTTPException, Query
from pydantic import BaseModel

if TYPE_CHECKING:
    from bidicharge.components.energy_provider_backend import EnergyProviderBackend

MAX_SPAN_S = 8 * 86400.0


class Tariff(BaseModel):
    source: str
    series_start_s: float
    series_end_s: float
    step_s: float
    markup_EUR_per_kWh: float
    vat: float
    feed_in_EUR_per_kWh: float


class Prices(BaseModel):
    start_s: float
    step_s: float
    spot_EUR_per_MWh: list[float]
    import_EUR_per_kWh: list[float]
    feed_in_EUR_per_kWh: float


def create_app(backend: EnergyProviderBackend) -> FastAPI:
    app = FastAPI(title="bidicharge energy provider backend (I-45)", version="1.0.0")

    @app.get("/v1/tariff")
    def tariff() -> Tariff:
        s, c = backend.series, backend.cfg
        return Tariff(source=s.source, series_start_s=s.start_s, series_end_s=s.end_s, step_s=s.step_s,
                      markup_EUR_per_kWh=c.markup_EUR_per_kWh, vat=c.vat, feed_in_EUR_per_kWh=c.feed_in_EUR_per_kWh)

    @app.get("/v1/prices")
    def prices(from_s: float = Query(..., description="epoch seconds"), to_s: float = Query(..., description="epoch seconds")) -> Prices:
        if to_s <= from_s:
            raise HTTPException(422, f"to_s ({to_s}) must be after from_s ({from_s})")
        if to_s - from_s > MAX_SPAN_S:
            raise HTTPException(422, f"at most {MAX_SPAN_S / 86400:g} days per request, asked for {(to_s - from_s) / 86400:.1f}")
        s = backend.series
        if to_s <= s.start_s or from_s >= s.end_s:
            raise HTTPException(404, f"no prices in [{from_s}, {to_s}); the series covers [{s.start_s}, {s.end_s})")
        start, spot = s.window(from_s, to_s)
        return Prices(
            start_s=start,
            step_s=s.step_s,
            spot_EUR_per_MWh=[float(p) for p in spot],
            import_EUR_per_kWh=[backend.customer_price(float(p)) for p in spot],
            feed_in_EUR_per_kWh=backend.cfg.feed_in_EUR_per_kWh,
        )

    return app
