"""Point encoding: big-endian registers, scale factors, "not implemented" values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bidicharge.protocols.sunspec import LocalProtocolError
from bidicharge.protocols.sunspec.model_def import PointDef
from bidicharge.protocols.sunspec.points import decode_raw, encode_raw, scale, unscale


def _p(type_: str, size: int = 1) -> PointDef:
    return PointDef(name="X", type=type_, size=size)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("type_", "size", "raw", "regs"),
    [
        ("int16", 1, -2, (0xFFFE,)),
        ("uint16", 1, 60000, (60000,)),
        ("int32", 2, -70000, (0xFFFE, 0xEE90)),
        ("uint32", 2, 0x12345678, (0x1234, 0x5678)),
        ("acc64", 4, 2**40 + 5, (0, 0x100, 0, 5)),
        ("string", 4, "SunS", (0x5375, 0x6E53, 0, 0)),
        ("float32", 2, 1.5, (0x3FC0, 0)),
        ("sunssf", 1, -2, (0xFFFE,)),
    ],
)
def test_registers_are_big_endian(type_: str, size: int, raw: object, regs: tuple[int, ...]) -> None:
    point = _p(type_, size)
    assert encode_raw(point, raw) == regs  # type: ignore[arg-type]
    assert decode_raw(point, regs) == raw


@pytest.mark.parametrize(
    ("type_", "size", "regs"),
    [
        ("int16", 1, (0x8000,)),
        ("uint16", 1, (0xFFFF,)),
        ("enum16", 1, (0xFFFF,)),
        ("int32", 2, (0x8000, 0)),
        ("uint32", 2, (0xFFFF, 0xFFFF)),
        ("acc32", 2, (0, 0)),
        ("float32", 2, (0x7FC0, 0)),
        ("string", 8, (0,) * 8),
        ("sunssf", 1, (0x8000,)),
    ],
)
def test_not_implemented_is_none_both_ways(type_: str, size: int, regs: tuple[int, ...]) -> None:
    point = _p(type_, size)
    assert decode_raw(point, regs) is None
    assert encode_raw(point, None) == regs


@pytest.mark.parametrize(
    ("type_", "raw"), [("int16", 40000), ("int16", -32768), ("uint16", 0xFFFF), ("uint16", -1)]
)
def test_value_that_does_not_fit_is_our_error(type_: str, raw: int) -> None:
    with pytest.raises(LocalProtocolError):
        encode_raw(_p(type_), raw)


def test_string_too_long_is_our_error() -> None:
    with pytest.raises(LocalProtocolError):
        encode_raw(_p("string", 2), "12345")


@given(st.integers(-3, 2), st.floats(-3000, 3000, allow_nan=False))
def test_scaled_value_survives_within_its_resolution(sf: int, value: float) -> None:
    point = _p("int32", 2)
    decoded = scale(decode_raw(point, encode_raw(point, unscale(value, sf))), sf)
    assert isinstance(decoded, int | float)
    assert abs(decoded - value) <= 0.5 * 10.0**sf + 1e-9
