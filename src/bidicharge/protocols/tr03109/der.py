"""The DER subset (ITU-T X.690 clause 10) that CMS meter data needs.

`cryptography` signs and verifies but has no KeyAgreeRecipientInfo (RFC 5652 6.2.2) and
no way to give SignedData an injected signing time, so the CMS structures are built here
from a handful of TLV helpers. Decoding is strict and lazy (children are decoded when asked for, so
nesting costs no recursion): definite lengths in minimal form only, no trailing bytes; every defect is a `RemoteProtocolError` (``bad-der``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Final

from .errors import RemoteProtocolError

INTEGER: Final = 0x02
BIT_STRING: Final = 0x03
OCTET_STRING: Final = 0x04
NULL: Final = 0x05
OID: Final = 0x06
UTF8_STRING: Final = 0x0C
UTC_TIME: Final = 0x17
GENERALIZED_TIME: Final = 0x18
SEQUENCE: Final = 0x30
SET: Final = 0x31


def tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes((tag, n)) + content
    length = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + content


def seq(*items: bytes) -> bytes:
    return tlv(SEQUENCE, b"".join(items))


def set_of(*items: bytes) -> bytes:
    """A SET OF in DER order: elements sorted by their encodings (X.690 11.6)."""
    return tlv(SET, b"".join(sorted(items)))


def explicit(number: int, inner: bytes) -> bytes:
    return tlv(0xA0 | number, inner)


def integer(value: int) -> bytes:
    size = max(1, (value.bit_length() + 8) // 8)
    return tlv(INTEGER, value.to_bytes(size, "big", signed=True))


def octets(value: bytes) -> bytes:
    return tlv(OCTET_STRING, value)


def bit_string(value: bytes) -> bytes:
    return tlv(BIT_STRING, b"\x00" + value)


@cache  # a handful of constant OIDs, encoded on every message
def oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    body = bytearray((40 * parts[0] + parts[1],))
    for part in parts[2:]:
        chunk = [part & 0x7F]
        part >>= 7
        while part:
            chunk.append(0x80 | (part & 0x7F))
            part >>= 7
        body += bytes(reversed(chunk))
    return tlv(OID, bytes(body))


def null() -> bytes:
    return b"\x05\x00"


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """One decoded TLV; `raw` is its full encoding (needed to hash signed attributes)."""

    tag: int
    content: bytes
    raw: bytes

    @property
    def constructed(self) -> bool:
        return bool(self.tag & 0x20)

    def children(self) -> tuple[Node, ...]:
        if not self.constructed:
            raise RemoteProtocolError(f"tag {self.tag:#x} is primitive", reason="bad-der")
        return _decode_all(self.content)

    def expect(self, tag: int) -> Node:
        if self.tag != tag:
            raise RemoteProtocolError(f"expected tag {tag:#x}, got {self.tag:#x}", reason="bad-der")
        return self

    def as_oid(self) -> str:
        self.expect(OID)
        return _oid_text(self.content)

    def as_int(self) -> int:
        self.expect(INTEGER)
        if not self.content:
            raise RemoteProtocolError("empty INTEGER", reason="bad-der")
        return int.from_bytes(self.content, "big", signed=True)

    def as_octets(self) -> bytes:
        return self.expect(OCTET_STRING).content

    def as_bits(self) -> bytes:
        self.expect(BIT_STRING)
        if not self.content or self.content[0] != 0:
            raise RemoteProtocolError("BIT STRING with unused bits", reason="bad-der")
        return self.content[1:]


@lru_cache(maxsize=256)  # CMS uses a few dozen OIDs, decoded in every message; errors are not cached
def _oid_text(content: bytes) -> str:
    if not content:
        raise RemoteProtocolError("empty OID", reason="bad-der")
    first = content[0]
    parts = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    value = 0
    for byte in content[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    if content[-1] & 0x80:
        raise RemoteProtocolError("truncated OID", reason="bad-der")
    return ".".join(str(p) for p in parts)


def _header(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the TLV at `pos`."""
    if pos + 2 > len(data):
        raise RemoteProtocolError("truncated TLV header", reason="bad-der")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise RemoteProtocolError("multi-byte tags are not used in CMS meter data", reason="bad-der")
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise RemoteProtocolError("indefinite or oversized length", reason="bad-der")
        length = int.from_bytes(data[pos : pos + count], "big")
        if length < 0x80 or data[pos] == 0:
            raise RemoteProtocolError("length not in minimal form", reason="bad-der")
        pos += count
    if pos + length > len(data):
        raise RemoteProtocolError("content runs past the end", reason="bad-der")
    return tag, pos, pos + length


def _decode_all(data: bytes) -> tuple[Node, ...]:
    nodes = []
    pos = 0
    while pos < len(data):
        tag, start, end = _header(data, pos)
        nodes.append(Node(tag=tag, content=data[start:end], raw=data[pos:end]))
        pos = end
    return tuple(nodes)


def decode(data: bytes) -> Node:
    """The single TLV that `data` must consist of."""
    tag, start, end = _header(data, 0)
    if end != len(data):
        raise RemoteProtocolError("trailing bytes after the DER element", reason="bad-der")
    return Node(tag=tag, content=data[start:end], raw=data)
