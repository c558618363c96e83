"""The datagram a peer parses from the wire, computed without writing the text.

Two SPINE nodes paired in memory (`memory.MemoryLink`) hand each datagram through
EEBUS-JSON (SHIP 1.0.1 clause 13.3) so that the receiver sees exactly what it would see
over SHIP: ``decode_document(encode_document(document))``. That round trip is not the
identity — an empty list arrives as an empty element ``{}``, a tuple as a list — but for
the values SPINE datagrams are made of it is a plain structural copy, which this module
computes in one pass instead of four (plain -> EEBUS-JSON -> text -> EEBUS-JSON -> plain).

`wire_copy` takes the single pass only for values whose round trip it knows exactly:
objects with string keys, lists of objects, lists of scalars, and scalars of the exact
JSON types (finite floats). Anything else (a tuple, a subclass, a mixed or nested list,
NaN, a non-string key) goes through the real encoder and decoder, errors included. A
property test holds the single pass to the round trip.
"""

from __future__ import annotations

import math

from bidicharge.protocols.ship import eebus_json
from bidicharge.protocols.ship.eebus_json import JsonObject, JsonValue

_SCALARS = (str, int, bool, type(None))


class _NotPlain(Exception):
    """A value whose wire round trip the single pass does not model: take the real one."""


def wire_copy(document: JsonObject) -> JsonObject:
    """``eebus_json.decode_document(eebus_json.encode_document(document))``, faster."""
    if type(document) is dict and len(document) == 1:
        try:
            return {_key(key): _copy(inner) for key, inner in document.items()}
        except _NotPlain:
            pass
    return eebus_json.decode_document(eebus_json.encode_document(document))


def _key(key: object) -> str:
    if type(key) is not str:
        raise _NotPlain  # json.dumps would turn it into a string (and may merge two keys)
    return key


def _copy(value: JsonValue) -> JsonValue:
    kind = type(value)
    if kind is dict:
        # an object becomes a sequence of single-key objects and back (an empty one: [] -> {})
        return {_key(key): _copy(inner) for key, inner in value.items()}
    if kind is list:
        if not value:
            return {}  # an empty list is an empty element on the wire
        first = type(value[0])
        if first is dict:  # a list of complex items: each item as an object
            if any(type(item) is not dict for item in value):
                raise _NotPlain
            return [_copy(item) for item in value]
        for item in value:  # a list of scalars stays a list
            _scalar(item)
        return list(value)
    _scalar(value)
    return value


def _scalar(value: JsonValue) -> None:
    kind = type(value)
    if kind is float:
        if not math.isfinite(value):
            raise _NotPlain  # the encoder refuses NaN and infinities
        return
    if kind not in _SCALARS:
        raise _NotPlain
