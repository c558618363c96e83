"""I-13 technical aggregator – OEM backend (optional in the seed, "proprietary"): the messages.

The aggregator reads the cars whose owners authorised it (``OwnerSettings.aggregator``) and
sends SoC settings (:class:`~bidicharge.components.interfaces.i02_telematics.SocCommand`),
"commands mainly via SoC settings" as the seed says. In live mode the same contract is the
OEM backend's REST API (``/v1/aggregator/...``, see ``components/oem_backend/api.py``); in a
study it travels in memory as these messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bidicharge.components.interfaces.i02_telematics import SocCommand


@dataclass(frozen=True, slots=True, kw_only=True)
class FleetDataRequest:
    aggregator: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FleetData:
    time_s: float
    vehicles: tuple[dict[str, Any], ...]  # VehicleView as JSON (as on REST), only authorised cars


@dataclass(frozen=True, slots=True, kw_only=True)
class SocCommandRequest:
    command: SocCommand


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandAnswer:
    accepted: bool
    reason: str = ""
