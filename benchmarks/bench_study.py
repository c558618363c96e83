"""Study-engine speed: simulated seconds per wall second for home_v2h over one year at
1-minute steps (525,600 steps), as `make bench` runs it.

Anchor: the issue's target, a full year in 60 s (= 525,600 simulated s per wall s); no peer
simulates this household with its protocols in one process, so the target stands in. The run
is made twice: with message tracing off (pure engine) and with the scenario's on-change trace.
The HEMS runs the first rule-based strategy (issue 2's); the optimiser's year is measured by
`bench_home_year.py`. The engine is measured on the in-memory wiring of I-03/I-47
(`home_study.in_memory_wiring`); `bench_eebus_home.py` gives the EEBUS wiring's week.
"""

from __future__ import annotations

import sys
from importlib import resources

from bidicharge.runtime.home_study import in_memory_wiring
from bidicharge.runtime.kpis import home_kpis
from bidicharge.runtime.scenario import load_scenario
from bidicharge.runtime.study import run_study

YEAR_S = 365 * 86400.0
TARGET_WALL_S = 60.0


def main() -> None:
    path = str(resources.files("bidicharge.scenarios") / "home_v2h.yaml")
    anchor = YEAR_S / TARGET_WALL_S
    for trace in ("off", "on_change"):
        sc = load_scenario(path, overrides={"start": "2018-01-01T00:00:00+01:00", "duration": "365d", "step": "1min", "trace": trace})
        result = run_study(in_memory_wiring(sc).with_config("hems", strategy="rules"))
        rate = YEAR_S / result.wall_time_s
        k = home_kpis(result)
        print(f"  year, trace {trace}: {result.wall_time_s:.1f} s wall, {len(result.trace):,} trace records, "
              f"cost {k['energy_cost_EUR']:.0f} EUR, self-sufficiency {100 * k['self_sufficiency']:.1f} %, "
              f"departures met {k['departures_met']}/{k['departures']}", file=sys.stderr)
        print(f"BENCH home_v2h_year_1min_trace_{trace}: {rate:.0f} sim_s/wall_s "
              f"(anchor {anchor:.0f}, ratio {rate / anchor:.2f})", flush=True)


if __name__ == "__main__":
    main()
