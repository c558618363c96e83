"""Full and partial writes, partial notifies and deletes (SPINE 1.3.0 Protocol Spec. §5.3.4).

* A *full* write or notify replaces the function's data entirely. (Interop lesson: a full
  write carrying only limitId 0 deletes every other limit, see ``docs/eebus.md``.)
* A *partial* one updates list items matched by their key fields, element by element,
  and appends items whose keys are new; items not mentioned stay as they are.
* A *delete* removes the items matching the selectors, or only the named elements of them.
"""

from __future__ import annotations

import copy
from typing import Any

from bidicharge.protocols.ship.eebus_json import JsonObject
from bidicharge.protocols.spine.errors import ErrorNumber, RemoteProtocolError
from bidicharge.protocols.spine.functions import LIST_FUNCTIONS


def _key(item: Any, keys: tuple[str, ...]) -> tuple[Any, ...]:
    if not isinstance(item, dict):
        raise RemoteProtocolError("list item must be an object")
    return tuple(repr(item.get(key)) for key in keys)


def merge_partial(function: str, current: JsonObject | None, update: JsonObject) -> JsonObject:
    """``current`` updated by the partial ``update`` (a new object; inputs are not modified)."""
    result = copy.deepcopy(current) if current is not None else {}
    spec = LIST_FUNCTIONS.get(function)
    if spec is None:
        result.update(copy.deepcopy(update))  # a plain (non-list) function: element-wise
        return result
    item_name, keys = spec
    items = update.get(item_name, [])
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        raise RemoteProtocolError(f"{function}.{item_name} must be a list")
    existing = result.setdefault(item_name, [])
    index = {_key(item, keys): item for item in existing}
    for item in items:
        if any(item.get(k) is None for k in keys):
            raise RemoteProtocolError(f"partial {function} item without key {keys}",
                                      error_number=ErrorNumber.RESTRICTED_FUNCTION_EXCHANGE_COMBINATION_NOT_SUPPORTED)
        found = index.get(_key(item, keys))
        if found is None:
            fresh = copy.deepcopy(item)
            existing.append(fresh)
            index[_key(item, keys)] = fresh
        else:
            found.update(copy.deepcopy(item))
    return result


def apply_delete(function: str, current: JsonObject | None, selectors: JsonObject | None,
                 elements: JsonObject | None) -> JsonObject:
    """Remove the items matching ``selectors`` (all if empty), or only their ``elements``."""
    result = copy.deepcopy(current) if current is not None else {}
    spec = LIST_FUNCTIONS.get(function)
    if spec is None:
        if elements:
            for name in elements:
                result.pop(name, None)
            return result
        return {}
    item_name, _ = spec
    items = result.get(item_name, [])

    def matches(item: JsonObject) -> bool:
        return all(item.get(name) == value for name, value in (selectors or {}).items())

    if elements:
        for item in items:
            if matches(item):
                for name in elements:
                    item.pop(name, None)
        return result
    result[item_name] = [item for item in items if not matches(item)]
    return result
