"""Vehicle use: a weekly trip pattern — when the car leaves, when it returns, how far it
drives — evaluated at a given time. Times are local wall-clock (the scenario's UTC offset).

A trip leaves at `depart` and returns at `arrive` on each of its weekdays; the energy of
the trip is taken from the battery when the car leaves (kWh/100 km × distance).
"""

from __future__ import annotations

from dataclasses import dataclass

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True, kw_only=True)
class Trip:
    days: tuple[int, ...]  # 0 = Monday
    depart_s: float  # seconds after local midnight
    arrive_s: float
    distance_km: float
    target_soc: float | None = None  # SoC the owner wants at this departure


@dataclass(frozen=True, slots=True, kw_only=True)
class TripEvent:
    trip: Trip
    depart_at_s: float  # epoch
    arrive_at_s: float


def occurrences(trips: tuple[Trip, ...], start_s: float, end_s: float, utc_offset_s: float) -> list[TripEvent]:
    """Every trip departure in [start_s, end_s), sorted."""
    events: list[TripEvent] = []
    day0 = int((start_s + utc_offset_s) // 86400)
    day1 = int((end_s + utc_offset_s) // 86400) + 1
    for day in range(day0, day1 + 1):
        weekday = (day + 3) % 7  # 1970-01-01 was a Thursday
        midnight = day * 86400 - utc_offset_s
        for trip in trips:
            if weekday in trip.days:
                dep = midnight + trip.depart_s
                if start_s <= dep < end_s:
                    arr = midnight + trip.arrive_s
                    if arr <= dep:
                        arr += 86400
                    events.append(TripEvent(trip=trip, depart_at_s=dep, arrive_at_s=arr))
    events.sort(key=lambda e: e.depart_at_s)
    return events
