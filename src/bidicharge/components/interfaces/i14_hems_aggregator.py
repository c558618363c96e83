"""Home-charged cars for the technical aggregator: the HEMS backend on I-14 (issue 8, item 2).

The seed's catalogue has no interface of its own between the technical aggregator
(C-TECH-AGG) and a HEMS backend (C-HEMS-BACKEND); the issue asks the aggregator to gather
home-charged cars "from HEMS backends" all the same. The link that carries what is needed is
I-14 ("live data of connected vehicles in; charging schedules back"): for the wallboxes its
HEMSs run, the HEMS backend takes the CPO backend's role on it (``ACTS_AS C-CPO-BACKEND``) and
answers the same :class:`~bidicharge.components.interfaces.i14_cpo_aggregator.LiveDataRequest`
and :class:`~bidicharge.components.interfaces.i14_cpo_aggregator.SetChargingSchedules`, one
EVSE per home site with the id ``home.{site}``.

What a CPO backend does not know and a HEMS does — the owner's departure, target SoC,
minimum SoC for a discharge and V2G consent (the HEMS settings of I-06/I-07) — travels as
:class:`HomeCars`, shaped like I-13's ``FleetData`` (``VehicleView`` as JSON), so the
aggregator merges it exactly as it merges the OEM backend's data. Only sites whose owner
registered the car *for this aggregator* (:class:`HomeCarRegistration`, the consent to share)
appear; a discharge setpoint for a site without V2G consent is refused per EVSE.

Live REST for this contract is not built yet (open): in a study it travels in memory.
Accepted schedules are kept per site in the HEMS backend's database and go on to the site's
HEMS (I-06 ``aggregator_schedule``), which follows them within the owner's limits and §14a
and reports what it could not follow (``HomeCars.deviations``; the live data show the measured
power off the setpoint, from which the aggregator re-dispatches).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

HOME_EVSE_PREFIX = "home."


def home_evse_id(site: str) -> str:
    return f"{HOME_EVSE_PREFIX}{site}"


class HomeCarRegistration(BaseModel):
    """The owner registers the home-charged car with an aggregator (the consent to share its data)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    site: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    vin: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="the car's id, as on I-02/I-13")
    aggregator: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="the aggregator allowed to read and steer")
    capacity_Wh: float = Field(gt=0, le=500_000)
    max_charge_power_W: float = Field(ge=0, le=350_000, description="the wallbox/car limit into the car")
    max_discharge_power_W: float = Field(0.0, ge=0, le=350_000, description="0 for a wallbox that cannot discharge")
    charge_efficiency: float = Field(0.92, gt=0, le=1)
    discharge_efficiency: float = Field(0.92, gt=0, le=1)
    timezone: str = Field("Europe/Berlin", description="where the site's HH:MM departure time is meant")


@dataclass(frozen=True, slots=True, kw_only=True)
class HomeCarsRequest:
    aggregator: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HomeCars:
    time_s: float
    vehicles: tuple[dict[str, Any], ...]  # VehicleView as JSON, only cars registered for this aggregator
    refused: tuple[tuple[str, str], ...] = ()  # (site, reason): registered but not usable now
    deviations: tuple[tuple[str, str], ...] = ()  # (site, reason): the HEMS does not follow the schedule now
