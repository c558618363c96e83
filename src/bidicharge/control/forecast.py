"""Forecasts of PV generation and house load for the HEMS, with a configurable error.

In a study the simulator knows the realised series; this module turns it into what a
forecaster standing at step ``start`` would have said (issue 6, item 2: "a simple
forecaster with configurable error: perfect, persistence, noisy"):

* ``PERFECT``: the realised future itself (the perfect-foresight limit);
* ``PERSISTENCE``: the value ``lag_steps`` earlier (default one day at 15 min), repeated
  over the horizon; it only looks at the past;
* ``NOISY``: the realised future times (1 + error), the error a unit-variance AR(1)
  process scaled by ``relative_std`` that grows with the lead time (√ lead) until
  ``lead_ramp_steps``, drawn from an injected, seeded ``numpy.random.Generator``.

Forecasts are clipped to ``lower``..``upper`` (PV and load are never negative).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


class ForecastMethod(enum.Enum):
    PERFECT = "perfect"
    PERSISTENCE = "persistence"
    NOISY = "noisy"


@dataclass(frozen=True, slots=True, kw_only=True)
class ForecastSettings:
    method: ForecastMethod = ForecastMethod.PERFECT
    lag_steps: int = 96
    """PERSISTENCE: how far back the repeated pattern lies (96 × 15 min = one day)."""
    relative_std: float = 0.0
    """NOISY: standard deviation of the relative error once the lead time reaches the ramp."""
    error_correlation: float = 0.9
    """NOISY: AR(1) coefficient of the error from one step to the next (0 = white noise)."""
    lead_ramp_steps: int = 16
    """NOISY: the error grows as √(lead / ramp) up to this lead time (16 × 15 min = 4 h)."""
    lower: float = 0.0
    upper: float = float("inf")

    def __post_init__(self) -> None:
        if self.lag_steps < 1:
            raise ValueError("lag_steps must be at least 1")
        if self.relative_std < 0:
            raise ValueError("relative_std must not be negative")
        if not -1.0 < self.error_correlation < 1.0:
            raise ValueError("error_correlation must lie in (-1, 1)")
        if self.lead_ramp_steps < 1:
            raise ValueError("lead_ramp_steps must be at least 1")
        if self.lower > self.upper:
            raise ValueError("lower > upper")


def forecast(actual: ArrayLike, *, start: int, horizon: int, settings: ForecastSettings,
             rng: np.random.Generator | None = None) -> FloatArray:
    """Forecast of ``actual[start : start + horizon]`` as seen from the start of step ``start``.

    The result is shorter than ``horizon`` only where the series ends. ``rng`` is required
    for ``NOISY`` and advanced by exactly ``len(result)`` normal draws.
    """
    series = np.asarray(actual, dtype=np.float64).reshape(-1)
    if not 0 <= start < series.shape[0]:
        raise ValueError(f"start {start} is outside the series (length {series.shape[0]})")
    if horizon < 1:
        raise ValueError("horizon must be at least 1")
    n = min(horizon, series.shape[0] - start)
    if settings.method is ForecastMethod.PERFECT:
        result = series[start:start + n].copy()
    elif settings.method is ForecastMethod.PERSISTENCE:
        result = _persistence(series, start, n, settings.lag_steps)
    else:
        if rng is None:
            raise ValueError("a NOISY forecast needs a seeded numpy.random.Generator")
        result = series[start:start + n] * (1.0 + _relative_error(n, settings, rng))
    return np.clip(result, settings.lower, settings.upper)


def _persistence(series: FloatArray, start: int, n: int, lag: int) -> FloatArray:
    lead = np.arange(n)
    index = start + lead % lag - lag  # always before ``start``: only the past is used
    # Without a full lag of history, the last known value stands in (the first value when
    # there is no history at all, as if it had just been measured).
    fallback = series[start - 1] if start >= 1 else series[0]
    return np.where(index >= 0, series[np.maximum(index, 0)], fallback)


def _relative_error(n: int, settings: ForecastSettings, rng: np.random.Generator) -> FloatArray:
    shocks = rng.standard_normal(n)
    phi = settings.error_correlation
    error = np.empty(n)
    error[0] = shocks[0]
    innovation = np.sqrt(1.0 - phi * phi)
    for k in range(1, n):  # a horizon is short; a year-long NOISY call is still < 0.1 s
        error[k] = phi * error[k - 1] + innovation * shocks[k]
    growth = np.sqrt(np.minimum(1.0, (np.arange(n) + 1.0) / settings.lead_ramp_steps))
    return settings.relative_std * growth * error
