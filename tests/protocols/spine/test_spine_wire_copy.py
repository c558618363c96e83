"""`wire_copy` gives the receiver exactly what EEBUS-JSON on the wire gives it.

The in-memory link hands every SPINE datagram over as ``decode(encode(d))``; `wire_copy`
computes that in one pass. Held to the real round trip for any JSON-like value, including
the ones the round trip changes (empty lists, tuples, NaN, non-string keys, mixed lists).
"""

from __future__ import annotations

import enum
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bidicharge.protocols.ship import eebus_json
from bidicharge.protocols.spine.wire_copy import wire_copy


class Unit(enum.StrEnum):
    W = "W"


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=6),
                    st.sampled_from(["<a&b>", "\u2028", "[{", Unit.W]))
keys = st.one_of(st.text(max_size=5), st.integers(-3, 3), st.sampled_from(["1", "x"]))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(st.dictionaries(keys, inner, max_size=3), max_size=3),  # lists of objects
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(keys, inner, max_size=4),
    ),
    max_leaves=25,
)
documents = st.one_of(st.dictionaries(st.text(max_size=8), values, min_size=1, max_size=1),
                      st.dictionaries(keys, values, max_size=3))


def round_trip(document: Any) -> tuple[str, Any]:
    try:
        return "ok", eebus_json.decode_document(eebus_json.encode_document(document))
    except Exception as exc:  # noqa: BLE001 - the same failure is what is compared
        return "error", type(exc)


def fast(document: Any) -> tuple[str, Any]:
    try:
        return "ok", wire_copy(document)
    except Exception as exc:  # noqa: BLE001
        return "error", type(exc)


@settings(max_examples=600, deadline=None)
@given(documents)
def test_wire_copy_is_the_eebus_json_round_trip(document: dict[Any, Any]) -> None:
    expected, got = round_trip(document), fast(document)
    assert repr(got) == repr(expected)  # repr: list vs tuple, -0.0 vs 0.0, key order, str vs enum


def test_a_datagram_is_copied_not_shared() -> None:
    datagram = {"datagram": {"header": {"msgCounter": 7, "cmdClassifier": "notify"},
                             "payload": {"cmd": [{"measurementListData": {"measurementData": [
                                 {"measurementId": 1, "value": {"number": 4200, "scale": 0}}]}}]},
                             "phases": ["a", "b"]}}
    copy = wire_copy(datagram)
    assert copy == eebus_json.decode_document(eebus_json.encode_document(datagram))
    copy["datagram"]["payload"]["cmd"][0]["measurementListData"]["measurementData"][0]["measurementId"] = 2
    assert datagram["datagram"]["payload"]["cmd"][0]["measurementListData"]["measurementData"][0]["measurementId"] == 1
    copy["datagram"]["phases"].append("c")
    assert datagram["datagram"]["phases"] == ["a", "b"]


@pytest.mark.parametrize(("document", "expected"), [
    ({"read": []}, {"read": {}}),  # an empty list is an empty element on the wire
    ({"a": {"list": [], "t": (1, 2)}}, {"a": {"list": {}, "t": [1, 2]}}),  # tuple: the real codec
    ({"a": [{"x": 1}, {}]}, {"a": [{"x": 1}, {}]}),
])
def test_what_the_wire_changes_is_changed(document: dict[str, Any], expected: dict[str, Any]) -> None:
    assert wire_copy(document) == expected


def test_what_the_wire_refuses_is_refused() -> None:
    with pytest.raises(ValueError):
        wire_copy({"a": math.nan})
