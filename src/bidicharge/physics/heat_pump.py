"""Air-source heat pump: heat demand from a building heat-loss coefficient, electric power
from a Carnot-fraction COP, capped at the rated electric input.

COP = carnot_fraction × T_supply / (T_supply − T_outside) (kelvin), clipped to [1, cop_max].
Outside temperature comes from a documented synthetic climate (annual and daily cosine
around a site mean) unless a series is given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
_K = 273.15


@dataclass(frozen=True, slots=True, kw_only=True)
class HeatPumpParams:
    rated_electric_W: float = 3000.0
    heat_loss_W_per_K: float = 180.0  # building UA value
    indoor_C: float = 20.0
    heating_limit_C: float = 15.0  # no space heating above this outside temperature
    supply_C: float = 35.0  # flow temperature (floor heating)
    carnot_fraction: float = 0.45
    cop_max: float = 6.0
    hot_water_W: float = 250.0  # average thermal demand for domestic hot water


def outside_temperature_C(times_s: FloatArray, mean_C: float = 9.5, annual_amp_K: float = 9.0, daily_amp_K: float = 4.0) -> FloatArray:
    day = times_s / 86400.0
    doy = np.mod(day, 365.25)
    hour = np.mod(times_s / 3600.0, 24.0)
    return np.asarray(
        mean_C - annual_amp_K * np.cos(2 * np.pi * (doy - 15.0) / 365.25) + daily_amp_K * np.cos(2 * np.pi * (hour - 14.0) / 24.0),
        dtype=np.float64,
    )


def cop(params: HeatPumpParams, outside_C: FloatArray) -> FloatArray:
    lift = np.maximum(params.supply_C - outside_C, 5.0)
    return np.asarray(np.clip(params.carnot_fraction * (params.supply_C + _K) / lift, 1.0, params.cop_max), dtype=np.float64)


def electric_power_W(params: HeatPumpParams, outside_C: FloatArray) -> FloatArray:
    heat = np.where(outside_C < params.heating_limit_C, params.heat_loss_W_per_K * (params.indoor_C - outside_C), 0.0)
    heat = heat + params.hot_water_W
    return np.asarray(np.minimum(heat / cop(params, outside_C), params.rated_electric_W), dtype=np.float64)
