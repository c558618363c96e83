"""Components of one run found by instance name, for the relations the catalogue has no
interface for (so no port can carry them):

* a plant operator (C-PLANT-OP) runs its power plants (C-POWERPLANT): inside one company,
  no interface between the two in the catalogue;
* the commercial aggregator's modelled car pool sits in the distribution grid below the
  high-voltage grid (its EVSEs measure the frequency there and its power flows there) until the
  LV/MV grid and the technical aggregator carry it (I-42, I-23).

The scenario names the peer in the config (``plant_operator.config.plants``,
``comm_aggregator.config.grid``); the lookup is scoped to the run (keyed by its trace
recorder, which every component of a run shares) and an unknown name is an error that says
which component asked for what.
"""

from __future__ import annotations

import weakref
from typing import Any

_RUNS: weakref.WeakKeyDictionary[object, dict[str, Any]] = weakref.WeakKeyDictionary()


def register(component: Any) -> None:
    _RUNS.setdefault(component.context.trace, {})[component.name] = component


def lookup(asker: Any, name: str, kind: str) -> Any:
    found = _RUNS.get(asker.context.trace, {}).get(name)
    if found is None or type(found).kind != kind:
        raise ValueError(f"{asker.kind} {asker.name!r}: no {kind} named {name!r} in this scenario")
    return found
