"""Traces: every message on every interface, as records (time, interface, from, to,
protocol, message type, summary).

Traces feed the live monitor, the reports and the use-case tests (which assert on the
sequence of messages across interfaces, not on private state). Records are kept in memory
and written as JSON lines and Parquet.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any


class TraceLevel(enum.Enum):
    FULL = "full"  # every message
    ON_CHANGE = "on_change"  # a message is kept when it differs from the last one on the same link
    OFF = "off"


@dataclass(frozen=True, slots=True, kw_only=True)
class TraceRecord:
    time_s: float
    interface: str  # catalogue id, e.g. "I-01"
    source: str  # component instance name
    target: str
    protocol: str  # e.g. "ISO 15118-20", "OCPP 2.1", "in-memory"
    message: str  # message type, e.g. "AC_ChargeLoopReq"
    summary: str  # decoded, short


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value) if getattr(value, f.name) is not None}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, float):
        return round(value, 3) if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def summarize(message: object) -> str:
    """A compact JSON summary of a message (dataclass, dict or scalar)."""
    return json.dumps(_plain(message), separators=(",", ":"), sort_keys=False, default=str)


class TraceRecorder:
    def __init__(self, level: TraceLevel = TraceLevel.FULL) -> None:
        self.level = level
        self._records: list[TraceRecord] = []
        self._last: dict[tuple[str, str, str, str], str] = {}
        self._listeners: list[Callable[[TraceRecord], None]] = []

    @property
    def enabled(self) -> bool:
        return self.level is not TraceLevel.OFF

    def subscribe(self, listener: Callable[[TraceRecord], None]) -> None:
        self._listeners.append(listener)

    def record(
        self,
        *,
        time_s: float,
        interface: str,
        source: str,
        target: str,
        protocol: str,
        message: str,
        payload: object = None,
        summary: str | None = None,
    ) -> None:
        if self.level is TraceLevel.OFF:
            return
        text = summary if summary is not None else summarize(payload)
        if self.level is TraceLevel.ON_CHANGE:
            key = (interface, source, target, message)
            if self._last.get(key) == text:
                return
            self._last[key] = text
        rec = TraceRecord(
            time_s=time_s,
            interface=interface,
            source=source,
            target=target,
            protocol=protocol,
            message=message,
            summary=text,
        )
        self._records.append(rec)
        for listener in self._listeners:
            listener(rec)

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[TraceRecord]:
        return iter(self._records)

    def records(self) -> list[TraceRecord]:
        return list(self._records)

    def select(self, *, interface: str | None = None, message: str | None = None) -> list[TraceRecord]:
        return [
            r
            for r in self._records
            if (interface is None or r.interface == interface) and (message is None or r.message == message)
        ]

    def write_jsonl(self, path: Path) -> None:
        write_jsonl(self._records, path)

    def write_parquet(self, path: Path) -> None:
        write_parquet(self._records, path)


def write_jsonl(records: Iterable[TraceRecord], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(asdict(r), separators=(",", ":")) + "\n")


def write_parquet(records: Iterable[TraceRecord], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = list(records)
    columns = {f.name: [getattr(r, f.name) for r in rows] for f in fields(TraceRecord)}
    schema = pa.schema(
        [("time_s", pa.float64())]
        + [(name, pa.string()) for name in ("interface", "source", "target", "protocol", "message", "summary")]
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns, schema=schema), path)


def read_jsonl(path: Path) -> list[TraceRecord]:
    with path.open(encoding="utf-8") as fh:
        return [TraceRecord(**json.loads(line)) for line in fh if line.strip()]
