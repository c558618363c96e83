from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from bidicharge.runtime.trace import TraceLevel, TraceRecorder, read_jsonl, summarize


@dataclass(frozen=True)
class Msg:
    power_W: float
    note: str | None = None


def _rec(t: TraceRecorder, time_s: float, p: float) -> None:
    t.record(time_s=time_s, interface="I-03", source="hems", target="wallbox", protocol="in-memory",
             message="PowerSetpoint", payload=Msg(power_W=p))


def test_summary_is_compact_json_without_absent_fields() -> None:
    assert summarize(Msg(power_W=-7000.0)) == '{"power_W":-7000.0}'


def test_on_change_keeps_only_changed_messages() -> None:
    t = TraceRecorder(TraceLevel.ON_CHANGE)
    for i, p in enumerate([1.0, 1.0, 2.0, 2.0, 1.0]):
        _rec(t, i, p)
    assert [r.time_s for r in t] == [0, 2, 4]


def test_off_records_nothing() -> None:
    t = TraceRecorder(TraceLevel.OFF)
    _rec(t, 0, 1.0)
    assert len(t) == 0


def test_jsonl_and_parquet_round_trip(tmp_path: Path) -> None:
    t = TraceRecorder()
    for i in range(3):
        _rec(t, float(i), float(i))
    t.write_jsonl(tmp_path / "t.jsonl")
    t.write_parquet(tmp_path / "t.parquet")
    assert read_jsonl(tmp_path / "t.jsonl") == t.records()
    table = pq.read_table(tmp_path / "t.parquet")
    assert table.num_rows == 3
    assert table.column("interface").to_pylist() == ["I-03"] * 3
