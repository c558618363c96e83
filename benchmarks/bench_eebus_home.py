"""The home_v2h week with the HEMS on EEBUS (I-03 to the wallbox, I-47 MGCP to the meter, every
SPINE datagram encoded, decoded and traced) against the same week on the in-memory contracts.

Anchor: the in-memory week measured in the same run (simulated seconds per wall second); the
ratio is what EEBUS costs the study engine. The KPIs of both runs are printed for comparison.
"""

from __future__ import annotations

import sys
from importlib import resources

from bidicharge.runtime.home_study import in_memory_wiring
from bidicharge.runtime.kpis import home_kpis
from bidicharge.runtime.scenario import load_scenario
from bidicharge.runtime.study import run_study

WEEK_S = 7 * 86400.0


def main() -> None:
    path = str(resources.files("bidicharge.scenarios") / "home_v2h.yaml")
    rates = {}
    for wiring in ("in-memory", "EEBUS"):
        sc = load_scenario(path)
        result = run_study(in_memory_wiring(sc) if wiring == "in-memory" else sc)
        k = home_kpis(result)
        rates[wiring] = WEEK_S / result.wall_time_s
        print(f"  week, {wiring}: {result.wall_time_s:.1f} s wall, {len(result.trace):,} trace records, "
              f"cost {k['energy_cost_EUR']:.2f} EUR, departures met {k['departures_met']}/{k['departures']}",
              file=sys.stderr)
    rate, anchor = rates["EEBUS"], rates["in-memory"]
    print(f"BENCH home_v2h_week_eebus: {rate:.0f} sim_s/wall_s (anchor {anchor:.0f}, ratio {rate / anchor:.2f})",
          flush=True)


if __name__ == "__main__":
    main()
