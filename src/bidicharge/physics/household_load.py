"""Household electricity demand from the BDEW standard load profiles (demandlib).

H0 is used in its dynamised form (`h0_dyn`, the BDEW dynamisation polynomial), H25 is the
2025 BDEW household profile; both scaled to the annual energy. The profiles are quarter-
hourly averages of many households; an optional seeded multiplicative noise (`variability`)
makes a single household spikier. Values are held constant within each quarter hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
PROFILES = ("H0", "H25")


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadParams:
    annual_energy_Wh: float
    profile: str = "H0"
    variability: float = 0.0  # std of lognormal multiplicative noise per quarter hour

    def __post_init__(self) -> None:
        if self.annual_energy_Wh < 0:
            raise ValueError(f"annual_energy_Wh must be >= 0, got {self.annual_energy_Wh}")
        if self.profile not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}, got {self.profile!r}")


@lru_cache(maxsize=16)
def _year_profile_W_per_kWh(profile: str, year: int) -> tuple[FloatArray, float]:
    """Quarter-hour power (W) for 1 kWh/a, and the epoch second of the year's first quarter hour."""
    import warnings

    import demandlib.bdew as bdew

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if profile == "H0":
            frame = bdew.ElecSlp(year).get_scaled_power_profiles({"h0_dyn": 1.0})
            kw = frame["h0_dyn"].to_numpy(dtype=np.float64)  # kW for 1 kWh/a
        else:
            index = pd.date_range(f"{year}-01-01", periods=len(pd.date_range(f"{year}-01-01", f"{year + 1}-01-01", freq="15min", inclusive="left")), freq="15min")
            series = bdew.H25(index)
            energy = float(np.asarray(series, dtype=np.float64).sum()) / 4.0
            kw = np.asarray(series, dtype=np.float64) / energy
    start = pd.Timestamp(f"{year}-01-01", tz="UTC").timestamp()
    return kw * 1000.0, start


def power_W(params: LoadParams, times_s: FloatArray, rng: np.random.Generator | None = None) -> FloatArray:
    """Household demand in W (>= 0) at each epoch second. Local time is taken as UTC+1
    (CET) so the evening peak sits where the German profile puts it."""
    local = times_s + 3600.0
    years = pd.to_datetime(local, unit="s").year.to_numpy()
    out = np.empty(len(times_s))
    for year in np.unique(years):
        mask = years == year
        prof, start = _year_profile_W_per_kWh(params.profile, int(year))
        idx = np.floor((local[mask] - start) / 900.0).astype(np.int64).clip(0, len(prof) - 1)
        out[mask] = prof[idx] * params.annual_energy_Wh / 1000.0
    if params.variability > 0 and rng is not None:
        q = np.floor(local / 900.0)
        _, inv = np.unique(q, return_inverse=True)
        sigma = params.variability
        factors = rng.lognormal(mean=-0.5 * sigma**2, sigma=sigma, size=int(inv.max()) + 1)
        out = out * factors[inv]
    return out
