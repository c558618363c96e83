"""What the gateway core reports to its component (log lines, traces, monitoring)."""

from __future__ import annotations

from dataclasses import dataclass

from .taf import Taf


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileApplied:
    version: int
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileRefused:
    reason: str
    detail: str
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadingRefused:
    reason: str
    detail: str
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterSilent:
    """No reading from `meter_id` for longer than the profiles accept; values go MISSING."""

    meter_id: str
    last_reading_at: float | None
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageQueued:
    emt_id: str
    sequence_no: int
    taf: Taf
    profile_id: str
    value_count: int
    at: float


SmgwEvent = ProfileApplied | ProfileRefused | ReadingRefused | MeterSilent | MessageQueued
