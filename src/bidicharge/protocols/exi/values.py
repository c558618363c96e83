"""Typed value codecs: EXI 1.0 §7.1 built-in datatype representations, as ISO 15118 uses them.

Each codec checks the schema facets on both sides: a value outside them is our bug when
encoding (`LocalProtocolError`) and the peer's when decoding (`RemoteProtocolError`).
String values are always literals: ISO 15118 runs EXI with ``valuePartitionCapacity = 0``
(no value string table), so a string is ``length + 2`` followed by its code points (§7.3.3)
and the compact-identifier hits 0/1 never occur.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from .bitstream import BitReader, BitWriter
from .errors import LocalProtocolError, RemoteProtocolError

# A length prefix larger than what is left of the stream is garbage; guard allocations.
_MAX_CODE_POINT = 0x10FFFF


class ValueCodec:
    """Encodes one simple value of a field after its CH (or AT) event code."""

    __slots__ = ()

    def encode(self, w: BitWriter, value: Any) -> None:
        raise NotImplementedError

    def decode(self, r: BitReader) -> Any:
        raise NotImplementedError


class _Bool(ValueCodec):
    """§7.1.2 Boolean: one bit (no pattern facet in these schemas)."""

    __slots__ = ()

    def encode(self, w: BitWriter, value: Any) -> None:
        if not isinstance(value, bool):
            raise LocalProtocolError(f"expected bool, got {value!r}")
        w.write(1 if value else 0, 1)

    def decode(self, r: BitReader) -> Any:
        return r.read(1) == 1


class _Bounded:
    __slots__ = ("lo", "hi")

    def __init__(self, lo: int | None, hi: int | None) -> None:
        self.lo = lo
        self.hi = hi

    def check_local(self, value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise LocalProtocolError(f"expected int, got {value!r}")
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            raise LocalProtocolError(f"{value} outside [{self.lo}, {self.hi}]")
        return value

    def check_remote(self, value: int) -> int:
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            raise RemoteProtocolError(f"value {value} outside [{self.lo}, {self.hi}]")
        return value


class _NBit(_Bounded, ValueCodec):
    """§7.1.9 n-bit Unsigned Integer: integers with a bounded range of at most 4096 values
    are sent as the offset from the minimum in ceil(log2(range)) bits (§7.1.5)."""

    __slots__ = ("nbits",)

    def __init__(self, lo: int | None, hi: int | None) -> None:
        assert lo is not None and hi is not None
        super().__init__(lo, hi)
        self.nbits = (hi - lo).bit_length()

    def encode(self, w: BitWriter, value: Any) -> None:
        w.write(self.check_local(value) - self.lo, self.nbits)  # type: ignore[operator]

    def decode(self, r: BitReader) -> Any:
        return self.check_remote(r.read(self.nbits) + self.lo)  # type: ignore[operator]


class _UInt(_Bounded, ValueCodec):
    """§7.1.6 Unsigned Integer (types whose lower bound is >= 0)."""

    __slots__ = ()

    def encode(self, w: BitWriter, value: Any) -> None:
        w.write_uint(self.check_local(value))

    def decode(self, r: BitReader) -> Any:
        return self.check_remote(r.read_uint())


class _Int(_Bounded, ValueCodec):
    """§7.1.5 Integer: a sign bit (1 = negative), then the magnitude as unsigned integer,
    where a negative value v is sent as -(v + 1)."""

    __slots__ = ()

    def encode(self, w: BitWriter, value: Any) -> None:
        v = self.check_local(value)
        if v < 0:
            w.write(1, 1)
            w.write_uint(-v - 1)
        else:
            w.write(0, 1)
            w.write_uint(v)

    def decode(self, r: BitReader) -> Any:
        negative = r.read(1)
        magnitude = r.read_uint()
        return self.check_remote(-magnitude - 1 if negative else magnitude)


class _Length:
    __slots__ = ("max_length", "length")

    def __init__(self, max_length: int | None, length: int | None) -> None:
        self.max_length = max_length
        self.length = length

    def bad(self, n: int) -> bool:
        return (self.max_length is not None and n > self.max_length) or (
            self.length is not None and n != self.length
        )

    def check_empty(self, value: Any) -> Any:
        if self.bad(0):
            raise RemoteProtocolError("empty value where the schema requires a length")
        return value


class _Str(_Length, ValueCodec):
    """§7.1.10 String, always as a literal (value tables are disabled in ISO 15118)."""

    __slots__ = ()

    def encode(self, w: BitWriter, value: Any) -> None:
        if not isinstance(value, str):
            raise LocalProtocolError(f"expected str, got {value!r}")
        if self.bad(len(value)):
            raise LocalProtocolError(f"string length {len(value)} violates the schema facets")
        w.write_uint(len(value) + 2)
        for ch in value:
            c = ord(ch)
            if c < 0x80:
                w.write(c, 8)
            else:
                w.write_uint(c)

    def decode(self, r: BitReader) -> Any:
        n = r.read_uint()
        if n < 2:
            # 0 = local value hit, 1 = global value hit: impossible without string tables
            raise RemoteProtocolError("EXI string table reference, but string tables are disabled")
        n -= 2
        if n * 8 > r.remaining_bits or self.bad(n):
            raise RemoteProtocolError(f"string length {n} invalid")
        chars = []
        for _ in range(n):
            c = r.read_uint(max_octets=3)
            if c > _MAX_CODE_POINT:
                raise RemoteProtocolError("invalid code point")
            chars.append(chr(c))
        return "".join(chars)


class _Bin(_Length, ValueCodec):
    """§7.1.1 Binary (hexBinary, base64Binary): length as unsigned integer, then the octets."""

    __slots__ = ("base64",)

    def __init__(self, max_length: int | None, length: int | None, base64: bool) -> None:
        super().__init__(max_length, length)
        self.base64 = base64  # lexical form in XML/JSON only; the EXI encoding is the same

    def encode(self, w: BitWriter, value: Any) -> None:
        if not isinstance(value, bytes):
            raise LocalProtocolError(f"expected bytes, got {value!r}")
        if self.bad(len(value)):
            raise LocalProtocolError(f"binary length {len(value)} violates the schema facets")
        w.write_uint(len(value))
        w.write_bytes(value)

    def decode(self, r: BitReader) -> Any:
        n = r.read_uint()
        if n * 8 > r.remaining_bits or self.bad(n):
            raise RemoteProtocolError(f"binary length {n} invalid")
        return r.read_bytes(n)


class _Enum(ValueCodec):
    """§7.2 Enumeration: the value's index in the schema's list as an n-bit unsigned integer.

    The list is kept apart from the Python enum: the index is defined by the schema's order,
    which differs between drafts of the -20 XSDs (see schemas/README.md).
    """

    __slots__ = ("cls", "values", "index", "nbits")

    def __init__(self, cls: type[StrEnum], values: tuple[str, ...]) -> None:
        self.cls = cls
        self.values = values
        self.index = {v: i for i, v in enumerate(values)}
        self.nbits = (len(values) - 1).bit_length()

    def encode(self, w: BitWriter, value: Any) -> None:
        try:
            w.write(self.index[value], self.nbits)
        except KeyError:
            raise LocalProtocolError(
                f"{value!r} is not a value of {self.cls.__name__} in this schema"
            ) from None

    def decode(self, r: BitReader) -> Any:
        i = r.read(self.nbits)
        if i >= len(self.values):
            raise RemoteProtocolError(f"enumeration index {i} out of range for {self.cls.__name__}")
        try:
            return self.cls(self.values[i])
        except ValueError:
            raise RemoteProtocolError(f"{self.values[i]!r} has no {self.cls.__name__} member") from None


# constructors used by the generated tables (named after the EXI datatype representation)
def boolean() -> ValueCodec:
    return _Bool()


def nbit(lo: int | None, hi: int | None) -> ValueCodec:
    return _NBit(lo, hi)


def unsigned(lo: int | None, hi: int | None) -> ValueCodec:
    return _UInt(lo, hi)


def integer(lo: int | None, hi: int | None) -> ValueCodec:
    return _Int(lo, hi)


def string(max_length: int | None, length: int | None) -> ValueCodec:
    return _Str(max_length, length)


def binary(max_length: int | None, length: int | None, base64: bool) -> ValueCodec:
    return _Bin(max_length, length, base64)


def enum(cls: type[StrEnum], values: tuple[str, ...]) -> ValueCodec:
    return _Enum(cls, values)
