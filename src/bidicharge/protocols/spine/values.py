"""SPINE value types: ScaledNumberType and ISO 8601 durations (SPINE 1.3.0 basic types)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Final

_DURATION_RE: Final = re.compile(
    r"^(?P<sign>-)?P(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<mi>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$")


def scaled_to_float(value: Any) -> float:
    """``{"number": n, "scale": s}`` -> n·10^s; a missing scale means 0."""
    if not isinstance(value, dict) or not isinstance(value.get("number"), int):
        raise ValueError(f"not a ScaledNumberType: {value!r}")
    scale = value.get("scale", 0)
    if not isinstance(scale, int):
        raise ValueError(f"bad scale in {value!r}")
    return float(Decimal(value["number"]).scaleb(scale))


def float_to_scaled(value: float, *, max_decimals: int = 3) -> dict[str, int]:
    """The shortest ``{"number", "scale"}`` for ``value``; scale is always sent (IG erratum)."""
    dec = Decimal(repr(round(value, max_decimals))).normalize()
    sign, digits, exponent = dec.as_tuple()
    assert isinstance(exponent, int)
    number = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
    if exponent > 0:  # 4200 -> 42E+2: keep integers as scale 0 numbers like the peers do
        number, exponent = number * 10**exponent, 0
    return {"number": number, "scale": exponent}


def parse_duration_s(text: str) -> float:
    """ISO 8601 duration (``PT2H``, ``P1D``, ``PT4S``) in seconds; months/years not allowed."""
    match = _DURATION_RE.match(text)
    if match is None or text in ("P", "PT") or match["y"] or match["mo"]:
        raise ValueError(f"not a supported ISO 8601 duration: {text!r}")
    seconds = (int(match["w"] or 0) * 7 * 86400 + int(match["d"] or 0) * 86400
               + int(match["h"] or 0) * 3600 + int(match["mi"] or 0) * 60 + float(match["s"] or 0))
    return -seconds if match["sign"] else seconds


def format_duration_s(seconds: float) -> str:
    """Seconds -> ISO 8601 duration the way eebus-go writes them (``PT2H``, ``PT1H30M``)."""
    sign = "-" if seconds < 0 else ""
    rest = abs(seconds)
    days, rest = divmod(rest, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{sign}P" + (f"{int(days)}D" if days else "")
    time = (f"{int(hours)}H" if hours else "") + (f"{int(minutes)}M" if minutes else "")
    if secs or not (days or hours or minutes):
        time += f"{int(secs)}S" if float(secs).is_integer() else f"{secs:g}S"
    return text + ("T" + time if time else "")
