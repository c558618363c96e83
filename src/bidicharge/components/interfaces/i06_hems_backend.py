"""I-06 HEMS – HEMS Backend (MQTT) and I-07 HEMS Backend – HEMS App (REST): the payloads.

Topic tree, version 1 (all JSON, UTF-8; QoS 1; `{site}` is the HEMS's site id):

| topic | retained | publisher | payload |
|---|---|---|---|
| `bidicharge/v1/hems/{site}/state` | yes | HEMS | `HemsState` — the latest measurements and decision |
| `bidicharge/v1/hems/{site}/plan` | yes | HEMS | `HemsPlan` — the current schedule |
| `bidicharge/v1/hems/{site}/settings` | yes | backend | `HemsSettings` — the owner's settings, applied by the HEMS |
| `bidicharge/v1/hems/{site}/events` | no | HEMS | `HemsEvent` — faults and recoveries |
| `bidicharge/v1/hems/{site}/status` | yes | HEMS (last will) | `online` / `offline` |
| `bidicharge/v1/hems/{site}/aggregator_schedule` | yes | backend | `AggregatorSchedule` — an aggregator's schedule for the car, accepted by the backend (I-14) |

Powers follow the project's sign convention (+ into the device / import).

The HEMS follows an `AggregatorSchedule` while its car stays plugged in (the HEMS's docstring
says how); it reports in every `HemsState` what the schedule asks now
(`aggregator_setpoint_W`) and, when the owner's limits or §14a made it command something else,
why (`aggregator_deviation`), so that the backend tells the aggregator. A schedule with no
periods withdraws the previous one.

In a study the same messages travel in memory: the HEMS sends `HemsSubscribe` once and gets
the retained settings and schedule back (`HemsRetained`); later ones the backend hands to the
subscribed HEMS as they come, as the broker would.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TOPIC_ROOT = "bidicharge/v1/hems"
_SITE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def topic(site: str, leaf: str) -> str:
    if not _SITE.match(site):
        raise ValueError(f"site id must match {_SITE.pattern}, got {site!r}")
    return f"{TOPIC_ROOT}/{site}/{leaf}"


def parse_topic(name: str) -> tuple[str, str] | None:
    parts = name.split("/")
    if len(parts) != 5 or "/".join(parts[:3]) != TOPIC_ROOT or not _SITE.match(parts[3]):
        return None
    return parts[3], parts[4]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HemsState(_Model):
    site: str
    time_s: float
    grid_W: float
    pv_W: float = 0.0
    house_W: float = 0.0
    battery_W: float = 0.0
    battery_soc: float | None = Field(None, ge=0, le=1)
    ev_connected: bool = False
    ev_W: float = 0.0
    ev_soc: float | None = Field(None, ge=0, le=1)
    price_EUR_per_kWh: float | None = None
    strategy: str = ""
    reason: str = ""
    faults: list[str] = Field(default_factory=list)
    aggregator_setpoint_W: float | None = Field(None, description="what an aggregator's schedule asks now (grid side)")
    aggregator_deviation: str = Field("", description="why the HEMS commands something else ('' = followed)")


class HemsPlan(_Model):
    site: str
    created_s: float
    start_s: float
    step_s: float = Field(gt=0)
    ev_W: list[float]
    battery_W: list[float]
    grid_W: list[float]
    price_EUR_per_kWh: list[float] = Field(default_factory=list)
    status: str = "optimal"
    objective_EUR: float | None = None

    @model_validator(mode="after")
    def _same_length(self) -> HemsPlan:
        if not len(self.ev_W) == len(self.battery_W) == len(self.grid_W):
            raise ValueError("ev_W, battery_W and grid_W must have the same length")
        return self


class HemsEvent(_Model):
    site: str
    time_s: float
    level: str = Field(pattern="^(info|warning|error)$")
    message: str


class HemsSettings(_Model):
    """The owner's settings, from the app through the backend to the HEMS. Every field is
    range-checked; an out-of-range value is refused with its name (HTTP 422), never clipped."""

    departure_time: str = Field("07:30", description="weekday departure, local HH:MM")
    target_soc: float = Field(0.8, gt=0.1, le=1.0, description="SoC wanted at departure")
    min_soc_v2h: float = Field(0.5, ge=0.0, lt=1.0, description="the car is not discharged below this for the house")
    v2h: bool = True
    v2g_consent: bool = False

    @field_validator("departure_time")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        m = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", v)
        if not m:
            raise ValueError(f"departure_time must be HH:MM (00:00–23:59), got {v!r}")
        return v

    @model_validator(mode="after")
    def _order(self) -> HemsSettings:
        if self.min_soc_v2h >= self.target_soc:
            raise ValueError(f"min_soc_v2h ({self.min_soc_v2h}) must be below target_soc ({self.target_soc})")
        return self


class SchedulePoint(_Model):
    start_offset_s: float = Field(ge=0)
    setpoint_W: float = Field(ge=-350_000, le=350_000, description="grid side, + = into the car")


class AggregatorSchedule(_Model):
    """An aggregator's schedule for the site's car (OCPP ChargingSchedule shape, CentralSetpoint)."""

    site: str
    aggregator: str
    start_s: float
    periods: list[SchedulePoint] = Field(default_factory=list, description="empty: the schedule is withdrawn")

    @model_validator(mode="after")
    def _ascending(self) -> AggregatorSchedule:
        offsets = [p.start_offset_s for p in self.periods]
        if offsets != sorted(offsets):
            raise ValueError("periods must be in ascending start_offset_s")
        return self

    def setpoint_at(self, now_s: float) -> float | None:
        """The setpoint in force at ``now_s`` (``None`` before the schedule starts or if withdrawn)."""
        value = None
        for period in self.periods:
            if self.start_s + period.start_offset_s <= now_s + 1e-9:
                value = period.setpoint_W
        return value


@dataclass(frozen=True, slots=True, kw_only=True)
class HemsSubscribe:
    """Study mode: the HEMS subscribes to its site's backend topics (once, at its first step)."""

    site: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HemsRetained:
    settings: HemsSettings | None
    schedule: AggregatorSchedule | None


def next_departure_s(hhmm: str, now_s: float, timezone: str) -> float:
    """The next time the clock in ``timezone`` shows ``hhmm`` (a `HemsSettings.departure_time`) after ``now_s``."""
    zone = ZoneInfo(timezone)
    local = dt.datetime.fromtimestamp(now_s, zone)
    hour, minute = (int(v) for v in hhmm.split(":"))
    candidate = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if candidate.timestamp() <= now_s:
        candidate = (local + dt.timedelta(days=1)).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return candidate.timestamp()
