"""The HEMS backend's database: states (time series), plans, settings, events per site.

SQLAlchemy: SQLite file by default, PostgreSQL by URL — the same tables.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, Integer, String, create_engine, delete, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from bidicharge.components.interfaces.i06_hems_backend import HemsEvent, HemsPlan, HemsSettings, HemsState


class _Base(DeclarativeBase):
    pass


class StateRow(_Base):
    __tablename__ = "hems_states"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    time_s: Mapped[float] = mapped_column(Float, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class PlanRow(_Base):
    __tablename__ = "hems_plans"
    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class SettingsRow(_Base):
    __tablename__ = "hems_settings"
    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class EventRow(_Base):
    __tablename__ = "hems_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    time_s: Mapped[float] = mapped_column(Float)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class HemsStore:
    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///") and ":memory:" not in url:
            from pathlib import Path

            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(url, future=True)
        _Base.metadata.create_all(self.engine)

    def add_state(self, state: HemsState) -> None:
        with self.engine.begin() as c:
            c.execute(insert(StateRow), [{"site": state.site, "time_s": state.time_s, "data": state.model_dump()}])

    def latest_state(self, site: str) -> HemsState | None:
        with Session(self.engine) as s:
            row = s.scalars(select(StateRow).where(StateRow.site == site).order_by(StateRow.time_s.desc()).limit(1)).first()
            return HemsState(**row.data) if row else None

    def history(self, site: str, from_s: float, to_s: float, limit: int) -> list[HemsState]:
        with Session(self.engine) as s:
            q = (select(StateRow).where(StateRow.site == site, StateRow.time_s >= from_s, StateRow.time_s < to_s)
                 .order_by(StateRow.time_s).limit(limit))
            return [HemsState(**r.data) for r in s.scalars(q)]

    def sites(self) -> list[str]:
        with Session(self.engine) as s:
            return sorted(set(s.scalars(select(StateRow.site).distinct())) | set(s.scalars(select(SettingsRow.site))))

    def put_plan(self, plan: HemsPlan) -> None:
        with self.engine.begin() as c:
            c.execute(delete(PlanRow).where(PlanRow.site == plan.site))
            c.execute(insert(PlanRow), [{"site": plan.site, "data": plan.model_dump()}])

    def plan(self, site: str) -> HemsPlan | None:
        with Session(self.engine) as s:
            row = s.get(PlanRow, site)
            return HemsPlan(**row.data) if row else None

    def put_settings(self, site: str, settings: HemsSettings) -> None:
        with self.engine.begin() as c:
            c.execute(delete(SettingsRow).where(SettingsRow.site == site))
            c.execute(insert(SettingsRow), [{"site": site, "data": settings.model_dump()}])

    def settings(self, site: str) -> HemsSettings | None:
        with Session(self.engine) as s:
            row = s.get(SettingsRow, site)
            return HemsSettings(**row.data) if row else None

    def add_event(self, event: HemsEvent) -> None:
        with self.engine.begin() as c:
            c.execute(insert(EventRow), [{"site": event.site, "time_s": event.time_s, "data": event.model_dump()}])

    def events(self, site: str, limit: int = 100) -> list[HemsEvent]:
        with Session(self.engine) as s:
            q = select(EventRow).where(EventRow.site == site).order_by(EventRow.id.desc()).limit(limit)
            return [HemsEvent(**r.data) for r in s.scalars(q)]

    def dispose(self) -> None:
        self.engine.dispose()
