"""Hypothesis strategies that draw payloads valid under an official OCPP JSON schema.

Covers exactly the keywords the OCPP 2.0.1/2.1 schemas use (type, enum, format date-time,
maxLength, minimum, maximum, minItems, maxItems, required, properties, $ref to definitions).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

_TZ = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))])
DATETIMES = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1), timezones=_TZ)


def _rfc3339(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def payloads(schema: dict[str, Any], *, max_depth: int = 6) -> st.SearchStrategy[Any]:
    defs = schema.get("definitions", {})

    def build(node: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
        if "$ref" in node:
            return build(defs[node["$ref"].rsplit("/", 1)[1]], depth)
        if "enum" in node:
            return st.sampled_from(node["enum"])
        t = node.get("type")
        if t == "string":
            if node.get("format") == "date-time":
                return DATETIMES.map(_rfc3339)
            return st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=min(node.get("maxLength", 20), 20))
        if t == "integer":
            return st.integers(min_value=node.get("minimum", -(2**31)), max_value=node.get("maximum", 2**31))
        if t == "number":
            lo, hi = node.get("minimum", -1e9), node.get("maximum", 1e9)
            return st.floats(min_value=lo, max_value=hi, allow_nan=False) | st.integers(int(lo), int(hi))
        if t == "boolean":
            return st.booleans()
        if t == "array":
            lo = node.get("minItems", 0)
            hi = min(node.get("maxItems", lo + 2), lo + 2)
            return st.lists(build(node["items"], depth + 1), min_size=lo, max_size=hi)
        if t == "object":
            props = node.get("properties", {})
            required = set(node.get("required", ()))
            optional = {} if depth >= max_depth else {k: build(v, depth + 1) for k, v in props.items() if k not in required}
            return st.fixed_dictionaries({k: build(props[k], depth + 1) for k in props if k in required}, optional=optional)
        # DataTransfer "data": any JSON
        return st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                            lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
                            max_leaves=5)

    return build(schema, 0)
