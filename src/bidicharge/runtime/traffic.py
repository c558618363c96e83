"""What a run carried: messages per catalogue interface and protocol, from its trace.

`bidicharge architecture --status --db URL` puts these counts beside the conformance matrix
(which is computed from the code), so one table says both what could carry an interface and
what did carry it in a stored run (`bidicharge up … --db URL` or `bidicharge simulate`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bidicharge.runtime.storage import RunRow, Storage
from bidicharge.runtime.trace import TraceRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class RunTraffic:
    run_id: int
    scenario: str
    mode: str  # "live" | "study"
    messages: dict[str, dict[str, int]]  # interface id -> protocol -> messages

    def total(self, interface: str) -> int:
        return sum(self.messages.get(interface, {}).values())


def count_messages(records: Iterable[TraceRecord]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for r in records:
        by_protocol = counts.setdefault(r.interface, {})
        by_protocol[r.protocol] = by_protocol.get(r.protocol, 0) + 1
    return counts


class NoSuchRun(LookupError):
    pass


def run_traffic(url: str, run_id: int | None = None) -> RunTraffic:
    """The traffic of run `run_id` in the store at `url` (None: the latest run)."""
    store = Storage(url)
    try:
        runs: list[RunRow] = store.runs()
        if not runs:
            raise NoSuchRun(f"no runs stored in {url}")
        chosen = runs[-1] if run_id is None else next((r for r in runs if r.id == run_id), None)
        if chosen is None:
            raise NoSuchRun(f"no run #{run_id} in {url} (stored: {', '.join(f'#{r.id}' for r in runs)})")
        return RunTraffic(run_id=chosen.id, scenario=chosen.scenario, mode=chosen.mode,
                          messages=count_messages(store.trace(chosen.id)))
    finally:
        store.dispose()
