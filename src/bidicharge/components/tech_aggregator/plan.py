"""What the technical aggregator holds for a trading day, and small pure helpers around it."""

from __future__ import annotations

from typing import Any

import numpy as np

from bidicharge.components.interfaces.i14_cpo_aggregator import ChargingSchedule
from bidicharge.components.interfaces.i23_flexibility import PriceCurve
from bidicharge.components.tech_aggregator.dispatch import PoolDispatcher
from bidicharge.components.tech_aggregator.fleet_state import FleetState
from bidicharge.control.fleet_envelope import CarTubes, FleetEnvelope, neutral_reference
from bidicharge.control.fleet_flexibility import FleetFlexibility, Horizon, battery_to_grid_W


class Plan:
    """What the aggregator holds once a schedule is sold: flexibility, tubes, the day plan."""

    def __init__(self, flex: FleetFlexibility, tubes: CarTubes, envelope: FleetEnvelope, state: FleetState,
                 price: np.ndarray, offer_id: str) -> None:
        self.flex, self.tubes, self.envelope, self.state = flex, tubes, envelope, state
        self.price = price
        self.offer_id = offer_id
        sessions = state.sessions
        self.index = {s.car_id: i for i, s in enumerate(sessions)}
        self.soc0 = np.array([s.soc for s in sessions])
        self.capacity = np.array([s.capacity_Wh for s in sessions])
        self.arrival = np.array([s.arrival_s for s in sessions])
        self.departure = np.array([s.departure_s for s in sessions])
        self.dispatcher: PoolDispatcher | None = None
        self.plan_W = np.zeros((flex.n_cars, flex.horizon.n_steps))


def value_at(schedule: ChargingSchedule | None, t: float) -> float:
    """The setpoint a schedule we sent puts in force at ``t`` (NaN: none)."""
    if schedule is None:
        return float("nan")
    value = float("nan")
    for period in schedule.periods:
        if schedule.start_s + period.start_offset_s <= t + 1e-6:
            value = period.setpoint_W
    return value


def plain_charging_cost_EUR(flex: FleetFlexibility, price: np.ndarray) -> float:
    """What the fleet's energy would cost if every car simply charged at once to its target."""
    dt_h = flex.horizon.step_s / 3600.0
    move = np.diff(neutral_reference(flex), axis=1) / dt_h
    grid = battery_to_grid_W(move, flex.charge_efficiency[:, None], flex.discharge_efficiency[:, None])
    return float((grid.sum(axis=0) * price).sum() * dt_h / 1e6)


def rounded(values: Any) -> tuple[float, ...]:
    return tuple(round(float(v), 3) for v in values)


def price_on(curve: PriceCurve, horizon: Horizon) -> np.ndarray:
    """The commercial side's prices on our intervals (step function; last value held)."""
    t = horizon.start_s + horizon.step_s * np.arange(horizon.n_steps)
    idx = np.clip(np.floor((t - curve.start_s) / curve.step_s + 1e-9).astype(int), 0, len(curve.price_EUR_per_MWh) - 1)
    return np.asarray(np.asarray(curve.price_EUR_per_MWh, dtype=np.float64)[idx], dtype=np.float64)
from bidicharge.components.tech_aggregator import commercial_standin as commercial_standin  # noqa: E402,F401  (registers the kind)
