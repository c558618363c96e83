"""Storage through SQLAlchemy: SQLite file by default, PostgreSQL (or any SQLAlchemy URL)
by configuration. The same models serve both.

Tables: `runs` (one per study or live session, with its KPIs), `trace_records` (the
messages), `meter_intervals` (quarter-hour import/export per meter).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, create_engine, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from bidicharge.runtime.trace import TraceRecord

DEFAULT_URL = "sqlite:///out/bidicharge.db"


class Base(DeclarativeBase):
    pass


class RunRow(Base):
    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scenario: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(20))  # "study" | "live"
    created_at: Mapped[str] = mapped_column(String(40))
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    kpis: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class TraceRow(Base):
    __tablename__ = "trace_records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    time_s: Mapped[float] = mapped_column(Float, index=True)
    interface: Mapped[str] = mapped_column(String(10), index=True)
    source: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(100))
    protocol: Mapped[str] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(Text)


class MeterIntervalRow(Base):
    __tablename__ = "meter_intervals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    meter: Mapped[str] = mapped_column(String(100))
    start_s: Mapped[float] = mapped_column(Float)
    import_Wh: Mapped[float] = mapped_column(Float)
    export_Wh: Mapped[float] = mapped_column(Float)


class Storage:
    def __init__(self, url: str = DEFAULT_URL) -> None:
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            from pathlib import Path

            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.url = url
        self.engine: Engine = create_engine(url, future=True)
        Base.metadata.create_all(self.engine)

    def add_run(self, *, scenario: str, mode: str, start_s: float, end_s: float, kpis: dict[str, Any]) -> int:
        clean = json.loads(json.dumps(kpis, default=str))
        with Session(self.engine) as s, s.begin():
            row = RunRow(
                scenario=scenario,
                mode=mode,
                created_at=datetime.now(UTC).isoformat(),  # bookkeeping, not simulation time
                start_s=start_s,
                end_s=end_s,
                kpis=clean,
            )
            s.add(row)
            s.flush()
            return row.id

    def add_trace(self, run_id: int, records: Iterable[TraceRecord], batch: int = 5000) -> int:
        n = 0
        rows: list[dict[str, Any]] = []
        with self.engine.begin() as conn:
            for r in records:
                rows.append(
                    {"run_id": run_id, "time_s": r.time_s, "interface": r.interface, "source": r.source,
                     "target": r.target, "protocol": r.protocol, "message": r.message, "summary": r.summary}
                )
                if len(rows) >= batch:
                    conn.execute(insert(TraceRow), rows)
                    n += len(rows)
                    rows = []
            if rows:
                conn.execute(insert(TraceRow), rows)
                n += len(rows)
        return n

    def add_intervals(self, run_id: int, meter_name: str, intervals: Iterable[tuple[float, float, float]]) -> None:
        rows = [{"run_id": run_id, "meter": meter_name, "start_s": a, "import_Wh": b, "export_Wh": c} for a, b, c in intervals]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(insert(MeterIntervalRow), rows)

    def runs(self) -> list[RunRow]:
        with Session(self.engine) as s:
            return list(s.scalars(select(RunRow).order_by(RunRow.id)))

    def trace(self, run_id: int, interface: str | None = None) -> list[TraceRecord]:
        with Session(self.engine) as s:
            q = select(TraceRow).where(TraceRow.run_id == run_id).order_by(TraceRow.id)
            if interface is not None:
                q = q.where(TraceRow.interface == interface)
            return [
                TraceRecord(time_s=r.time_s, interface=r.interface, source=r.source, target=r.target,
                            protocol=r.protocol, message=r.message, summary=r.summary)
                for r in s.scalars(q)
            ]

    def intervals(self, run_id: int) -> list[tuple[str, float, float, float]]:
        with Session(self.engine) as s:
            q = select(MeterIntervalRow).where(MeterIntervalRow.run_id == run_id).order_by(MeterIntervalRow.id)
            return [(r.meter, r.start_s, r.import_Wh, r.export_Wh) for r in s.scalars(q)]

    def dispose(self) -> None:
        self.engine.dispose()
