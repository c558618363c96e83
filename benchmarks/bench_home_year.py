"""The home year study (issue 6): every HEMS strategy over 2018 at 15-minute steps.

Prints the cost ratios the issue asks for — (c) MPC with realistic forecasts against
(b) the evcc-style baseline measured in the same run, and against (d) the perfect-foresight
LP over the whole year and (d') the perfect-foresight MPC — the re-plan time (median, p99)
against the 50 ms target, and the year's wall time against the 5-minute target.
"""

from __future__ import annotations

import sys
from importlib import resources

from bidicharge.runtime import home_study


def main() -> None:
    path = str(resources.files("bidicharge.scenarios") / "home_v2h.yaml")
    overrides = {"start": "2018-01-01T00:00:00+01:00", "duration": "365d", "step": "15min", "trace": "off"}
    rows = home_study.compare(path, overrides=overrides, keys=["none", "evcc", "rules", "mpc", "perfect"], workers=2)
    rows.append(home_study.whole_span_lp(path, overrides=overrides))
    by = {r.key: r for r in rows}
    for r in rows:
        k = r.kpis
        print(f"  {r.label:45s} cost {k['energy_cost_EUR']:8.2f} EUR  self-sufficiency {100 * (k.get('self_sufficiency') or 0):5.1f} %"
              f"  EV discharged {k.get('ev_discharged_kWh', 0):6.1f} kWh  misses {len(k.get('departure_misses') or [])}"
              f"  wall {r.wall_s:7.1f} s", file=sys.stderr)
    c = by["mpc"].kpis["energy_cost_EUR"]
    b = by["evcc"].kpis["energy_cost_EUR"]
    print(f"BENCH home_year_mpc_cost_vs_evcc: {c:.2f} EUR (anchor {b:.2f}, ratio {c / b:.3f})")
    print(f"BENCH home_year_mpc_cost_vs_perfect_mpc: {c:.2f} EUR (anchor {by['perfect'].kpis['energy_cost_EUR']:.2f}, "
          f"ratio {c / by['perfect'].kpis['energy_cost_EUR']:.3f})")
    print(f"BENCH home_year_mpc_cost_vs_year_lp: {c:.2f} EUR (anchor {by['lp'].kpis['energy_cost_EUR']:.2f}, "
          f"ratio {c / by['lp'].kpis['energy_cost_EUR']:.3f})")
    misses = len(by["mpc"].kpis.get("departure_misses") or [])
    print(f"BENCH home_year_mpc_departure_misses: {misses} trips (anchor 0, ratio {misses:.0f})")
    med = 1000 * (by["mpc"].plan_median_s or 0)
    p99 = 1000 * (by["mpc"].plan_p99_s or 0)
    print(f"BENCH home_replan_median: {med:.1f} ms (anchor 50.0, ratio {med / 50:.2f})")
    print(f"BENCH home_replan_p99: {p99:.1f} ms (anchor 50.0, ratio {p99 / 50:.2f})")
    wall = by["mpc"].wall_s
    print(f"BENCH home_year_mpc_wall: {wall:.1f} s (anchor 300.0, ratio {wall / 300:.2f})")


if __name__ == "__main__":
    main()
