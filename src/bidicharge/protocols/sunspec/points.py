"""Encoding one SunSpec point into Modbus registers and back (SunSpec Modbus
Specification 1.0 §6: big-endian registers, "not implemented" values, scale factors).

A point's physical value is `raw × 10**sf`. `None` stands for "not implemented": 0x8000
for signed types, 0xFFFF… for unsigned/enum/bitfield, 0 for accumulators, NaN for floats
and an all-NUL string.
"""

from __future__ import annotations

import math
import struct
from typing import Final, TypeAlias

from .errors import LocalProtocolError
from .model_def import TYPE_SIZE, PointDef

PointValue: TypeAlias = int | float | str | None

_SIGNED: Final = {"int16": 16, "sunssf": 16, "int32": 32, "int64": 64, "pad": 16}
_UNSIGNED: Final = {
    "uint16": 16,
    "count": 16,
    "enum16": 16,
    "bitfield16": 16,
    "uint32": 32,
    "enum32": 32,
    "bitfield32": 32,
    "ipaddr": 32,
    "uint64": 64,
    "eui48": 64,
    "ipv6addr": 128,
}
_ACC: Final = {"acc16": 16, "acc32": 32, "acc64": 64}


def register_count(point: PointDef) -> int:
    return point.size if point.type == "string" else TYPE_SIZE[point.type]


def unimplemented(point: PointDef) -> tuple[int, ...]:
    """The registers that mean "not implemented" for this point."""
    n = register_count(point)
    if point.type in _SIGNED and point.type != "pad":
        return (0x8000,) + (0,) * (n - 1)
    if point.type in _UNSIGNED:
        return (0xFFFF,) * n
    if point.type == "float32":
        return (0x7FC0, 0)
    if point.type == "float64":
        return (0x7FF8, 0, 0, 0)
    return (0,) * n  # accumulators, strings, pad


def _to_regs(raw: int, n: int) -> tuple[int, ...]:
    return tuple((raw >> (16 * (n - 1 - i))) & 0xFFFF for i in range(n))


def _from_regs(regs: tuple[int, ...] | list[int]) -> int:
    raw = 0
    for reg in regs:
        raw = (raw << 16) | reg
    return raw


def encode_raw(point: PointDef, raw: int | float | str | None) -> tuple[int, ...]:
    """Registers for an unscaled value; raises LocalProtocolError if it does not fit."""
    if raw is None:
        return unimplemented(point)
    n = register_count(point)
    if point.type == "string":
        data = str(raw).encode("ascii", "replace")
        if len(data) > 2 * n:
            raise LocalProtocolError(f"{point.name}: {raw!r} longer than {2 * n} characters")
        data = data.ljust(2 * n, b"\0")
        return tuple(int.from_bytes(data[i : i + 2], "big") for i in range(0, 2 * n, 2))
    if point.type in ("float32", "float64"):
        fmt = ">f" if point.type == "float32" else ">d"
        data = struct.pack(fmt, float(raw))
        return tuple(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2))
    if isinstance(raw, str) or (isinstance(raw, float) and not raw.is_integer()):
        raise LocalProtocolError(f"{point.name}: raw value {raw!r} is not an integer")
    value = int(raw)
    if point.type in _SIGNED:
        bits = _SIGNED[point.type]
        # the most negative value is the "not implemented" marker, so it is not a value
        if not -(1 << (bits - 1)) < value < (1 << (bits - 1)):
            raise LocalProtocolError(f"{point.name}: {value} does not fit {point.type}")
        return _to_regs(value & ((1 << bits) - 1), n)
    bits = _UNSIGNED.get(point.type) or _ACC[point.type]
    top = (1 << bits) - (1 if point.type in _UNSIGNED else 0)
    if not 0 <= value < top:
        raise LocalProtocolError(f"{point.name}: {value} does not fit {point.type}")
    return _to_regs(value, n)


def decode_raw(point: PointDef, regs: tuple[int, ...] | list[int]) -> int | float | str | None:
    """Unscaled value of the registers, `None` for "not implemented"."""
    regs = tuple(regs)
    if point.type == "string":
        data = b"".join(reg.to_bytes(2, "big") for reg in regs).rstrip(b"\0")
        return data.decode("ascii", "replace") if data else None
    if point.type in ("float32", "float64"):
        data = b"".join(reg.to_bytes(2, "big") for reg in regs)
        value = float(struct.unpack(">f" if point.type == "float32" else ">d", data)[0])
        return None if math.isnan(value) else value
    if point.type == "pad":
        return None
    if regs == unimplemented(point):
        return None
    raw = _from_regs(regs)
    if point.type in _SIGNED:
        bits = _SIGNED[point.type]
        return raw - (1 << bits) if raw >= 1 << (bits - 1) else raw
    return raw


def scale(raw: int | float | str | None, sf: int | None) -> PointValue:
    """Physical value from raw and scale factor (ints stay ints when sf >= 0)."""
    if raw is None or isinstance(raw, str) or not sf:
        return raw
    if sf > 0:
        factor: int = 10**sf
        return raw * factor
    scaled: float = round(raw * 10.0**sf, -sf)
    return scaled


def unscale(value: PointValue, sf: int | None) -> int | float | str | None:
    """Raw value for a physical value (rounded to the resolution the scale factor gives)."""
    if value is None or isinstance(value, str) or not sf:
        return round(value) if isinstance(value, float) and sf is not None else value
    return round(value * 10.0 ** (-sf))
