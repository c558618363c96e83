"""Which values a control point accepts, as data (rules first, then the lookup).

SunSpec model definitions give types and symbols but no ranges; the ranges below follow
the point descriptions: percentages of a rating are 0..100 % (SunSpec 123 `WMaxLimPct`
"Set power output to specified level", IEEE 1547-2018 §4.6 for 704), signed rates are
-100..100 %, active-power setpoints stay within ± the rated `WMax` of model 702 / 120
(IEEE 1547-2018 §4.6.2, 704 `WSet`), reserves are SoC percentages. Enumerations accept only
their defined symbols (checked generically, not listed here).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True, kw_only=True)
class Limit:
    """Either a fixed range, or bounded by a rating point (model id, path) of the device:
    0..rating, or -rating..rating when `signed`."""

    min: float = 0.0
    max: float = 0.0
    rating: tuple[int, str] | None = None
    signed: bool = False


LIMITS: Final[dict[tuple[int, str], Limit]] = {
    (123, "WMaxLimPct"): Limit(min=0, max=100),
    (123, "OutPFSet"): Limit(min=-1, max=1),
    (123, "VArWMaxPct"): Limit(min=-100, max=100),
    (123, "VArMaxPct"): Limit(min=-100, max=100),
    (123, "VArAvalPct"): Limit(min=-100, max=100),
    (124, "WChaMax"): Limit(rating=(120, "MaxChaRte")),
    (124, "InWRte"): Limit(min=-100, max=100),
    (124, "OutWRte"): Limit(min=-100, max=100),
    (124, "MinRsvPct"): Limit(min=0, max=100),
    (704, "WMaxLimPct"): Limit(min=0, max=100),
    (704, "WMaxLimPctRvrt"): Limit(min=0, max=100),
    (704, "WSet"): Limit(rating=(702, "WMaxRtg"), signed=True),
    (704, "WSetRvrt"): Limit(rating=(702, "WMaxRtg"), signed=True),
    (704, "WSetPct"): Limit(min=-100, max=100),
    (704, "WSetPctRvrt"): Limit(min=-100, max=100),
    (704, "VarSetPct"): Limit(min=-100, max=100),
    (704, "VarSetPctRvrt"): Limit(min=-100, max=100),
    (704, "PFWInj.PF"): Limit(min=0, max=1),
    (704, "PFWAbs.PF"): Limit(min=0, max=1),
    (702, "WMax"): Limit(rating=(702, "WMaxRtg")),
    (702, "WChaRteMax"): Limit(rating=(702, "WChaRteMaxRtg")),
    (702, "WDisChaRteMax"): Limit(rating=(702, "WDisChaRteMaxRtg")),
    (121, "WMax"): Limit(rating=(120, "WRtg")),
    (802, "SoCRsvMin"): Limit(min=0, max=100),
    (802, "SocRsvMax"): Limit(min=0, max=100),
}


def limit_for(model_id: int, path: str) -> Limit | None:
    return LIMITS.get((model_id, path))
