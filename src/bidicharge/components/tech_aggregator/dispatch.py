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
from bidicharge.control.fleet_flexibility import FleetFlexibility, FloatArray

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
        return np.clip(np.minimum(self.departure_s, to) - np.maximum(self.arrival_s, frm), 0.0, None)

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

    def setpoints(self, k: int, now: float, energy_start_Wh: FloatArray, done_Wh: FloatArray,
                  pinned_rest_W: FloatArray, no_discharge: FloatArray, *, energy_now_Wh: FloatArray,
                  max_charge_W: FloatArray, max_discharge_W: FloatArray,
                  min_step_s: float) -> tuple[FloatArray, FloatArray, float]:
        """Setpoints for the rest of interval ``k`` from ``now``.

        ``done_Wh``: grid-side energy each car took since the interval began; ``pinned_rest_W``:
        NaN for free cars, else the power the car will keep for the rest of the interval (0 for
        a car that is gone or not there); ``no_discharge``: cars that do not follow discharge
        setpoints. Returns (setpoint W for the rest, interval average W per car, shortfall W).
        """
        h = self.flex.horizon
        t0, t1 = h.start_s + k * h.step_s, h.start_s + (k + 1) * h.step_s
        rest_s = max(t1 - now, 0.0)
        pinned = ~np.isnan(pinned_rest_W)
        fixed = np.where(pinned, (done_Wh * 3600.0 + np.nan_to_num(pinned_rest_W) * rest_s) / h.step_s, np.nan)
        nan = np.full(self.flex.n_cars, np.nan)
        result = redispatch_interval(self.flex, k, energy_start_Wh, float(self.sold_W[k]),
                                     Override(fixed_power_W=fixed, max_charge_power_W=nan), self.tubes)
        refuse = (no_discharge > 0) & ~pinned & (result.power_W < -1e-6)
        if refuse.any():  # they will not discharge: hold them at what they did, the rest absorb
            fixed = np.where(refuse, done_Wh * 3600.0 / h.step_s, fixed)
            result = redispatch_interval(self.flex, k, energy_start_Wh, float(self.sold_W[k]),
                                         Override(fixed_power_W=fixed, max_charge_power_W=nan), self.tubes)
            pinned = pinned | refuse
        plugged = np.maximum(self.plugged_s(max(now, t0), t1), min_step_s)
        missing_Wh = result.power_W * h.step_s / 3600.0 - done_Wh
        rest = np.where(pinned, np.nan_to_num(pinned_rest_W), missing_Wh * 3600.0 / plugged)
        return self._within_rules(rest, plugged, energy_now_Wh, max_charge_W, max_discharge_W), result.power_W, \
            result.shortfall_W

    def _within_rules(self, rest_W: FloatArray, plugged_s: FloatArray, energy_now_Wh: FloatArray,
                      max_charge_W: FloatArray, max_discharge_W: FloatArray) -> FloatArray:
        """The owner's rules hold for every setpoint, whatever the catching-up asks: no discharge
        without consent (or below the minimum SoC at arrival), never below the minimum SoC."""
        flex = self.flex
        floor_rel = flex.floor_energy_Wh - flex.initial_energy_Wh  # cumulative change, battery side
        room_Wh = np.maximum(energy_now_Wh - floor_rel, 0.0)
        lo = -np.minimum(max_discharge_W, room_Wh * flex.discharge_efficiency * 3600.0 / plugged_s)
        lo = np.where(flex.may_discharge, lo, 0.0)
        return np.asarray(np.clip(rest_W, np.minimum(lo, 0.0), np.maximum(max_charge_W, 0.0)), dtype=np.float64)
