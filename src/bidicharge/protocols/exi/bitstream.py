"""Bit-packed EXI channel (W3C EXI 1.0 §7 and §9: alignment ``bit-packed``).

Values are written most significant bit first with no padding between them; the stream
ends padded with zero bits to a whole byte. `BitWriter` keeps pending bits in one Python
int and moves whole bytes out as they fill; `BitReader` reads n bits at a bit position from
an immutable byte string.
"""

from __future__ import annotations

from .errors import RemoteProtocolError

_FLUSH_BITS = 512


class BitWriter:
    __slots__ = ("_acc", "_nbits", "_out")

    def __init__(self) -> None:
        self._acc = 0
        self._nbits = 0
        self._out = bytearray()

    def write(self, value: int, nbits: int) -> None:
        """Append `value` as an `nbits`-bit unsigned integer (caller guarantees the range)."""
        self._acc = (self._acc << nbits) | value
        self._nbits += nbits
        if self._nbits >= _FLUSH_BITS:
            self._flush()

    def write_bytes(self, data: bytes) -> None:
        """Append raw octets, each as an 8-bit unsigned integer (EXI §7.1.2 Binary)."""
        if data:
            self.write(int.from_bytes(data, "big"), 8 * len(data))

    def write_uint(self, value: int) -> None:
        """EXI §7.1.6 Unsigned Integer: 7-bit groups, least significant first, bit 7 = more."""
        if value < 0x80:
            self.write(value, 8)
            return
        while value >= 0x80:
            self.write(0x80 | (value & 0x7F), 8)
            value >>= 7
        self.write(value, 8)

    def _flush(self) -> None:
        whole = self._nbits >> 3
        rest = self._nbits & 7
        self._out += (self._acc >> rest).to_bytes(whole, "big")
        self._acc &= (1 << rest) - 1
        self._nbits = rest

    def getvalue(self) -> bytes:
        """The stream padded with zero bits to a byte boundary."""
        pad = (-self._nbits) & 7
        acc, nbits = self._acc << pad, self._nbits + pad
        return bytes(self._out) + acc.to_bytes(nbits >> 3, "big")


class BitReader:
    __slots__ = ("_data", "_pos", "_end")

    def __init__(self, data: bytes, bit_offset: int = 0) -> None:
        self._data = data
        self._pos = bit_offset
        self._end = 8 * len(data)

    @property
    def remaining_bits(self) -> int:
        return self._end - self._pos

    def read(self, nbits: int) -> int:
        if nbits == 0:
            return 0
        pos = self._pos
        end = pos + nbits
        if end > self._end:
            raise RemoteProtocolError("EXI stream ends early")
        first = pos >> 3
        last = (end + 7) >> 3
        chunk = int.from_bytes(self._data[first:last], "big")
        self._pos = end
        return (chunk >> ((last << 3) - end)) & ((1 << nbits) - 1)

    def read_bytes(self, n: int) -> bytes:
        if n == 0:
            return b""
        return self.read(8 * n).to_bytes(n, "big")

    def read_uint(self, max_octets: int = 32) -> int:
        """EXI §7.1.6 Unsigned Integer; more than `max_octets` groups is treated as garbage."""
        value = 0
        shift = 0
        for _ in range(max_octets):
            octet = self.read(8)
            value |= (octet & 0x7F) << shift
            if octet < 0x80:
                return value
            shift += 7
        raise RemoteProtocolError("EXI unsigned integer too long")
