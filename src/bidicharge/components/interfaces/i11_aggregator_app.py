"""I-11 technical aggregator backend – aggregator app: the user's cars, history, power, revenue.

The seed names REST, MQTT and WebSocket. bidicharge serves REST + a WebSocket push from the
technical aggregator (``components/aggregator_app/api.py``); in a study the app asks in memory
with these messages. Power is grid side, W, positive = charging; ``direction`` says it in
words. Revenue is what the car's discharged energy earned at the day-ahead price the pool
traded on; cost what its charged energy cost at that price.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class CarsRequest:
    user: str | None = None  # an owner's car id; None: the fleet manager, every car


@dataclass(frozen=True, slots=True, kw_only=True)
class CarView:
    vin: str
    evse_id: str | None
    connected: bool
    soc: float | None
    power_W: float
    direction: str  # "charging" | "discharging" | "idle"
    charged_Wh: float
    discharged_Wh: float
    cost_EUR: float
    revenue_EUR: float
    v2g_consent: bool
    target_soc: float
    min_soc_for_discharge: float
    departure_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CarsView:
    time_s: float
    cars: tuple[CarView, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryRequest:
    vin: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryEntry:
    start_s: float  # the 15-minute interval
    charged_Wh: float
    discharged_Wh: float
    price_EUR_per_MWh: float


@dataclass(frozen=True, slots=True, kw_only=True)
class History:
    vin: str
    entries: tuple[HistoryEntry, ...]
