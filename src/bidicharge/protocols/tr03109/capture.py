"""What the gateway captures for each TAF, from the meter readings it has kept.

The SMGW is the time source of metering (TR-03109-1: the gateway's synchronised clock
stamps LMN values), so a reading carries the `now` at which the gateway received it. A
register value "at" a capture time is the last reading at or before it, if that reading
is at most `max_reading_age_s` old; otherwise the value is reported MISSING — never
invented and never dropped, so the EMT sees the gap (substitute values are the MSB's
business, VDE-AR-N 4400).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from bidicharge.protocols.sml import MeterReading

from .profile import MONTH, EvaluationProfile
from .taf import OBIS_EXPORT, OBIS_IMPORT, OBIS_POWER, UNIT_W, UNIT_WH, MeterValue, Taf, ValueStatus
from .trust import utc

OBIS_EXPORT_POWER = "1-0:2.7.0*255"  # active power A- (feed-in), positive


@dataclass(frozen=True, slots=True, kw_only=True)
class StampedReading:
    at: float
    reading: MeterReading


class ReadingHistory:
    """Readings of one meter in time order, trimmed by the caller."""

    def __init__(self) -> None:
        self._times: list[float] = []
        self._readings: list[StampedReading] = []

    def append(self, stamped: StampedReading) -> None:
        self._times.append(stamped.at)
        self._readings.append(stamped)

    @property
    def last(self) -> StampedReading | None:
        return self._readings[-1] if self._readings else None

    def at_or_before(self, t: float, max_age_s: float) -> StampedReading | None:
        i = bisect.bisect_right(self._times, t)
        if i == 0 or t - self._times[i - 1] > max_age_s:
            return None
        return self._readings[i - 1]

    def between(self, start: float, end: float) -> Iterator[StampedReading]:
        """Readings with start < at <= end."""
        lo = bisect.bisect_right(self._times, start)
        hi = bisect.bisect_right(self._times, end)
        return iter(self._readings[lo:hi])

    def trim_before(self, t: float) -> None:
        """Forget readings before `t` but the last one at or before it (still needed for captures)."""
        i = max(0, bisect.bisect_right(self._times, t) - 1)
        del self._times[:i]
        del self._readings[:i]

    def __len__(self) -> int:
        return len(self._times)


def next_boundary(profile: EvaluationProfile, after: float) -> float:
    """The first capture time of `profile` strictly after `after` (aligned to UTC)."""
    interval = profile.interval_s if profile.interval_s > 0 else profile.send_interval_s
    if interval == MONTH:
        return _next_month(after)
    return (after // interval + 1) * interval


def next_send(profile: EvaluationProfile, after: float) -> float:
    if profile.send_interval_s == MONTH:
        return _next_month(after)
    return (after // profile.send_interval_s + 1) * profile.send_interval_s


def _next_month(after: float) -> float:
    when = utc(after)
    year, month = (when.year + 1, 1) if when.month == 12 else (when.year, when.month + 1)
    return dt.datetime(year, month, 1, tzinfo=dt.UTC).timestamp()


def _register(obis: str, t: float, found: StampedReading | None, value: Decimal | None) -> MeterValue:
    if found is None or value is None:
        unit = UNIT_W if obis in (OBIS_POWER, OBIS_EXPORT_POWER) else UNIT_WH
        return MeterValue(obis=obis, captured_at=t, value=None, unit=unit, status=ValueStatus.MISSING)
    unit = UNIT_W if obis in (OBIS_POWER, OBIS_EXPORT_POWER) else UNIT_WH
    return MeterValue(obis=obis, captured_at=t, value=value, unit=unit, read_at=found.at)


def capture(profile: EvaluationProfile, history: ReadingHistory, t: float) -> tuple[MeterValue, ...]:
    """The values TAF 1, 7, 9 or 10 capture at `t`."""
    found = history.at_or_before(t, profile.max_reading_age_s)
    r = None if found is None else found.reading
    if profile.taf in (Taf.TAF1, Taf.TAF7):
        return (_register(OBIS_IMPORT, t, found, None if r is None else r.import_energy_Wh),
                _register(OBIS_EXPORT, t, found, None if r is None else r.export_energy_Wh))
    if profile.taf is Taf.TAF9:
        feed_in = None if r is None else Decimal(max(0, -r.active_power_W))
        return (_register(OBIS_EXPORT, t, found, None if r is None else r.export_energy_Wh),
                _register(OBIS_EXPORT_POWER, t, found, feed_in))
    if profile.taf is Taf.TAF10:
        return (_register(OBIS_POWER, t, found, None if r is None else Decimal(r.active_power_W)),)
    raise ValueError(f"TAF {profile.taf} is not captured at boundaries")


def raw_values(stamped: StampedReading) -> tuple[MeterValue, ...]:
    """TAF 14: one reading as it came from the meter."""
    r = stamped.reading
    at = stamped.at
    return (MeterValue(obis=OBIS_IMPORT, captured_at=at, value=r.import_energy_Wh, unit=UNIT_WH, read_at=at),
            MeterValue(obis=OBIS_EXPORT, captured_at=at, value=r.export_energy_Wh, unit=UNIT_WH, read_at=at),
            MeterValue(obis=OBIS_POWER, captured_at=at, value=Decimal(r.active_power_W), unit=UNIT_W, read_at=at))


class StageRegisters:
    """TAF 2: import/export energy accumulated per tariff stage (OBIS 1.8.e / 2.8.e, e = stage index + 1)."""

    def __init__(self, profile: EvaluationProfile) -> None:
        self._table = profile.tariff_table
        self._stages = list(dict.fromkeys(s.stage for s in self._table))
        self.import_Wh = dict.fromkeys(self._stages, Decimal(0))
        self.export_Wh = dict.fromkeys(self._stages, Decimal(0))
        self._previous: StampedReading | None = None

    def stage_at(self, t: float) -> str:
        when = utc(t)
        minute = when.hour * 60 + when.minute
        stage = self._table[0].stage
        for switch in self._table:
            if switch.start_minute <= minute:
                stage = switch.stage
        return stage

    def add(self, stamped: StampedReading) -> None:
        """Book the energy since the previous reading to the stage active at its start."""
        previous, self._previous = self._previous, stamped
        if previous is None:
            return
        stage = self.stage_at(previous.at)
        self.import_Wh[stage] += stamped.reading.import_energy_Wh - previous.reading.import_energy_Wh
        self.export_Wh[stage] += stamped.reading.export_energy_Wh - previous.reading.export_energy_Wh

    def values(self, t: float) -> tuple[MeterValue, ...]:
        out: list[MeterValue] = []
        for index, stage in enumerate(self._stages, start=1):
            out.append(MeterValue(obis=f"1-0:1.8.{index}*255", captured_at=t, value=self.import_Wh[stage],
                                  unit=UNIT_WH, tariff_stage=stage))
            out.append(MeterValue(obis=f"1-0:2.8.{index}*255", captured_at=t, value=self.export_Wh[stage],
                                  unit=UNIT_WH, tariff_stage=stage))
        return tuple(out)
