"""What the aggregator app (I-11) is shown: per car its connection, power and direction, energy,
cost and revenue at the traded price, and the owner's settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bidicharge.components.interfaces.i11_aggregator_app import CarsView, CarView

if TYPE_CHECKING:
    from bidicharge.components.tech_aggregator import TechAggregator


def cars_view(agg: TechAggregator, user: str | None) -> CarsView:
    """Every car of ``user`` (an owner's car id), or every car for the fleet manager (``None``)."""
    plan = agg.plan
    cars = []
    for vin, view in sorted(agg.views.items()):
        if user is not None and vin != user:
            continue
        evse = plan.state.evse_of.get(vin) if plan is not None else None
        e = agg.live.get(evse or "")
        connected = bool(e is not None and e.connected and e.vehicle_id == vin)
        power = e.power_W if connected and e is not None else 0.0
        hist = agg.history(vin).entries
        settings = view.settings
        cars.append(CarView(
            vin=vin, evse_id=evse, connected=connected, soc=e.soc if connected and e is not None else None,
            power_W=power, direction="charging" if power > 1 else "discharging" if power < -1 else "idle",
            charged_Wh=round(sum(x.charged_Wh for x in hist), 3),
            discharged_Wh=round(sum(x.discharged_Wh for x in hist), 3),
            cost_EUR=round(sum(x.charged_Wh * x.price_EUR_per_MWh for x in hist) / 1e6, 4),
            revenue_EUR=round(sum(x.discharged_Wh * x.price_EUR_per_MWh for x in hist) / 1e6, 4),
            v2g_consent=bool(settings and settings.v2g_consent),
            target_soc=settings.target_soc if settings else 0.0,
            min_soc_for_discharge=settings.min_soc_for_discharge if settings else 0.0,
            departure_s=settings.departure_s if settings else 0.0))
    return CarsView(time_s=agg.now, cars=tuple(cars))
