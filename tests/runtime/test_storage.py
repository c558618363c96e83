"""Storage through SQLAlchemy: SQLite by default, PostgreSQL by URL (the one on
127.0.0.1:5432 here; the test skips, saying why, where it is absent)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from bidicharge.runtime.storage import Storage
from bidicharge.runtime.trace import TraceRecord

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _exercise(store: Storage) -> None:
    scenario = f"t-{uuid.uuid4().hex[:8]}"
    run_id = store.add_run(scenario=scenario, mode="study", start_s=0.0, end_s=60.0, kpis={"grid_import_kWh": 1.5})
    recs = [TraceRecord(time_s=float(i), interface="I-03", source="hems", target="wallbox", protocol="in-memory",
                        message="PowerSetpoint", summary=f'{{"power_W":{i}}}') for i in range(7)]
    assert store.add_trace(run_id, recs, batch=3) == 7
    store.add_intervals(run_id, "meter", [(0.0, 10.0, 0.0), (900.0, 0.0, 5.0)])
    assert store.trace(run_id) == recs
    assert store.trace(run_id, interface="I-01") == []
    assert store.intervals(run_id) == [("meter", 0.0, 10.0, 0.0), ("meter", 900.0, 0.0, 5.0)]
    run = next(r for r in store.runs() if r.id == run_id)
    assert run.scenario == scenario and run.kpis == {"grid_import_kWh": 1.5}


def test_sqlite_file_storage(tmp_path: Path) -> None:
    store = Storage(f"sqlite:///{tmp_path / 'sub' / 'b.db'}")
    _exercise(store)
    store.dispose()
    assert (tmp_path / "sub" / "b.db").exists()


@pytest.mark.postgres
def test_postgresql_storage() -> None:
    sqlalchemy = pytest.importorskip("sqlalchemy")
    try:
        engine = sqlalchemy.create_engine(PG_URL)
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure to connect means: no server here
        pytest.skip(f"no PostgreSQL at 127.0.0.1:5432 (database 'test', user postgres): {exc.__class__.__name__}")
    store = Storage(PG_URL)
    _exercise(store)
    store.dispose()
