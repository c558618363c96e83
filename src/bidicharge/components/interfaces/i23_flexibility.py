"""I-23 commercial aggregator – technical aggregator: 15-minute series both ways.

The seed: "15-min time series both ways: min/max power and energy, prices, energy
sold/bought", protocol proprietary. bidicharge defines it as a REST API (version 1, served by
the technical aggregator, OpenAPI at ``/docs``) whose bodies are these classes; in a study
they travel in memory.

| method | path | body → answer |
|---|---|---|
| POST | ``/v1/i23/prices`` | :class:`PriceCurve` (the commercial side's price curve) → :class:`FlexibilityOffer` |
| GET | ``/v1/i23/offer`` | → the current :class:`FlexibilityOffer` |
| POST | ``/v1/i23/schedule`` | :class:`PoolSchedule` → :class:`ScheduleAnswer` (422 naming the first violating interval) |
| GET | ``/v1/i23/delivery`` | → :class:`DeliveryReport` (what the pool delivered so far, shortfalls announced) |

Powers are grid side, W, positive = the pool charges (buys); stored energies are battery
side, Wh, cumulative since ``start_s`` (see ``control/fleet_envelope.py``). ``rate_low`` and
``rate_high`` bound the stored Wh per grid Wh of deviation from the baseline.
"""

from __future__ import annotations

import math

from pydantic import Field, model_validator
from pydantic.dataclasses import dataclass

STEP_S = 900.0


def _finite(name: str, values: tuple[float, ...]) -> None:
    for k, v in enumerate(values):
        if not math.isfinite(v):
            raise ValueError(f"{name}[{k}] is not a finite number")


@dataclass(frozen=True, kw_only=True)
class PriceCurve:
    start_s: float
    step_s: float = Field(STEP_S, gt=0)
    price_EUR_per_MWh: tuple[float, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> PriceCurve:
        _finite("price_EUR_per_MWh", self.price_EUR_per_MWh)
        return self


@dataclass(frozen=True, kw_only=True)
class FlexibilityOffer:
    offer_id: str
    start_s: float
    step_s: float
    n_cars: int
    baseline_power_W: tuple[float, ...]
    min_power_W: tuple[float, ...]
    max_power_W: tuple[float, ...]
    baseline_energy_Wh: tuple[float, ...]  # one more than the power series: per boundary
    min_energy_Wh: tuple[float, ...]
    max_energy_Wh: tuple[float, ...]
    rate_low: float
    rate_high: float
    price_EUR_per_MWh: tuple[float, ...]  # the curve the offer was built for


@dataclass(frozen=True, kw_only=True)
class PoolSchedule:
    offer_id: str
    start_s: float
    step_s: float = Field(STEP_S, gt=0)
    power_W: tuple[float, ...] = Field(min_length=1)
    price_EUR_per_MWh: tuple[float, ...] = ()
    energy_bought_Wh: float = Field(0.0, ge=0)
    energy_sold_Wh: float = Field(0.0, ge=0)

    @model_validator(mode="after")
    def _check(self) -> PoolSchedule:
        _finite("power_W", self.power_W)
        return self


@dataclass(frozen=True, kw_only=True)
class ScheduleAnswer:
    accepted: bool
    interval: int | None = None  # the first violating interval
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class DeliveryRequest:
    pass


@dataclass(frozen=True, kw_only=True)
class DeliveryReport:
    """What the pool delivered, and what it announced it could not (cars deviating beyond the reserve).

    ``shortfall_W[k]`` is announced at the start of interval ``k``: sold minus what the fleet can
    deliver then (positive: it will charge less / discharge more than sold; 0 where deliverable).
    """

    start_s: float
    step_s: float
    sold_power_W: tuple[float, ...]
    delivered_power_W: tuple[float, ...]  # per finished interval
    shortfall_W: tuple[float, ...] = ()  # per interval begun
