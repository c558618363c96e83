"""FCR full activation through the real chain (scenario ``fcr_chain``), central and local paths.

Time from the −200 mHz step (first seen on I-51) until the eight cars' own measured power
(ISO 15118-20 EVPresentActivePower on I-01) moved by ≥ 99 % of the 60 kW FCR held. Anchor: the
rule's 30 s. Every delay is the chain's: the 0.5-s study step, the in-memory hops (IEC 104
paired cores, I-23, I-14, OCPP-J frames: no time of their own in a study), the cars' charge loop
every step, and the wallboxes' 2 kW/s ramp (seven cars × 2 kW/s ≈ 4.3 s for 60 kW).

For comparison the modelled pool of ``bench_fcr.py`` (fcr_pool: latency constants 2.0 s central,
0.3 s local, a 22 kW/s car ramp, 0.1-s step): with ``--with-model`` its double pulse is run here
(several minutes); otherwise its last published figures are printed, marked as such.

Run: ``.venv/bin/python benchmarks/bench_fcr_chain.py [--with-model]``.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from bidicharge.components.comm_aggregator.fcr_metrics import chain_step_response
from bidicharge.runtime.scenario import parse_scenario
from bidicharge.runtime.study import run_study

RULE_S = 30.0
PUBLISHED_MODEL_S = {"central": 2.10, "local": 0.40}  # bench_fcr.py, README markets section


def chain(path: str) -> float:
    raw: dict[str, Any] = yaml.safe_load((resources.files("bidicharge.scenarios") / "fcr_chain.yaml").read_text())
    raw["components"]["aggregator"]["config"]["fcr_path"] = path
    result = run_study(parse_scenario(raw, file="fcr_chain.yaml", base_dir="."))
    response = chain_step_response(result.trace.records())
    if response is None or response.time_to_full_s is None:
        raise SystemExit(f"{path}: the pool did not reach full activation: {response}")
    return response.time_to_full_s


def modelled(path: str) -> tuple[float, str]:
    if "--with-model" not in sys.argv:
        return PUBLISHED_MODEL_S[path], "published"
    sys.path.insert(0, str(Path(__file__).parent))
    import bench_fcr

    return bench_fcr.double_pulse(path), "measured now"


def main() -> None:
    for path in ("central", "local"):
        t = chain(path)
        model, how = modelled(path)
        print(f"BENCH fcr_chain_{path}_full_activation: {t:.2f} s (anchor {RULE_S:g} s rule, ratio {t / RULE_S:.3f})",
              flush=True)
        print(f"  modelled pool (bench_fcr.py, {how}): {model:.2f} s", flush=True)


if __name__ == "__main__":
    main()
