"""OBIS codes (IEC 62056-6-1 / DLMS Blue Book): the six-byte names of meter values.

`1-0:1.8.0*255` reads A-B:C.D.E*F: medium 1 (electricity), channel 0, quantity 1
(active power +A), 8 (time integral), tariff 0 (total), F 255 (not used).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from .errors import LocalProtocolError

_PATTERN: Final = re.compile(r"^(\d+)-(\d+):(\d+)\.(\d+)\.(\d+)(?:\*(\d+))?$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Obis:
    """An OBIS code; `str()` gives the `A-B:C.D.E*F` form."""

    a: int
    b: int
    c: int
    d: int
    e: int
    f: int = 255

    def __post_init__(self) -> None:
        for part in (self.a, self.b, self.c, self.d, self.e, self.f):
            if not 0 <= part <= 255:
                raise LocalProtocolError(f"OBIS group {part} is not a byte")

    @classmethod
    def parse(cls, text: str) -> Obis:
        match = _PATTERN.match(text)
        if match is None:
            raise LocalProtocolError(f"not an OBIS code: {text!r}")
        a, b, c, d, e, f = (int(g) if g is not None else 255 for g in match.groups())
        return cls(a=a, b=b, c=c, d=d, e=e, f=f)

    @classmethod
    def from_bytes(cls, raw: bytes) -> Obis:
        a, b, c, d, e, f = raw  # caller checks the length
        return cls(a=a, b=b, c=c, d=d, e=e, f=f)

    def to_bytes(self) -> bytes:
        return bytes((self.a, self.b, self.c, self.d, self.e, self.f))

    def __str__(self) -> str:
        return f"{self.a}-{self.b}:{self.c}.{self.d}.{self.e}*{self.f}"


IMPORT_ENERGY_TOTAL: Final = Obis(a=1, b=0, c=1, d=8, e=0)  # A+ "Zählerstand Bezug"
EXPORT_ENERGY_TOTAL: Final = Obis(a=1, b=0, c=2, d=8, e=0)  # A- "Einspeisung"
ACTIVE_POWER_TOTAL: Final = Obis(a=1, b=0, c=16, d=7, e=0)  # signed, negative = export
SERVER_ID: Final = Obis(a=1, b=0, c=0, d=0, e=9)
DEVICE_ID: Final = Obis(a=1, b=0, c=96, d=1, e=0)
MANUFACTURER: Final = Obis(a=129, b=129, c=199, d=130, e=3)
PUBLIC_KEY: Final = Obis(a=129, b=129, c=199, d=130, e=5)  # the meter's signature key (FNN Basiszähler)


class Unit:
    """DLMS unit codes (IEC 62056-62, Blue Book table "Enumerated values for physical units")."""

    WATT: Final = 27
    VOLT_AMPERE: Final = 28
    VAR: Final = 29
    WATT_HOUR: Final = 30
    AMPERE: Final = 33
    VOLT: Final = 35
    HERTZ: Final = 44
