"""RationalNumberType (Value × 10^Exponent, Value a 16-bit signed integer, Exponent a byte).

ISO 15118-20 CommonTypes carries every physical value as a rational number. `to_rational`
picks the smallest exponent whose value fits 16 bits, so 7000 W becomes 7000 × 10^0 and
230.12 V becomes 23012 × 10^-2.
"""

from __future__ import annotations

from bidicharge.protocols.exi.messages import common_types as ct

_SHORT_MIN, _SHORT_MAX = -32768, 32767


def to_rational(value: float) -> ct.RationalNumber:
    """The most precise RationalNumber for `value` (at most 3 decimals)."""
    for exponent in range(-3, 128):
        scaled = round(value / 10.0**exponent) if exponent > 0 else round(value * 10 ** (-exponent))
        if _SHORT_MIN <= scaled <= _SHORT_MAX:
            while exponent < 0 and scaled % 10 == 0 and scaled:  # 400 V is 400 × 10^0, not 4000 × 10^-1
                scaled //= 10
                exponent += 1
            if scaled == 0:
                exponent = 0
            return ct.RationalNumber(exponent=exponent, value=scaled)
    raise ValueError(f"{value} does not fit a RationalNumber")


def from_rational(number: ct.RationalNumber) -> float:
    if number.exponent >= 0:
        return float(number.value * 10**number.exponent)
    return number.value / float(10 ** (-number.exponent))


def opt_rational(value: float | None) -> ct.RationalNumber | None:
    return None if value is None else to_rational(value)


def opt_float(number: ct.RationalNumber | None) -> float | None:
    return None if number is None else from_rational(number)
