"""Battery wear in fleet dispatch: a cost per kWh taken out of the cells.

A discharge for the market only pays where the price spread beats the ageing it causes, so
every car carries ``wear_EUR_per_kWh`` (``CarSession``), charged per kWh discharged on the
battery side (each kWh discharged is charged again once, so one full cycle pays it once). The
DP planner (:func:`fleet_joint_lp.plan_by_slopes`) lowers the value of a discharged Wh by it
and the joint LP adds it to every discharge column; tubes around the planner's trajectory
then offer the commercial side no cycling that would not pay for the wear.

The default figure, 0.03 EUR/kWh, is the HEMS's (``components/hems``) and follows from the
lab ageing that ``reference/grid_and_markets.md`` §7 cites (The Mobility House + RWTH: V2G
adds 1.7–5.8 pp of capacity loss over 10 years) under *our* assumptions: the upper 5.8 pp of
a 60 kWh pack at 150 EUR/kWh replacement cost is 522 EUR, spread over 10 years of 250 V2G days
with 7 kWh discharged a day (17,500 kWh) — 0.030 EUR/kWh. :func:`wear_cost_EUR_per_kWh`
recomputes it for other assumptions.
"""

from __future__ import annotations

from typing import Final

DEFAULT_WEAR_EUR_PER_KWH: Final = 0.03


def wear_cost_EUR_per_kWh(*, extra_fade_share: float, capacity_kWh: float, pack_EUR_per_kWh: float,
                          discharged_kWh: float) -> float:
    """Ageing cost per kWh discharged: the value of the capacity lost over the energy that lost it."""
    if not discharged_kWh > 0:
        raise ValueError("the discharged energy must be positive")
    if extra_fade_share < 0 or capacity_kWh <= 0 or pack_EUR_per_kWh < 0:
        raise ValueError("fade share and pack price must not be negative, capacity must be positive")
    return extra_fade_share * capacity_kWh * pack_EUR_per_kWh / discharged_kWh
