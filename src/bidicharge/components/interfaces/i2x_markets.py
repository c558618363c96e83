"""Markets and system services: message contracts and IEC 104 point maps (issue 9).

* I-44 (commercial aggregator – energy market), I-53 (trading – system-services market),
  I-54 (trading – energy market): bids in, receipts and results out. Exchanges take bids over
  their own APIs, not IEC 60870-5-104 (the seed names 104 for I-53/I-54; EPEX/regelleistung.net
  use REST/web services), so the market serves these messages as a REST API (FastAPI, see
  ``components/energy_market/api.py``) in live mode and over ``Link.request`` in study mode.
  The bids themselves are the dataclasses of ``control.market_clearing`` (``Bid``,
  ``CapacityBid``): one contract, no copy.
* I-22 (energy provider – commercial aggregator): the pool's position per quarter-hour for
  the supplier's balancing group, in memory until the MaKo issue brings AS4.
* I-48 (plant operator – trading system): availability up, schedules down. The seed names AS4;
  until the MaKo issue brings AS4 these are documented in-memory messages.
* I-21, I-24, I-51, I-52: IEC 60870-5-104. The control centre is the controlling station, the
  aggregator, plant operator and DSO control centre (on I-21) the controlled stations. The
  point maps below are the contract (common address per station, information object
  addresses); values are IEEE floats (M_ME_NC_1, C_SE_NC_1).

Sign conventions: reserve powers ``upward`` positive (towards the grid); plant powers are
``generation`` (into the grid).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from bidicharge.control.market_clearing import (
    Award,
    Bid,
    CapacityAward,
    CapacityBid,
    CapacityProductResult,
    MtuResult,
    Rejection,
)

IEC104: Final = "IEC 60870-5-104"
REST: Final = "REST (OpenAPI)"

# ------------------------------------------------------------------ I-44, I-53, I-54 (REST)


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitDayAheadBids:
    """Day-ahead limit orders for one delivery day; the market stamps the receipt time."""

    delivery_day_start_s: float
    bids: tuple[Bid, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitCapacityBids:
    """FCR / aFRR capacity offers for one delivery day (4-hour blocks)."""

    delivery_day_start_s: float
    bids: tuple[CapacityBid, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class BidReceipt:
    """What the market took: accepted bid ids, and every refused bid with its reason."""

    received_at_s: float
    accepted: tuple[str, ...]
    rejected: tuple[Rejection, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ResultsRequest:
    bidder_id: str
    delivery_day_start_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketResults:
    """Results of one delivery day for one bidder; ``published`` False before clearing."""

    delivery_day_start_s: float
    published: bool
    mtus: tuple[MtuResult, ...] = ()
    awards: tuple[Award, ...] = ()
    capacity_products: tuple[CapacityProductResult, ...] = ()
    capacity_awards: tuple[CapacityAward, ...] = ()
    rejections: tuple[Rejection, ...] = ()


# ------------------------------------------------------------------------- I-48 (in memory)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantOffer:
    plant_id: str
    available_MW: float  # what may be sold (capacity − held primary reserve)
    must_run_MW: float  # minimum stable power + the reserve held below the schedule
    marginal_cost_EUR_per_MWh: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AvailabilityRequest:
    delivery_day_start_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantAvailability:
    operator_id: str
    plants: tuple[PlantOffer, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantSchedules:
    """The sold position per plant: one power per quarter-hour of the delivery day."""

    delivery_day_start_s: float
    step_s: float
    generation_MW: dict[str, tuple[float, ...]]


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleAck:
    accepted: bool
    detail: str = ""


# ------------------------------------------------------------------------- I-22 (in memory)


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionRequest:
    """The energy provider (balancing group manager) asks for the pool's position of a day."""

    delivery_day_start_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolPosition:
    """The aggregator's position for the supplier's balancing group (I-22; AS4 when MaKo lands):
    what it sold or bought per quarter-hour, what the pool drew, and the FCR it held."""

    delivery_day_start_s: float
    step_s: float
    scheduled_W: tuple[float, ...]  # per quarter-hour, + = bought (the pool charges)
    metered_Wh: tuple[float | None, ...]  # grid energy per quarter-hour, + = drawn; None = not yet
    fcr_W_by_block: tuple[float, ...]  # per 4-hour block


# ----------------------------------------------------------------- IEC 104 point maps

#: I-24 TSO → commercial aggregator (controlled station of the aggregator).
class I24:
    POOL_UPWARD_W: Final = 1001  # M_ME_NC_1: pool power change delivered, upward +
    FCR_CONTRACTED_W: Final = 1002  # M_ME_NC_1: FCR capacity held now
    AFRR_FEEDBACK_W: Final = 1003  # M_ME_NC_1: return information of the aFRR set-point
    FREQUENCY_FEEDBACK_HZ: Final = 1004  # M_ME_NC_1: return information of the frequency
    REQUESTED_UPWARD_W: Final = 1005  # M_ME_NC_1: what the aggregator is asked to deliver now
    AFRR_SETPOINT_W: Final = 2001  # C_SE_NC_1: aFRR set-point, upward +
    FREQUENCY_HZ: Final = 2002  # C_SE_NC_1: system frequency for the central FCR path


#: I-51 TSO → plant operator, I-52 DSO → plant operator (controlled stations of the operator).
class I51:
    GENERATION_MW: Final = 1001  # M_ME_NC_1: operator's total generation
    FREQUENCY_HZ: Final = 1002  # M_ME_NC_1: frequency measured at the plants' connection
    AFRR_FEEDBACK_MW: Final = 1003
    SCHEDULE_MW: Final = 1004  # M_ME_NC_1: the market schedule now
    AFRR_SETPOINT_MW: Final = 2001  # C_SE_NC_1: operator's share of the aFRR demand


class I52:
    GENERATION_MW: Final = 1001
    LIMIT_FEEDBACK_MW: Final = 1101
    LIMIT_MW: Final = 2101  # C_SE_NC_1: maximum feed-in requested by the DSO (redispatch)


#: I-21 TSO → DSO control centre (controlled station of the DSO).
class I21:
    DISTRIBUTED_GENERATION_MW: Final = 1001  # M_ME_NC_1: plants in the DSO's area
    LIMIT_ACTIVE_MW: Final = 1002  # M_ME_NC_1: redispatch limit in force
    FREQUENCY_FEEDBACK_HZ: Final = 1003
    FREQUENCY_HZ: Final = 2001  # C_SE_NC_1: system frequency, for the DSO's operators
