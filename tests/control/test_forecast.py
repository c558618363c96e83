"""Forecaster: perfect is the truth, persistence only looks back, noisy is seeded and as wrong as configured."""

from __future__ import annotations

import numpy as np
import pytest

from bidicharge.control.forecast import ForecastMethod, ForecastSettings, forecast

DAY = 96
TRUTH = np.concatenate([np.full(DAY, 1_000.0), np.full(DAY, 2_000.0), np.full(DAY, 3_000.0)])
RAMP = np.arange(3 * DAY, dtype=float)


def test_perfect_forecast_is_the_future_and_stops_at_the_end_of_the_series() -> None:
    settings = ForecastSettings(method=ForecastMethod.PERFECT)
    assert forecast(RAMP, start=10, horizon=5, settings=settings) == pytest.approx([10, 11, 12, 13, 14])
    assert len(forecast(RAMP, start=3 * DAY - 4, horizon=144, settings=settings)) == 4


@pytest.mark.parametrize(("start", "horizon", "expected"), [
    (DAY, 3, [0, 1, 2]),                        # same time yesterday
    (DAY + 5, 150, (list(range(5, 5 + DAY)) * 2)[:150]),  # beyond one lag the last day repeats
    (2, 3, [1, 1, 1]),                          # no full day of history: the last known value
    (0, 2, [0, 0]),                             # no history at all: the first value
])
def test_persistence_uses_only_the_past(start: int, horizon: int, expected: list[float]) -> None:
    settings = ForecastSettings(method=ForecastMethod.PERSISTENCE, lag_steps=DAY)
    result = forecast(RAMP, start=start, horizon=horizon, settings=settings)
    assert result == pytest.approx(expected)
    if start > 0:
        assert np.all(result < start)  # each RAMP value is its index: nothing from the future


def test_noisy_forecast_is_reproducible_with_the_same_seed_and_differs_with_another() -> None:
    settings = ForecastSettings(method=ForecastMethod.NOISY, relative_std=0.2)
    a = forecast(TRUTH, start=0, horizon=144, settings=settings, rng=np.random.default_rng(7))
    b = forecast(TRUTH, start=0, horizon=144, settings=settings, rng=np.random.default_rng(7))
    c = forecast(TRUTH, start=0, horizon=144, settings=settings, rng=np.random.default_rng(8))
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_noisy_forecast_error_has_the_configured_size() -> None:
    # 2 000 independent 36 h forecasts: the relative RMSE beyond the ramp
    # is the configured 0.2, at the first step 0.2 × sqrt(1/16) = 0.05.
    settings = ForecastSettings(method=ForecastMethod.NOISY, relative_std=0.2, lead_ramp_steps=16)
    rng = np.random.default_rng(2024)
    errors = np.array([forecast(TRUTH, start=DAY, horizon=144, settings=settings, rng=rng) / TRUTH[DAY:DAY + 144] - 1
                       for _ in range(2_000)])
    assert np.sqrt(np.mean(errors[:, 20:] ** 2)) == pytest.approx(0.2, rel=0.05)
    assert np.sqrt(np.mean(errors[:, 0] ** 2)) == pytest.approx(0.05, rel=0.1)
    assert abs(errors.mean()) < 0.01


def test_forecasts_are_clipped_to_the_physical_range() -> None:
    settings = ForecastSettings(method=ForecastMethod.NOISY, relative_std=3.0, lower=0.0, upper=2_500.0)
    result = forecast(TRUTH, start=0, horizon=288, settings=settings, rng=np.random.default_rng(1))
    assert result.min() >= 0.0 and result.max() <= 2_500.0


def test_zero_noise_is_the_perfect_forecast() -> None:
    settings = ForecastSettings(method=ForecastMethod.NOISY, relative_std=0.0)
    result = forecast(TRUTH, start=50, horizon=100, settings=settings, rng=np.random.default_rng(1))
    assert result == pytest.approx(TRUTH[50:150])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"start": 0, "horizon": 4, "settings": ForecastSettings(method=ForecastMethod.NOISY)}, "Generator"),
    ({"start": 400, "horizon": 4, "settings": ForecastSettings()}, "outside"),
    ({"start": 0, "horizon": 0, "settings": ForecastSettings()}, "horizon"),
])
def test_misuse_is_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        forecast(TRUTH, **kwargs)  # type: ignore[arg-type]
