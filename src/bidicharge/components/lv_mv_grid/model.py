"""One Kerber grid model per process and network kind (building one takes 1–3 s).

The grid component and the DSO's grid controller both solve with it; `solve_fast` and
`solve_fast_batch` are pure, so sharing the prepared model is safe (pandapower's own
`solve`/`solve_3ph`, which overwrite the net, are not used from components).

pandapower draws the cable type of every Kerber branch-out line from Python's global
`random` (50 % each of two types, `kerber_networks._add_lines_with_branched_loads`);
unseeded, every process would build a slightly different grid and a study would not
repeat to the watt. The grid is built from a fixed draw, the caller's random state kept.
"""

from __future__ import annotations

import random
from functools import lru_cache
from typing import Final

from bidicharge.physics.lv_grid import KerberNetwork, LvGrid, build_lv_grid

KERBER_DRAW_SEED: Final = 0  # which of pandapower's random cable assignments this project's grid is


def kerber_grid(kind: KerberNetwork | str = KerberNetwork.DORFNETZ) -> LvGrid:
    # normalised before the cache: `kerber_grid()` and `kerber_grid(KerberNetwork.DORFNETZ)`
    # are one entry (a benchmark builds the grid ahead; the components then reuse it)
    return _cached(KerberNetwork(kind))


@lru_cache(maxsize=4)
def _cached(kind: KerberNetwork) -> LvGrid:
    state = random.getstate()
    random.seed(KERBER_DRAW_SEED)
    try:
        return build_lv_grid(kind)
    finally:
        random.setstate(state)
