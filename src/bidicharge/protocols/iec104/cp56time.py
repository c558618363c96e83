"""CP56Time2a, the seven-octet binary time of IEC 60870-5-101 7.2.6.18.

Octets: milliseconds of the minute 0..59999 (2, little-endian); minutes (bits 0-5) with
IV invalid (bit 7); hours (bits 0-4) with SU summer time (bit 7); day of month (bits
0-4) with day of week 1..7 (bits 5-7, 0 = not used); month (bits 0-3); year 0..99
(bits 0-6). The standard carries no time zone: the stations agree on one out of band
(this project uses UTC, so ``summer_time`` stays false unless a peer sets it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .errors import LocalProtocolError

CP56_SIZE = 7


@dataclass(frozen=True, slots=True, kw_only=True)
class Cp56Time2a:
    """A CP56Time2a time tag, field by field as on the wire."""

    year: int  # 0..99, years since 2000 in this project
    month: int  # 1..12
    day: int  # 1..31
    hour: int  # 0..23
    minute: int  # 0..59
    millisecond: int  # 0..59999, milliseconds within the minute (seconds included)
    day_of_week: int = 0  # 1 = Monday .. 7 = Sunday, 0 = not used
    invalid: bool = False
    summer_time: bool = False

    @classmethod
    def from_datetime(cls, when: dt.datetime, *, invalid: bool = False) -> Cp56Time2a:
        """The tag of ``when`` read as wall time (convert to UTC before, if aware)."""
        return cls(
            year=when.year % 100,
            month=when.month,
            day=when.day,
            hour=when.hour,
            minute=when.minute,
            millisecond=when.second * 1000 + when.microsecond // 1000,
            day_of_week=when.isoweekday(),
            invalid=invalid,
        )

    def to_datetime(self, *, tz: dt.tzinfo = dt.UTC) -> dt.datetime:
        """The tag as an aware datetime in ``tz`` (years 2000..2099); ValueError if impossible."""
        second, millisecond = divmod(self.millisecond, 1000)
        return dt.datetime(
            2000 + self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            second,
            millisecond * 1000,
            tzinfo=tz,
        )

    def encode(self) -> bytes:
        fields = (
            (self.year, 99),
            (self.month, 15),
            (self.day, 31),
            (self.hour, 31),
            (self.minute, 63),
            (self.millisecond, 0xFFFF),
            (self.day_of_week, 7),
        )
        for value, limit in fields:
            if not 0 <= value <= limit:
                raise LocalProtocolError(f"CP56Time2a field out of range: {self!r}")
        return bytes(
            (
                self.millisecond & 0xFF,
                self.millisecond >> 8,
                self.minute | (0x80 if self.invalid else 0),
                self.hour | (0x80 if self.summer_time else 0),
                self.day | (self.day_of_week << 5),
                self.month,
                self.year,
            )
        )

    @classmethod
    def decode(cls, data: bytes | memoryview) -> Cp56Time2a:
        """Decode seven octets; reserved bits are ignored as 7.2.6.18 allows."""
        if len(data) != CP56_SIZE:
            raise ValueError("CP56Time2a needs exactly 7 octets")
        return cls(
            millisecond=data[0] | (data[1] << 8),
            minute=data[2] & 0x3F,
            invalid=bool(data[2] & 0x80),
            hour=data[3] & 0x1F,
            summer_time=bool(data[3] & 0x80),
            day=data[4] & 0x1F,
            day_of_week=data[4] >> 5,
            month=data[5] & 0x0F,
            year=data[6] & 0x7F,
        )
