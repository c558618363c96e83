"""Per-interval dispatch of the sold pool schedule, re-dispatched within the interval on deviations.

The plan for the day (``control.fleet_disaggregation.disaggregate`` over the tubes) gives every
car an average grid power per 15-minute interval. During the interval the aggregator measures
(I-14 meter registers and SoC each step) and calls :meth:`PoolDispatcher.setpoints` with what
each car has taken so far; cars that deviate are pinned to what they did (an early unplug or
a late arrival to what they took before, a car that does not follow to its measured power) and
``control.fleet_disaggregation.redispatch_interval`` lets the other cars absorb the difference
in the same interval, within their own windows. The result is the setpoint for the rest of the
interval: what is still missing of the car's interval energy over the time it stays plugged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bidicharge.control.fleet_disaggregation import Override, redispatch_interval
from bidicharge.control.fleet_envelope import CarTubes
from bidicharge.control.fleet_flexibility import FleetFlexibility, FloatArray, grid_to_battery_W

_MIN_PLUGGED_S = 30.0


@dataclass(slots=True)
class PoolDispatcher:
    flex: FleetFlexibility
    tubes: CarTubes
    sold_W: FloatArray  # (T,)
    arrival_s: FloatArray  # (N,) announced
    departure_s: FloatArray  # (N,) announced

    def plugged_s(self, frm: float, to: float) -> FloatArray:
        """Announced plugged-in seconds of every car in ``[frm, to)``."""
        return np.asarray(np.clip(np.minimum(self.departure_s, to) - np.maximum(self.arrival_s, frm), 0.0, None),
                          dtype=np.float64)

    def plan_setpoints(self, average_W: FloatArray) -> FloatArray:
        """Day plan (N, T): interval averages turned into setpoints while the car is plugged in."""
        h = self.flex.horizon
        out = np.zeros_like(average_W)
        for k in range(h.n_steps):
            t0 = h.start_s + k * h.step_s
            plugged = self.plugged_s(t0, t0 + h.step_s)
            ok = plugged >= _MIN_PLUGGED_S
            out[ok, k] = average_W[ok, k] * h.step_s / plugged[ok]
        return out

    def interval_average(self, k: int, energy_start_Wh: FloatArray, pinned_avg_W: FloatArray,
                         no_discharge: FloatArray) -> tuple[FloatArray, float]:
        """Average grid power per car in interval ``k`` (and the shortfall), decided at its start.

        ``pinned_avg_W``: NaN for free cars, else the average the car is held to (0 for a car that
        is gone or not there); cars that do not follow discharge setpoints are held at 0 where
        the split would discharge them, and the others absorb.
        """
        nan = np.full(self.flex.n_cars, np.nan)
        fixed = np.array(pinned_avg_W, dtype=np.float64)
        result = redispatch_interval(self.flex, k, energy_start_Wh, float(self.sold_W[k]),
                                     Override(fixed_power_W=fixed, max_charge_power_W=nan), self.tubes)
        refuse = (no_discharge > 0) & np.isnan(fixed) & (result.power_W < -1e-6)
        if refuse.any():
            fixed = np.where(refuse, 0.0, fixed)
            result = redispatch_interval(self.flex, k, energy_start_Wh, float(self.sold_W[k]),
                                         Override(fixed_power_W=fixed, max_charge_power_W=nan), self.tubes)
        return result.power_W, result.shortfall_W

    def setpoints(self, k: int, now: float, average_W: FloatArray, done_Wh: FloatArray, pinned_rest_W: FloatArray,
                  *, energy_now_Wh: FloatArray, max_charge_W: FloatArray, max_discharge_W: FloatArray,
                  min_step_s: float) -> FloatArray:
        """Setpoints for the rest of interval ``k`` from ``now``.

        Every free car is given what is still missing of its interval average over the time it
        stays plugged in (``done_Wh``: grid-side energy taken since the interval began); cars
        held by a deviation (``pinned_rest_W`` not NaN) or by their limits leave a deficit that
        the free cars absorb in proportion to their headroom, inside their energy windows at
        the end of the interval (so their departure needs stay reachable).
        """
        h = self.flex.horizon
        flex = self.flex
        t0, t1 = h.start_s + k * h.step_s, h.start_s + (k + 1) * h.step_s
        plugged = np.maximum(self.plugged_s(max(now, t0), t1), min_step_s)
        pinned = ~np.isnan(pinned_rest_W)
        wanted = np.where(pinned, np.nan_to_num(pinned_rest_W),
                          (average_W * h.step_s / 3600.0 - done_Wh) * 3600.0 / plugged)
        rest = self._within_rules(wanted, plugged, energy_now_Wh, max_charge_W, max_discharge_W, k)
        expected_Wh = done_Wh + rest * plugged / 3600.0
        deficit_Wh = float(self.sold_W[k]) * h.step_s / 3600.0 - float(expected_Wh.sum())
        free = ~pinned & (np.abs(rest - wanted) <= 1.0)
        if abs(deficit_Wh) < 1.0 or not free.any():
            return rest
        eta_c, eta_d = flex.charge_efficiency, flex.discharge_efficiency
        end_Wh = energy_now_Wh + grid_to_battery_W(rest, eta_c, eta_d) * plugged / 3600.0
        if deficit_Wh > 0:
            limit = self._within_rules(np.full(flex.n_cars, np.inf), plugged, energy_now_Wh, max_charge_W,
                                       max_discharge_W, k)
            room = np.minimum((limit - rest) * plugged / 3600.0,
                              np.maximum(flex.max_energy_Wh[:, k + 1] - end_Wh, 0.0) / eta_c)
        else:
            limit = self._within_rules(np.full(flex.n_cars, -np.inf), plugged, energy_now_Wh, max_charge_W,
                                       max_discharge_W, k)
            room = np.minimum((rest - limit) * plugged / 3600.0,
                              np.maximum(end_Wh - flex.min_energy_Wh[:, k + 1], 0.0) * eta_d)
        room = np.where(free, np.maximum(room, 0.0), 0.0)
        total = float(room.sum())
        if total <= 0:
            return rest
        share = min(1.0, abs(deficit_Wh) / total)
        return np.asarray(rest + np.sign(deficit_Wh) * share * room * 3600.0 / plugged, dtype=np.float64)

    def _within_rules(self, rest_W: FloatArray, plugged_s: FloatArray, energy_now_Wh: FloatArray,
                      max_charge_W: FloatArray, max_discharge_W: FloatArray, k: int) -> FloatArray:
        """The owner's rules hold for every setpoint, whatever the catching-up asks: no discharge
        without consent (or below the minimum SoC at arrival), never below the minimum SoC."""
        flex = self.flex
        floor_rel = flex.floor_energy_Wh - flex.initial_energy_Wh  # cumulative change, battery side
        room_Wh = np.maximum(energy_now_Wh - floor_rel, 0.0)
        lo = -np.minimum(max_discharge_W, room_Wh * flex.discharge_efficiency * 3600.0 / plugged_s)
        lo = np.where(flex.may_discharge, lo, 0.0)
        hi = np.maximum(max_charge_W, 0.0)
        # and the car ends the interval inside its window, so that its departure need stays reachable
        hours = plugged_s / 3600.0
        below = flex.min_energy_Wh[:, k + 1] - energy_now_Wh  # battery Wh still needed by the boundary
        need_W = np.where(below > 0, below / flex.charge_efficiency, below * flex.discharge_efficiency) / hours
        lo = np.maximum(lo, np.minimum(need_W, hi))
        above = flex.max_energy_Wh[:, k + 1] - energy_now_Wh
        room_W = np.where(above > 0, above / flex.charge_efficiency, above * flex.discharge_efficiency) / hours
        hi = np.maximum(np.minimum(hi, room_W), lo)
        return np.asarray(np.clip(rest_W, np.minimum(lo, hi), hi), dtype=np.float64)
