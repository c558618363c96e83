"""ISO 15118-20 in a study: a simulated week of `v2h_iso15118` (the car and the wallbox on the
real protocol: every charge-loop request and answer EXI-encoded, framed, decoded, and the
control pilot followed) against the same week with the car on the in-memory I-01 port
(`VehicleStatus`/`EnergyTransfer`, what the year-long home studies use).

Anchor: the in-memory wiring in the same run; the ratio says how much slower the protocol is
(> 1 = slower). Both runs trace nothing (the engine and the protocol only); a third line gives
the ISO week with its full trace, as the scenario test runs it.
"""

from __future__ import annotations

import sys
from importlib import resources

from bidicharge.runtime.scenario import load_scenario
from bidicharge.runtime.study import run_study

WEEK = {"start": "2024-03-04T00:00:00+01:00", "duration": "7d", "step": "1min"}


def week(*, iso: bool, trace: str) -> float:
    path = str(resources.files("bidicharge.scenarios") / "v2h_iso15118.yaml")
    sc = load_scenario(path, overrides={**WEEK, "trace": trace})
    if not iso:  # the same car and wallbox, wired on the in-memory I-01 port
        import yaml

        with open(path, encoding="utf-8") as fh:
            raw = yaml.safe_load(fh)
        raw["components"]["wallbox"]["connect"] = {"vehicle": "ev.charger"}
        from bidicharge.runtime.scenario import parse_scenario

        sc = parse_scenario({**raw, **WEEK, "trace": trace}, file=path, base_dir=sc.base_dir)
    result = run_study(sc)
    ev = result.reports["ev"]
    print(f"  week, {'ISO 15118-20' if iso else 'in-memory'} I-01, trace {trace}: {result.wall_time_s:.2f} s wall, "
          f"{len(result.trace):,} trace records, charged {ev['charged_Wh'] / 1000:.1f} kWh, "
          f"discharged {ev['discharged_Wh'] / 1000:.1f} kWh", file=sys.stderr)
    return result.wall_time_s


def main() -> None:
    anchor = week(iso=False, trace="off")
    iso = week(iso=True, trace="off")
    print(f"BENCH iso15118_study_week: {iso:.2f} s (anchor in-memory {anchor:.2f} s, ratio {iso / anchor:.1f})", flush=True)
    traced = week(iso=True, trace="full")
    print(f"BENCH iso15118_study_week_traced: {traced:.2f} s (anchor in-memory {anchor:.2f} s, ratio {traced / anchor:.1f})",
          flush=True)


if __name__ == "__main__":
    main()
