"""EEBUS-JSON: the JSON representation SHIP and SPINE messages travel in.

SHIP 1.0.1 clause 13.3 ("JSON representation") maps the XSD types to JSON so that the
order of a sequence survives: every complex element becomes an *array of single-key
objects in schema order*; a list of complex items becomes an array of such arrays; a
list of scalars stays a plain array; an empty element becomes ``[]``; the top level keeps
its single key (``{"connectionHello":[...]}``).

The one special case: in the SHIP data message the value of ``payload`` is an object
(``{"payload":{"datagram":[...]}}``), not an array, because the payload is itself a
top-level document of the carried protocol.

We convert structurally (never by string replacement, which breaks on strings that
contain ``[{``) between EEBUS-JSON and *plain JSON* (ordinary objects), keeping key
order, so that ``encode(decode(text)) == text`` for every message the eebus-go stack sends.
"""

from __future__ import annotations

import json
from typing import Any, Final, TypeAlias

from bidicharge.protocols.ship.errors import RemoteProtocolError

JsonValue: TypeAlias = Any  # JSON from json.loads: dict | list | str | int | float | bool | None
JsonObject: TypeAlias = dict[str, Any]

# Go's encoding/json escapes these inside strings by default; we do the same so that
# re-encoding a recorded eebus-go message is byte-exact.
_GO_ESCAPES: Final = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                      ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def to_plain(value: JsonValue) -> JsonValue:
    """EEBUS-JSON value -> plain JSON value (objects as dicts, in wire order)."""
    kind = type(value)
    if kind is list:
        if not value:
            return {}  # empty element, e.g. {"read":[]}
        out: JsonObject = {}
        for item in value:  # an array of single-key objects is one object (a sequence)
            if type(item) is not dict or len(item) != 1:
                break
            for key, inner in item.items():
                out[key] = to_plain(inner)
        else:
            return out
        if all(type(item) is list for item in value):
            return [to_plain(item) for item in value]  # list of complex items
        return list(value)  # list of scalars
    if kind is dict:
        return {key: to_plain(inner) for key, inner in value.items()}
    return value


def from_plain(value: JsonValue) -> JsonValue:
    """Plain JSON value -> EEBUS-JSON value (inverse of :func:`to_plain`)."""
    kind = type(value)
    if kind is dict:
        return [{key: from_plain(inner)} for key, inner in value.items()]
    if kind is list:
        if value and all(type(item) is dict for item in value):
            return [from_plain(item) for item in value]
        return list(value)
    return value


def document_to_plain(document: JsonObject) -> JsonObject:
    """A top-level EEBUS-JSON document (single key kept as an object) -> plain."""
    return {key: to_plain(inner) for key, inner in document.items()}


def document_from_plain(document: JsonObject) -> JsonObject:
    return {key: from_plain(inner) for key, inner in document.items()}


def dumps(document: JsonValue) -> str:
    """Serialise like Go's encoding/json: no spaces, UTF-8, HTML-safe escapes."""
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    for raw, escaped in _GO_ESCAPES:
        if raw in text:
            text = text.replace(raw, escaped)
    return text


def loads(text: str | bytes) -> JsonValue:
    try:
        return json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RemoteProtocolError(f"malformed EEBUS-JSON: {exc}") from None


def decode_document(text: str | bytes) -> JsonObject:
    """Parse EEBUS-JSON text of one top-level document into plain JSON."""
    raw = loads(text)
    if not isinstance(raw, dict) or len(raw) != 1:
        raise RemoteProtocolError("EEBUS-JSON document must be an object with exactly one key")
    return document_to_plain(raw)


def encode_document(document: JsonObject) -> str:
    return dumps(document_from_plain(document))
