"""The HEMS's model-predictive strategy: forecasts, prices and the measured state go into
`control.hems_mpc.plan` every re-plan period; between plans `control.hems_rules.follow_plan`
turns the current step of the plan into setpoints checked against what is measured, and the
fallback rule takes over when the solver fails.

Forecasts (`control.forecast`): `persistence` looks only at the past; `perfect` and `noisy`
read the realised series of the plants behind the meter — possible only in a study, where the
simulator knows the future (the "study oracle"); `perfect` is the limit of perfect foresight.
Prices: the day-ahead auction publishes the next day around 12:45 CET, so the planner knows
prices up to the end of today before 13:00 and of tomorrow after it, and repeats the last
known day beyond that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bidicharge.control import hems_mpc, hems_rules
from bidicharge.control.forecast import ForecastMethod, ForecastSettings, forecast

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannerSettings:
    step_s: float = 900.0
    horizon_steps: int = 144  # 36 h
    forecast: str = "persistence"  # perfect | persistence | noisy
    noise_relative_std: float = 0.25
    wear_EUR_per_kWh: float = 0.03
    utc_offset_s: float = 3600.0
    publication_hour_local: float = 13.0


class Oracle:
    """Realised PV and house-load series at plan resolution over the study span (+ horizon)."""

    def __init__(self, start_s: float, step_s: float, pv_W: FloatArray, load_W: FloatArray) -> None:
        self.start_s = start_s
        self.step_s = step_s
        self.pv_W = pv_W
        self.load_W = load_W

    def index(self, t: float) -> int:
        return int((t - self.start_s) // self.step_s)


class MpcPlanner:
    def __init__(self, settings: PlannerSettings, rng: np.random.Generator, oracle: Oracle | None) -> None:
        self.s = settings
        self.rng = rng
        self.oracle = oracle
        self.plan: hems_mpc.HemsPlan | None = None
        self.plan_start_s = 0.0
        self.solve_times_s: list[float] = []
        self.failures = 0
        # measured history at plan resolution for persistence forecasts: one day of slots
        n_day = max(1, round(86400.0 / settings.step_s))
        self._pv_day = np.zeros(n_day)
        self._load_day = np.zeros(n_day)

    # -- forecasts -------------------------------------------------------------------------
    def observe(self, now: float, pv_W: float, load_W: float) -> None:
        i = int((now % 86400.0) // self.s.step_s) % len(self._pv_day)
        self._pv_day[i] = pv_W
        self._load_day[i] = load_W

    def _forecast(self, now: float, n: int) -> tuple[FloatArray, FloatArray]:
        method = self.s.forecast
        o = self.oracle
        if method == "persistence" or o is None or not 0 <= o.index(now) <= len(o.pv_W) - n:
            i0 = int((now % 86400.0) // self.s.step_s)
            idx = (i0 + np.arange(n)) % len(self._pv_day)
            return self._pv_day[idx].copy(), self._load_day[idx].copy()
        k = o.index(now)
        settings = ForecastSettings(
            method=ForecastMethod.PERFECT if method == "perfect" else ForecastMethod.NOISY,
            relative_std=0.0 if method == "perfect" else self.s.noise_relative_std,
        )
        pv = forecast(o.pv_W, start=k, horizon=n, settings=settings, rng=self.rng)
        load = forecast(o.load_W, start=k, horizon=n, settings=settings, rng=self.rng)
        return np.asarray(pv, dtype=np.float64), np.asarray(load, dtype=np.float64)

    def known_prices(self, now: float, start_s: float, step_s: float, prices: tuple[float, ...], n: int) -> FloatArray:
        """Prices per plan step in EUR/MWh, limited to what the day-ahead auction has published."""
        local = now + self.s.utc_offset_s
        midnight = local - (local % 86400.0)
        known_until_local = midnight + (2 * 86400.0 if (local - midnight) >= self.s.publication_hour_local * 3600 else 86400.0)
        known_until = known_until_local - self.s.utc_offset_s
        times = now + self.s.step_s * np.arange(n)
        src = np.asarray(prices, dtype=np.float64) * 1000.0
        idx = np.floor((times - start_s) / step_s).astype(np.int64)
        last_known = min(len(src), int((known_until - start_s) // step_s))
        if last_known <= 0:
            return np.full(n, src[0] if len(src) else 0.0)
        # beyond the published prices: repeat the last published day
        day = max(1, round(86400.0 / step_s))
        over = idx >= last_known
        idx[over] = last_known - day + ((idx[over] - last_known) % day)
        return src[np.clip(idx, 0, len(src) - 1)]

    # -- planning --------------------------------------------------------------------------
    def replan(
        self,
        now: float,
        *,
        ev: hems_rules.EvState | None,
        battery: hems_rules.BatteryState | None,
        import_prices_EUR_per_MWh: FloatArray,
        feed_in_EUR_per_MWh: float,
        grid_import_limit_W: float,
        import_limit_14a_W: FloatArray | None = None,
        ev_trip_energy_Wh: FloatArray | None = None,
        ev_plugged: npt.NDArray[np.bool_] | None = None,
    ) -> hems_mpc.HemsPlan:
        import time as _time  # solver wall time, for the benchmark figure only

        n = self.s.horizon_steps
        pv, load = self._forecast(now, n)
        ev_problem = None
        if ev is not None and ev.plugged:
            if ev_plugged is None:
                times = now + self.s.step_s * np.arange(n)
                ev_plugged = times < (ev.departure_s if ev.departure_s is not None else np.inf)
            departures: tuple[hems_mpc.Departure, ...] = ()
            dep_steps = np.flatnonzero(ev_plugged[:-1] & ~ev_plugged[1:]) + 1
            departures = tuple(hems_mpc.Departure(step=int(k), target_soc=ev.target_soc) for k in dep_steps)
            ev_problem = hems_mpc.EvProblem(
                capacity_Wh=ev.capacity_Wh,
                soc_initial=min(max(ev.soc, 0.0), 1.0),
                plugged=ev_plugged,
                max_charge_power_W=ev.max_charge_power_W,
                max_discharge_power_W=ev.max_discharge_power_W if ev.v2h_allowed else 0.0,
                charge_efficiency=ev.charge_efficiency,
                discharge_efficiency=ev.discharge_efficiency,
                reserve_soc=ev.reserve_soc,
                trip_energy_Wh=ev_trip_energy_Wh,
                departures=departures,
                v2h_allowed=ev.v2h_allowed,
                v2g_allowed=ev.v2g_allowed and ev.v2h_allowed,
                wear_cost_EUR_per_kWh=self.s.wear_EUR_per_kWh,
            )
        battery_problem = None
        if battery is not None:
            battery_problem = hems_mpc.BatteryProblem(
                capacity_Wh=battery.capacity_Wh,
                soc_initial=min(max(battery.soc, battery.soc_min), battery.soc_max),
                max_charge_power_W=battery.max_charge_power_W,
                max_discharge_power_W=battery.max_discharge_power_W,
                charge_efficiency=battery.charge_efficiency,
                discharge_efficiency=battery.discharge_efficiency,
                soc_min=battery.soc_min,
                soc_max=battery.soc_max,
                wear_cost_EUR_per_kWh=self.s.wear_EUR_per_kWh / 2,
            )
        problem = hems_mpc.HemsProblem(
            step_s=self.s.step_s,
            pv_W=pv,
            load_W=load,
            import_price_EUR_per_MWh=import_prices_EUR_per_MWh,
            export_price_EUR_per_MWh=np.full(n, feed_in_EUR_per_MWh),
            grid_import_limit_W=grid_import_limit_W,
            import_limit_14a_W=import_limit_14a_W,  # §14a allowance from the Energy Guard (LPC, I-09)
            ev=ev_problem,
            battery=battery_problem,
        )
        t0 = _time.perf_counter()
        plan = hems_mpc.plan(problem)
        self.solve_times_s.append(_time.perf_counter() - t0)
        if not plan.ok:
            self.failures += 1
        self.plan = plan
        self.plan_start_s = now
        return plan

    def setpoints(self, now: float, site: hems_rules.SiteState, rules: hems_rules.RuleSettings) -> hems_rules.Setpoints:
        if self.plan is None:
            return hems_rules.fallback_rule(site, rules, now)
        step = int((now - self.plan_start_s) // self.s.step_s)
        if not self.plan.ok or step >= len(self.plan.ev_charge_W):
            return hems_rules.fallback_rule(site, rules, now)
        return hems_rules.follow_plan(self.plan, step, site, rules)
