"""Messages as JSON-ready dicts keyed by XML wire names.

The shape is the one EXIficient-based codecs (Josev's ``EXICodec.jar``) exchange:
``{"SessionSetupReq": {"Header": {"SessionID": "3030…", "TimeStamp": 1}, "EVCCID": "…"}}``;
repeated elements are lists, enumerations their string value, ``hexBinary`` lower-case
hex, ``base64Binary`` base64, attributes by local name, simple content under ``"value"``.
Used for traces, test vectors and talking to JSON-speaking peers.
"""

from __future__ import annotations

import base64
import binascii
from enum import StrEnum
from typing import Any

from .errors import LocalProtocolError
from .grammar import Grammar
from .values import ValueCodec, _Bin, _Enum


def to_wire_dict(
    message: object,
    namespace: str | None = None,
    *,
    element: str | None = None,
    fragment_element: str | None = None,
) -> dict[str, Any]:
    """``{root element local name: content}`` for a message (see module docstring); with
    `fragment_element`, for that (possibly local) element of the namespace's fragment grammar."""
    from .codec import DEFAULT_CODEC

    if fragment_element is not None:
        if namespace is None:
            raise LocalProtocolError("a fragment needs its schema set namespace")
        return {
            fragment_element: _complex_to(
                message, DEFAULT_CODEC.fragment_grammar(namespace, fragment_element)
            )
        }
    local, g = DEFAULT_CODEC.root_of(message, namespace, element)
    return {local: _complex_to(message, g)}


def from_wire_dict(data: dict[str, Any], namespace: str, *, fragment: bool = False) -> Any:
    """Inverse of `to_wire_dict`; raises `LocalProtocolError` on shapes the schema lacks."""
    from .codec import DEFAULT_CODEC

    if len(data) != 1:
        raise LocalProtocolError("expected exactly one root element")
    [(local, content)] = data.items()
    if fragment:
        g = DEFAULT_CODEC.fragment_grammar(namespace, local)
    else:
        g = DEFAULT_CODEC.grammar_of_root(namespace, local)
    return _complex_from(content, g)


def _complex_to(obj: Any, g: Grammar) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in g.fields:
        value = getattr(obj, f.attr)
        if value is None or (f.repeated and not value):
            continue
        key = f.local if f.kind != "c" else "value"
        if f.repeated:
            out[key] = [_value_to(v, f.child, f.value) for v in value]
        else:
            out[key] = _value_to(value, f.child, f.value)
    return out


def _value_to(value: Any, child: Grammar | None, codec: ValueCodec | None) -> Any:
    if child is not None:
        return _complex_to(value, child)
    if isinstance(codec, _Bin):
        return base64.b64encode(value).decode("ascii") if codec.base64 else value.hex()
    if isinstance(value, StrEnum):
        return value.value
    return value


def _complex_from(data: Any, g: Grammar) -> Any:
    if not isinstance(data, dict):
        raise LocalProtocolError(f"{g.cls.__name__}: expected an object, got {data!r}")
    known = {(f.local if f.kind != "c" else "value") for f in g.fields}
    unknown = set(data) - known
    if unknown:
        raise LocalProtocolError(f"{g.cls.__name__}: unknown keys {sorted(unknown)}")
    kwargs: dict[str, Any] = {}
    for f in g.fields:
        key = f.local if f.kind != "c" else "value"
        if key not in data:
            continue
        raw = data[key]
        if f.repeated:
            items = raw if isinstance(raw, list) else [raw]
            kwargs[f.attr] = tuple(_value_from(v, f.child, f.value) for v in items)
        else:
            if isinstance(raw, list) and len(raw) == 1:
                raw = raw[0]  # JAXB-based codecs emit single fields of mixed content as lists
            kwargs[f.attr] = _value_from(raw, f.child, f.value)
    try:
        return g.cls(**kwargs)
    except TypeError as exc:
        raise LocalProtocolError(f"{g.cls.__name__}: {exc}") from None


def _value_from(raw: Any, child: Grammar | None, codec: ValueCodec | None) -> Any:
    if child is not None:
        return _complex_from(raw, child)
    try:
        if isinstance(codec, _Bin):
            return base64.b64decode(raw, validate=True) if codec.base64 else bytes.fromhex(raw)
        if isinstance(codec, _Enum):
            return codec.cls(raw)
    except (ValueError, binascii.Error, TypeError) as exc:
        raise LocalProtocolError(f"bad value {raw!r}: {exc}") from None
    return raw
