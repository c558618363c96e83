"""A wallbox's local setpoint timetable: fixed power steps set on the device itself.

Each entry says: from `after` (since the start of the run) on, the setpoint is `power_W`
(vehicle side; positive charges, negative discharges — bidicharge's sign convention). It
replaces the configured default at that instant, as if the owner had changed it on the
wallbox; an energy manager or backend that writes later still overrides it until the next
entry. Used by scenarios that command the power without an energy manager (e.g. V2H over
ISO 15118-20: charge, then discharge at −7 kW).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bidicharge.runtime.scenario import parse_duration_s


class SetpointChange(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    after: float = Field(description="since the start of the run: seconds or e.g. '2h', '90min'")
    power_W: float = Field(description="vehicle side; + charges, − discharges")

    @field_validator("after", mode="before")
    @classmethod
    def _duration(cls, value: object) -> float:
        seconds = parse_duration_s(value)
        if seconds < 0:
            raise ValueError(f"must be >= 0, got {value!r}")
        return seconds


def check_order(schedule: tuple[SetpointChange, ...]) -> tuple[SetpointChange, ...]:
    """The entries must come in time order (a timetable, read top to bottom)."""
    times = [c.after for c in schedule]
    if times != sorted(times):
        raise ValueError(f"entries must be in time order, got 'after' = {times}")
    return schedule


class SetpointTimetable:
    """Hands out each entry once, when its time has come; and lays the entries still to come
    out as a schedule (what a Scheduled-mode ISO 15118-20 session offers the car)."""

    def __init__(self, schedule: tuple[SetpointChange, ...], start_s: float) -> None:
        self._due = [(start_s + c.after, c.power_W) for c in schedule]
        self._next = 0

    def plan(self, now: float, current_W: float, horizon_s: float = 86_400.0) -> list[tuple[int, float]]:
        """(duration_s, power_W) intervals from `now` to `now + horizon_s`: `current_W` until the
        next entry, then each later entry until the one after it (whole seconds)."""
        end = now + horizon_s
        changes = [(t, p) for t, p in self._due if now < t < end]
        intervals: list[tuple[int, float]] = []
        start, power = now, current_W
        for t, p in [*changes, (end, current_W)]:
            seconds = int(round(t - start))
            if seconds > 0:
                intervals.append((seconds, power))
            start, power = t, p
        return intervals

    def due(self, now: float) -> float | None:
        """The setpoint of the latest entry that became due by `now`, if one did."""
        power: float | None = None
        while self._next < len(self._due) and self._due[self._next][0] <= now:
            power = self._due[self._next][1]
            self._next += 1
        return power
