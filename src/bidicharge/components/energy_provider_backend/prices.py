"""Price series for dynamic tariffs: the bundled 2018 German day-ahead series or a user CSV.

CSV format: a header `time,price_EUR_per_MWh`, ISO 8601 times (UTC if no offset), one row
per interval, evenly spaced. A series with gaps (a missing interval, an empty or non-numeric
price) is refused with the first offending row named: a gap would silently make energy free.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

BUNDLED = {"de-day-ahead-2018": "de_day_ahead_2018.csv"}


class PriceFileError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class PriceSeries:
    start_s: float
    step_s: float
    price_EUR_per_MWh: npt.NDArray[np.float64]
    source: str

    @property
    def end_s(self) -> float:
        return self.start_s + self.step_s * len(self.price_EUR_per_MWh)

    def at(self, t_s: float) -> float:
        i = int((t_s - self.start_s) // self.step_s)
        if i < 0 or i >= len(self.price_EUR_per_MWh):
            raise PriceFileError(f"{self.source}: no price for {datetime.fromtimestamp(t_s, UTC).isoformat()}")
        return float(self.price_EUR_per_MWh[i])

    def window(self, from_s: float, to_s: float) -> tuple[float, npt.NDArray[np.float64]]:
        i0 = max(0, int((from_s - self.start_s) // self.step_s))
        i1 = min(len(self.price_EUR_per_MWh), int(np.ceil((to_s - self.start_s) / self.step_s)))
        return self.start_s + i0 * self.step_s, self.price_EUR_per_MWh[i0:i1]


def _parse_time(text: str) -> float:
    dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


@lru_cache(maxsize=32)
def load_prices(spec: str, base_dir: str = ".") -> PriceSeries:
    """`spec` is `bundled:<name>` or a CSV path (relative to the scenario's folder)."""
    if spec.startswith("bundled:"):
        name = spec.removeprefix("bundled:")
        if name not in BUNDLED:
            raise PriceFileError(f"unknown bundled price series {name!r} (have: {sorted(BUNDLED)})")
        text = resources.files("bidicharge.data").joinpath("prices").joinpath(BUNDLED[name]).read_text(encoding="utf-8")
        return parse_price_csv(text.splitlines(), source=spec)
    path = Path(spec)
    if not path.is_absolute():
        path = Path(base_dir) / path
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise PriceFileError(f"cannot read price file {str(path)!r}: {exc.strerror}") from None
    return parse_price_csv(lines, source=str(path))


def parse_price_csv(lines: list[str], *, source: str) -> PriceSeries:
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None or [h.strip() for h in header[:2]] != ["time", "price_EUR_per_MWh"]:
        raise PriceFileError(f"{source}: header must be 'time,price_EUR_per_MWh', got {header!r}")
    times: list[float] = []
    prices: list[float] = []
    for lineno, row in enumerate(reader, start=2):
        if not row or not "".join(row).strip():
            continue
        if len(row) < 2:
            raise PriceFileError(f"{source}:{lineno}: expected 'time,price', got {row!r}")
        try:
            t = _parse_time(row[0])
        except ValueError:
            raise PriceFileError(f"{source}:{lineno}: not an ISO 8601 time: {row[0]!r}") from None
        try:
            p = float(row[1])
        except ValueError:
            raise PriceFileError(f"{source}:{lineno}: gap: no numeric price at {row[0]} ({row[1]!r})") from None
        if not np.isfinite(p):
            raise PriceFileError(f"{source}:{lineno}: gap: price {row[1]!r} at {row[0]}")
        times.append(t)
        prices.append(p)
    if len(times) < 2:
        raise PriceFileError(f"{source}: needs at least two prices, got {len(times)}")
    step = times[1] - times[0]
    if step <= 0:
        raise PriceFileError(f"{source}:3: times must increase")
    for i in range(1, len(times)):
        d = times[i] - times[i - 1]
        if abs(d - step) > 1e-6:
            missing = round(d / step) - 1
            what = f"gap of {missing} interval(s)" if d > step else "uneven spacing"
            raise PriceFileError(
                f"{source}:{i + 2}: {what} before {datetime.fromtimestamp(times[i], UTC).isoformat()} "
                f"(step {step:g} s, found {d:g} s)"
            )
    return PriceSeries(start_s=times[0], step_s=step, price_EUR_per_MWh=np.asarray(prices), source=source)
