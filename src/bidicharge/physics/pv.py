"""PV generation: pvlib clear-sky irradiance for a site, transposed onto the array, with a
seeded cloud process, through a PVWatts-style DC model and an inverter clip.

Clear sky: Haurwitz GHI (pvlib), split into DNI/DHI with Erbs, isotropic transposition.
Clouds: each day draws a weather regime (clear / mixed / overcast, with season-dependent
odds) and a clear-sky index follows an AR(1) process around the regime's mean at
15-minute resolution — enough to give PV forecasts realistic errors, reproducible from
the seed. Output is AC power in W (>= 0); as a node at the connection point it is
negative (generation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pvlib

FloatArray = npt.NDArray[np.float64]

# (probability, mean clear-sky index, AR(1) noise std) per regime; summer odds shift to clear
_REGIMES = ((0.35, 0.95, 0.04), (0.40, 0.65, 0.18), (0.25, 0.25, 0.08))


@dataclass(frozen=True, slots=True, kw_only=True)
class PvParams:
    peak_power_W: float
    latitude_deg: float = 52.52
    longitude_deg: float = 13.40
    tilt_deg: float = 30.0
    azimuth_deg: float = 180.0  # 180 = south
    inverter_max_W: float | None = None  # AC clip; default = peak power
    system_efficiency: float = 0.86  # DC wiring, soiling, mismatch, inverter
    temperature_coefficient_per_K: float = -0.004
    cloudy: bool = True  # False: pure clear sky

    def __post_init__(self) -> None:
        if self.peak_power_W < 0:
            raise ValueError(f"peak_power_W must be >= 0, got {self.peak_power_W}")
        if not -90 <= self.latitude_deg <= 90:
            raise ValueError(f"latitude_deg out of range: {self.latitude_deg}")


def clear_sky_poa_W_per_m2(params: PvParams, times_s: FloatArray) -> FloatArray:
    """Plane-of-array irradiance under clear sky at the given epoch seconds (UTC)."""
    index = pd.DatetimeIndex(pd.to_datetime(times_s, unit="s", utc=True))
    pos = pvlib.solarposition.get_solarposition(index, params.latitude_deg, params.longitude_deg)
    ghi = pvlib.clearsky.haurwitz(pos["apparent_zenith"])["ghi"]
    split = pvlib.irradiance.erbs(ghi, pos["zenith"], index)
    poa = pvlib.irradiance.get_total_irradiance(
        params.tilt_deg, params.azimuth_deg, pos["apparent_zenith"], pos["azimuth"], split["dni"], ghi, split["dhi"]
    )["poa_global"]
    return np.nan_to_num(np.asarray(poa, dtype=np.float64), nan=0.0).clip(min=0.0)


def cloud_index(times_s: FloatArray, rng: np.random.Generator) -> FloatArray:
    """Clear-sky index in [0.05, 1.05] per time, from daily regimes and a 15-min AR(1)."""
    if len(times_s) == 0:
        return np.zeros(0)
    q_start = np.floor(times_s[0] / 900.0) * 900.0
    n_q = int(np.ceil((times_s[-1] - q_start) / 900.0)) + 2
    q_times = q_start + 900.0 * np.arange(n_q)
    days = np.floor(q_times / 86400.0).astype(np.int64)
    day_ids, day_of_q = np.unique(days, return_inverse=True)
    doy = (pd.to_datetime(day_ids * 86400, unit="s").dayofyear.to_numpy()).astype(np.float64)
    summer = 0.5 - 0.5 * np.cos(2 * np.pi * (doy - 15.0) / 365.0)  # 0 in January, 1 in July
    p_clear = 0.20 + 0.30 * summer
    p_over = 0.40 - 0.30 * summer
    u = rng.random(len(day_ids))
    regime = np.where(u < p_clear, 0, np.where(u < 1.0 - p_over, 1, 2))
    means = np.array([r[1] for r in _REGIMES])[regime][day_of_q]
    stds = np.array([r[2] for r in _REGIMES])[regime][day_of_q]
    noise = rng.standard_normal(n_q) * stds
    k = np.empty(n_q)
    dev = 0.0
    phi = 0.8
    for i in range(n_q):  # AR(1) around the regime mean
        dev = phi * dev + noise[i]
        k[i] = means[i] + dev
    k = k.clip(0.05, 1.05)
    return np.interp(times_s, q_times, k)


def ac_power_W(
    params: PvParams, times_s: FloatArray, rng: np.random.Generator | None = None, ambient_C: FloatArray | None = None
) -> FloatArray:
    """AC output in W (>= 0) at each time; `rng` drives clouds (None or `cloudy=False`: clear sky)."""
    poa = clear_sky_poa_W_per_m2(params, times_s)
    if params.cloudy and rng is not None:
        poa = poa * cloud_index(times_s, rng)
    t_amb = ambient_C if ambient_C is not None else np.full(len(times_s), 15.0)
    t_cell = t_amb + poa / 800.0 * 25.0  # NOCT-style: 25 K rise at 800 W/m²
    dc = params.peak_power_W * poa / 1000.0 * (1.0 + params.temperature_coefficient_per_K * (t_cell - 25.0))
    ac = dc * params.system_efficiency
    clip = params.inverter_max_W if params.inverter_max_W is not None else params.peak_power_W
    return np.asarray(ac.clip(0.0, clip), dtype=np.float64)
