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

The offer also prices the cells' wear (``wear_EUR_per_MWh`` below ``wear_free_min_power_W``),
so that the commercial side does not buy and sell a spread the wear eats.

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
    # battery wear (control/fleet_envelope.py, "Battery wear in the commercial step"): the pool
    # power per interval above which no car need discharge, and the price per MWh (grid side)
    # the pool's power lies below it; absent (0, ()) the pool asks nothing for wear
    wear_EUR_per_MWh: float = Field(0.0, ge=0)
    wear_free_min_power_W: tuple[float, ...] = ()

    @model_validator(mode="after")
    def _check_wear(self) -> FlexibilityOffer:
        if self.wear_free_min_power_W and len(self.wear_free_min_power_W) != len(self.min_power_W):
            raise ValueError(f"wear_free_min_power_W needs {len(self.min_power_W)} values, "
                             f"got {len(self.wear_free_min_power_W)}")
        _finite("wear_free_min_power_W", self.wear_free_min_power_W)
        return self


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


# --- balancing reserves (FCR/aFRR): the seed's I-25, carried between the aggregators on I-23 ---
#
# The catalogue's I-25 ("forwards the TSO's control signals to the plants without delay, via
# I-14/I-04") runs through the technical aggregator: the commercial side says how much reserve
# the pool holds and how it is activated (``ReserveProvision``), then, on the central path,
# each change of the requested power (``ReserveActivation``); the technical side turns these
# into OCPP 2.1 charging profiles through the CPO backend and reports what the pool does
# (``ReserveStatus``). Powers are grid side, W; ``upward_W`` is the change from the pool's
# baseline that helps an under-frequency (+ = less charging / more discharging).
# Live, these are ``POST /v1/i23/reserve``, ``POST /v1/i23/activation`` and
# ``GET /v1/i23/reserve`` beside the routes above (not served yet: studies carry them in memory).


@dataclass(frozen=True, kw_only=True)
class ReserveProvision:
    """Hold ``capacity_W`` of symmetric FCR from now on; ``path`` says who measures the frequency:
    ``central`` — activations follow (``ReserveActivation``); ``local`` — each EVSE applies the
    droop itself (OCPP 2.1 ``LocalFrequency``) from ``deadband_Hz`` to full at ``full_deviation_Hz``."""

    time_s: float
    capacity_W: float = Field(ge=0)
    path: str = Field(pattern=r"^(central|local)$")
    nominal_Hz: float = Field(50.0, gt=0)
    deadband_Hz: float = Field(0.01, ge=0)  # FCR: ±10 mHz insensitivity
    full_deviation_Hz: float = Field(0.2, gt=0)  # FCR: full activation at ±200 mHz

    @model_validator(mode="after")
    def _check(self) -> ReserveProvision:
        if not math.isfinite(self.capacity_W) or self.deadband_Hz >= self.full_deviation_Hz:
            raise ValueError("capacity_W must be finite and deadband_Hz below full_deviation_Hz")
        return self


@dataclass(frozen=True, kw_only=True)
class ReserveProvisionAnswer:
    held_W: float  # what the pool can hold in both directions (≤ capacity_W)
    evses: int  # EVSEs taking part
    reason: str = ""  # why less than asked


@dataclass(frozen=True, kw_only=True)
class ReserveActivation:
    """Central path: deliver ``upward_W`` (from the baseline) now; sent on every change."""

    activation_id: str
    time_s: float
    upward_W: float
    frequency_Hz: float | None = None  # the TSO's frequency it was computed from (traced)

    @model_validator(mode="after")
    def _check(self) -> ReserveActivation:
        _finite("upward_W", (self.upward_W,))
        return self


@dataclass(frozen=True, kw_only=True)
class ReserveActivationAnswer:
    activation_id: str
    accepted_upward_W: float
    shortfall_W: float  # what the pool cannot deliver of it: reported, not hidden
    evses: int


@dataclass(frozen=True, kw_only=True)
class ReserveStatusRequest:
    pass


@dataclass(frozen=True, kw_only=True)
class ReserveStatus:
    """What the pool does now, from the CPO backend's live data (I-14)."""

    time_s: float
    held_W: float
    baseline_W: float  # sum of the EVSEs' baseline setpoints
    power_W: float  # measured, + = the pool charges
    upward_W: float  # baseline − power: the reserve delivered
