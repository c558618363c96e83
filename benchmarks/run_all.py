"""Run every benchmarks/bench_*.py, print their `BENCH …` lines and collect them into
benchmarks/results.json. A script whose source mentions `--full` is given `--full` (the long
variants that `make test` leaves out)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
LINE = re.compile(r"^BENCH (?P<name>[^:]+): (?P<figure>\S+) (?P<unit>.*?) \(anchor (?P<anchor>[^,]+), ratio (?P<ratio>[^)]+)\)\s*$")


def main() -> int:
    results: dict[str, dict[str, str]] = {}
    failed: list[str] = []
    only = sys.argv[1:]
    for script in sorted(HERE.glob("bench_*.py")):
        if only and script.stem not in only and script.stem.removeprefix("bench_") not in only:
            continue
        args = [sys.executable, str(script)]
        if "--full" in script.read_text(encoding="utf-8"):
            args.append("--full")
        print(f"== {script.name}", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=HERE.parent)
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            m = LINE.match(line.strip())
            if m:
                results[m["name"]] = {**m.groupdict(), "line": line.strip(), "script": script.name}
        if proc.wait() != 0:
            failed.append(script.name)
        print(f"== {script.name}: {time.perf_counter() - t0:.1f} s, exit {proc.returncode}", flush=True)
    out = HERE / "results.json"
    previous = json.loads(out.read_text(encoding="utf-8")) if out.exists() and only else {}
    out.write_text(json.dumps({**previous, **results}, indent=2) + "\n", encoding="utf-8")
    print(f"{len(results)} BENCH lines written to {out}")
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
