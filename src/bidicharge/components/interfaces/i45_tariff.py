"""I-45 Energy Provider Backend – HEMS: prices of the dynamic tariff (REST when the
energy-provider API lands; in memory until then)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceRequest:
    from_s: float
    to_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceSchedule:
    start_s: float
    step_s: float
    import_EUR_per_kWh: tuple[float, ...]  # end-customer price incl. grid fees, levies, VAT
    feed_in_EUR_per_kWh: float
