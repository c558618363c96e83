"""I-02 BEV – OEM backend (telematics) and I-12 BEV app – OEM backend: the payloads.

The seed names an LTE/5G link with a proprietary OEM API. bidicharge stands it in with an
MQTT topic tree of its own, version 1 (JSON, UTF-8, QoS 1; ``{vin}`` is the vehicle's id):

| topic | retained | publisher | payload |
|---|---|---|---|
| ``bidicharge/v1/oem/{vin}/status`` | yes | vehicle | :class:`VehicleStatus` — SoC, home/away, plug state, ETA |
| ``bidicharge/v1/oem/{vin}/settings`` | yes | backend | :class:`OwnerSettings` — the owner's charge settings, applied by the car |
| ``bidicharge/v1/oem/{vin}/command`` | no | backend | :class:`SocCommand` — an SoC setting from the aggregator (I-13) |
| ``bidicharge/v1/oem/{vin}/connection`` | yes | vehicle (last will) | ``online`` / ``offline`` |

The owner's settings (I-12) are range-checked field by field; a request that breaks a rule
names the field. Times are epoch seconds, SoC is 0..1, energies Wh, powers W (positive =
into the vehicle).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

TOPIC_ROOT = "bidicharge/v1/oem"
TOPIC_VERSION = 1
_VIN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
LEAVES = ("status", "settings", "command", "connection")


def topic(vin: str, leaf: str) -> str:
    if not _VIN.match(vin):
        raise ValueError(f"vehicle id must match {_VIN.pattern}, got {vin!r}")
    if leaf not in LEAVES:
        raise ValueError(f"unknown leaf {leaf!r} (known: {LEAVES})")
    return f"{TOPIC_ROOT}/{vin}/{leaf}"


def parse_topic(name: str) -> tuple[str, str] | None:
    """``(vin, leaf)`` of a topic of this tree, ``None`` for anything else."""
    parts = name.split("/")
    if len(parts) != 5 or "/".join(parts[:3]) != TOPIC_ROOT or not _VIN.match(parts[3]) or parts[4] not in LEAVES:
        return None
    return parts[3], parts[4]


@dataclass(frozen=True, slots=True, kw_only=True)
class Publish:
    """One MQTT publication of this tree, carried in memory in a study (same topic, same JSON)."""

    topic: str
    payload: dict[str, Any]
    retain: bool = False


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Location(enum.StrEnum):
    HOME = "home"  # at the owner's (or the fleet's) charging place
    AWAY = "away"


class VehicleStatus(_Model):
    """What the car's telematics unit reports (I-02)."""

    vin: str = Field(pattern=_VIN.pattern)
    time_s: float
    soc: float = Field(ge=0, le=1)
    location: Location
    plugged: bool
    capacity_Wh: float = Field(gt=0)
    max_charge_power_W: float = Field(ge=0, description="on-board limit, into the battery side of the charger")
    max_discharge_power_W: float = Field(ge=0)
    charge_efficiency: float = Field(0.92, gt=0, le=1)
    discharge_efficiency: float = Field(0.92, gt=0, le=1)
    eta_s: float | None = Field(None, description="navigation's arrival estimate at the charging place (away)")
    expected_arrival_soc: float | None = Field(None, ge=0, le=1, description="trip planner's SoC at arrival")
    settings: OwnerSettings | None = Field(None, description="the charge settings applied in the car (set in the car or the app)")


class OwnerSettings(_Model):
    """The owner's settings (I-12): set in the BEV app, applied by the car, shared on I-13.

    ``aggregator`` is the owner's consent to share data with that aggregator and take its SoC
    settings; ``v2g_consent`` additionally allows discharging.
    """

    departure_s: float = Field(gt=0, description="next departure, epoch seconds")
    target_soc: float = Field(0.8, ge=0.05, le=1.0, description="SoC wanted at departure")
    min_soc_for_discharge: float = Field(0.3, ge=0.0, le=1.0, description="a discharge never goes below this SoC")
    v2g_consent: bool = False
    aggregator: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="aggregator allowed on I-13")

    @model_validator(mode="after")
    def _min_below_target(self) -> OwnerSettings:
        if self.min_soc_for_discharge > self.target_soc:
            raise ValueError(
                f"min_soc_for_discharge ({self.min_soc_for_discharge}) must not be above target_soc ({self.target_soc})")
        return self


def settings_problem(settings: OwnerSettings, *, now_s: float) -> tuple[str, str] | None:
    """Rules that need the time: (field, reason) or ``None``."""
    if settings.departure_s <= now_s:
        return "departure_s", f"departure {settings.departure_s:.0f} is not after now ({now_s:.0f})"
    return None


class SocCommand(_Model):
    """An SoC setting from the aggregator (I-13), forwarded to the car on I-02.

    The car charges no higher than ``max_soc`` and discharges no lower than ``min_soc``; the
    owner's settings bound both (the backend refuses what breaks them).
    """

    vin: str = Field(pattern=_VIN.pattern)
    aggregator: str
    time_s: float
    max_soc: float = Field(ge=0, le=1)
    min_soc: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> SocCommand:
        if self.min_soc > self.max_soc:
            raise ValueError(f"min_soc ({self.min_soc}) must not be above max_soc ({self.max_soc})")
        return self


class VehicleView(_Model):
    """What the BEV app (I-12) and the authorised aggregator (I-13) see of one car."""

    vin: str
    status: VehicleStatus | None
    settings: OwnerSettings | None
    last_command: SocCommand | None = None


VehicleStatus.model_rebuild()
