"""One Kerber grid model per process and network kind (building one takes 1–3 s).

The grid component and the DSO's grid controller both solve with it; `solve_fast` and
`solve_fast_batch` are pure, so sharing the prepared model is safe (pandapower's own
`solve`/`solve_3ph`, which overwrite the net, are not used from components).
"""

from __future__ import annotations

from functools import lru_cache

from bidicharge.physics.lv_grid import KerberNetwork, LvGrid, build_lv_grid


@lru_cache(maxsize=4)
def kerber_grid(kind: KerberNetwork = KerberNetwork.DORFNETZ) -> LvGrid:
    return build_lv_grid(KerberNetwork(kind))
