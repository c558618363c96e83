"""SML type-length-value encoding (SML 1.04 clause 6.3 "Type-Length-Field").

A TL byte holds, from the top bit down: "another TL byte follows" (1 bit), the type
(3 bits: 000 octet string, 100 boolean, 101 signed integer, 110 unsigned integer, 111
list) and 4 bits of length. Follow-up TL bytes have type 000 and add 4 more length bits
each. For scalars the length counts the TL bytes too; for lists it is the number of
elements. `0x01` (an empty octet string) is how SML marks an optional field as not set,
and `0x00` ends a message.

The tree is kept typed (`SInt`/`UInt` remember their width on the wire) so a decoded
node re-encodes to the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, TypeAlias

from .errors import LocalProtocolError, RemoteProtocolError

_OCTETS: Final = 0b000
_BOOL: Final = 0b100
_SINT: Final = 0b101
_UINT: Final = 0b110
_LIST: Final = 0b111

END_OF_MESSAGE: Final = b"\x00"
NOT_SET: Final = b"\x01"
MAX_DEPTH: Final = 16  # SML files of real meters nest 5 deep; more is an attack or garbage


@dataclass(frozen=True, slots=True)
class SInt:
    """An SML Integer8/16/32/64 (any width 1..8 bytes is accepted on reception)."""

    value: int
    size: int = 0  # bytes on the wire; 0 = smallest of 1, 2, 4, 8 that holds the value


@dataclass(frozen=True, slots=True)
class UInt:
    """An SML Unsigned8/16/32/64."""

    value: int
    size: int = 0


Node: TypeAlias = "bytes | bool | SInt | UInt | None | tuple[Node, ...]"


def _int_size(value: int, *, signed: bool, size: int) -> int:
    if size:
        if not 1 <= size <= 8:
            raise LocalProtocolError(f"SML integers are 1..8 bytes wide, not {size}")
        return size
    for candidate in (1, 2, 4, 8):
        bits = 8 * candidate
        low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        if low <= value <= high:
            return candidate
    raise LocalProtocolError(f"{value} does not fit a 64-bit SML integer")


def _tl(type_bits: int, length: int, *, counts_itself: bool) -> bytes:
    """TL bytes for content `length` (scalars add the TL bytes themselves to the length)."""
    n_tl = 1
    while True:
        total = length + n_tl if counts_itself else length
        if total < 16**n_tl:
            break
        n_tl += 1
    nibbles = [(total >> (4 * i)) & 0xF for i in reversed(range(n_tl))]
    out = bytearray()
    for i, nibble in enumerate(nibbles):
        more = 0x80 if i < n_tl - 1 else 0
        out.append(more | ((type_bits if i == 0 else 0) << 4) | nibble)
    return bytes(out)


def encode(node: Node) -> bytes:
    """The wire bytes of one SML node; `None` is the not-set marker 0x01."""
    if node is None:
        return NOT_SET
    if isinstance(node, bool):
        return bytes([0x42, 0x01 if node else 0x00])
    if isinstance(node, bytes):
        return _tl(_OCTETS, len(node), counts_itself=True) + node
    if isinstance(node, SInt | UInt):
        signed = isinstance(node, SInt)
        size = _int_size(node.value, signed=signed, size=node.size)
        try:
            body = node.value.to_bytes(size, "big", signed=signed)
        except OverflowError:
            raise LocalProtocolError(f"{node.value} does not fit {size} bytes") from None
        return _tl(_SINT if signed else _UINT, size, counts_itself=True) + body
    if isinstance(node, tuple):
        return _tl(_LIST, len(node), counts_itself=False) + b"".join(encode(item) for item in node)
    raise LocalProtocolError(f"cannot encode {type(node).__name__} as SML")


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int) -> None:
        self.data = data
        self.pos = pos

    def take(self, count: int) -> bytes:
        if self.pos + count > len(self.data):
            raise RemoteProtocolError("SML field runs past the end of the data", offset=self.pos)
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def tl(self) -> tuple[int, int, int]:
        """(type, length, number of TL bytes)."""
        first = self.take(1)[0]
        type_bits, length, n_tl = (first >> 4) & 0x7, first & 0xF, 1
        more = first & 0x80
        while more:
            nxt = self.take(1)[0]
            if nxt & 0x70:
                raise RemoteProtocolError("follow-up TL byte with a type", offset=self.pos - 1)
            length = (length << 4) | (nxt & 0xF)
            more = nxt & 0x80
            n_tl += 1
            if n_tl > 4:
                raise RemoteProtocolError("TL field longer than 4 bytes", offset=self.pos - 1)
        return type_bits, length, n_tl

    def node(self, depth: int) -> Node:
        start = self.pos
        type_bits, length, n_tl = self.tl()
        if type_bits == _LIST:
            if depth >= MAX_DEPTH:
                raise RemoteProtocolError("SML lists nested too deep", offset=start)
            if length > len(self.data) - self.pos:  # each element needs at least one byte
                raise RemoteProtocolError("SML list longer than the data", offset=start)
            return tuple(self.node(depth + 1) for _ in range(length))
        if length < n_tl:
            raise RemoteProtocolError("SML length shorter than its TL field", offset=start)
        body = self.take(length - n_tl)
        if type_bits == _OCTETS:
            return None if length == 1 and n_tl == 1 else body
        if type_bits == _BOOL:
            if len(body) != 1:
                raise RemoteProtocolError("SML boolean must be one byte", offset=start)
            return body != b"\x00"
        if type_bits in (_SINT, _UINT):
            if not 1 <= len(body) <= 8:
                raise RemoteProtocolError("SML integer must be 1..8 bytes", offset=start)
            if type_bits == _SINT:
                return SInt(int.from_bytes(body, "big", signed=True), len(body))
            return UInt(int.from_bytes(body, "big"), len(body))
        raise RemoteProtocolError(f"unknown SML type {type_bits:03b}", offset=start)


def decode(data: bytes, pos: int = 0) -> tuple[Node, int]:
    """Decode one node starting at `pos`; returns it and the position after it."""
    reader = _Reader(data, pos)
    node = reader.node(0)
    return node, reader.pos
