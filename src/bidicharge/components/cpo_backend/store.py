"""What a CSMS keeps: stations, EVSEs/connectors, tokens, transactions, meter values, EV charging
needs and the charging profiles it sent — in SQLAlchemy (SQLite by default, PostgreSQL by URL).

Energy is kept by direction: imported (``Energy.Active.Import.Register``, into the vehicle) and
exported (``Energy.Active.Export.Register``, out of the vehicle) registers are separate columns,
never one signed number. Values arrive in Wh or kWh with a power-of-ten multiplier (OCPP 2.x
``UnitOfMeasureType``) and are stored in Wh.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    create_engine,
    insert,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import StaticPool

IMPORT_REGISTER = "Energy.Active.Import.Register"
EXPORT_REGISTER = "Energy.Active.Export.Register"


class Base(DeclarativeBase):
    pass


class Station(Base):
    __tablename__ = "ocpp_station"
    identity: Mapped[str] = mapped_column(String(48), primary_key=True)
    vendor: Mapped[str | None] = mapped_column(String(50))
    model: Mapped[str | None] = mapped_column(String(50))
    firmware: Mapped[str | None] = mapped_column(String(50))
    ocpp_version: Mapped[str | None] = mapped_column(String(12))
    boot_reason: Mapped[str | None] = mapped_column(String(32))
    booted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Connector(Base):
    __tablename__ = "ocpp_connector"
    station: Mapped[str] = mapped_column(ForeignKey("ocpp_station.identity"), primary_key=True)
    evse_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connector_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Token(Base):
    __tablename__ = "ocpp_token"
    id_token: Mapped[str] = mapped_column(String(255), primary_key=True)
    status: Mapped[str] = mapped_column(String(24), default="Accepted")


class Transaction(Base):
    __tablename__ = "ocpp_transaction"
    station: Mapped[str] = mapped_column(ForeignKey("ocpp_station.identity"), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    evse_id: Mapped[int | None] = mapped_column(Integer)
    id_token: Mapped[str | None] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stopped_reason: Mapped[str | None] = mapped_column(String(32))
    last_seq_no: Mapped[int] = mapped_column(Integer, default=-1)
    import_first_Wh: Mapped[float | None] = mapped_column(Float)
    import_last_Wh: Mapped[float | None] = mapped_column(Float)
    export_first_Wh: Mapped[float | None] = mapped_column(Float)
    export_last_Wh: Mapped[float | None] = mapped_column(Float)
    soc: Mapped[float | None] = mapped_column(Float)  # 0..1, last reported

    @property
    def imported_Wh(self) -> float:
        return (self.import_last_Wh or 0.0) - (self.import_first_Wh or 0.0)

    @property
    def exported_Wh(self) -> float:
        return (self.export_last_Wh or 0.0) - (self.export_first_Wh or 0.0)


class TransactionEventSeen(Base):
    """(station, transaction, seqNo) already stored: a replayed offline event is not counted twice."""

    __tablename__ = "ocpp_tx_event"
    __table_args__ = (UniqueConstraint("station", "transaction_id", "seq_no"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station: Mapped[str] = mapped_column(String(48))
    transaction_id: Mapped[str] = mapped_column(String(36))
    seq_no: Mapped[int] = mapped_column(Integer)
    event_type: Mapped[str] = mapped_column(String(8))
    timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MeterSample(Base):
    __tablename__ = "ocpp_meter_sample"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station: Mapped[str] = mapped_column(String(48), index=True)
    evse_id: Mapped[int] = mapped_column(Integer)
    transaction_id: Mapped[str | None] = mapped_column(String(36))
    timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    measurand: Mapped[str] = mapped_column(String(48))
    phase: Mapped[str | None] = mapped_column(String(8))
    value: Mapped[float] = mapped_column(Float)  # in the base unit (Wh, W, A, V, %)
    unit: Mapped[str] = mapped_column(String(16))


class ChargingNeeds(Base):
    __tablename__ = "ocpp_charging_needs"
    station: Mapped[str] = mapped_column(ForeignKey("ocpp_station.identity"), primary_key=True)
    evse_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    requested_energy_transfer: Mapped[str] = mapped_column(String(16))
    departure_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    wire: Mapped[dict[str, Any]] = mapped_column(JSON)  # the chargingNeeds object as received


class SentProfile(Base):
    __tablename__ = "ocpp_charging_profile"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station: Mapped[str] = mapped_column(String(48), index=True)
    evse_id: Mapped[int] = mapped_column(Integer)
    profile_id: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(24))
    wire: Mapped[dict[str, Any]] = mapped_column(JSON)


class CsmsStore:
    """Thin session helper around the models; ``url`` e.g. ``sqlite://`` (memory) or
    ``postgresql+psycopg://user:pw@host/db``."""

    def __init__(self, url: str = "sqlite://", *, sample_batch: int = 500) -> None:
        kwargs: dict[str, Any] = {}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
        self.engine = create_engine(url, **kwargs)
        Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # meter samples are the bulk of the writes: buffered and inserted in batches (SQL Core);
        # every read flushes first, so readers never miss a sample
        self.sample_batch = sample_batch
        self._samples: list[dict[str, Any]] = []

    def add_samples(self, rows: list[dict[str, Any]]) -> None:
        self._samples.extend(rows)
        if len(self._samples) >= self.sample_batch:
            self.flush()

    def add_sent_profile(self, row: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(SentProfile), [row])

    def flush(self) -> None:
        """Write the buffered meter samples (call it also when stopping)."""
        if self._samples:
            rows, self._samples = self._samples, []
            with self.engine.begin() as conn:
                conn.execute(insert(MeterSample), rows)

    @contextmanager
    def session(self) -> Iterator[Session]:
        self.flush()
        with self._sessions.begin() as s:
            yield s

    def add_token(self, id_token: str, status: str = "Accepted") -> None:
        with self.session() as s:
            s.merge(Token(id_token=id_token, status=status))

    def token_status(self, id_token: str) -> str | None:
        with self.session() as s:
            token = s.get(Token, id_token)
            return None if token is None else token.status

    def transaction(self, station: str, transaction_id: str) -> Transaction | None:
        with self.session() as s:
            return s.get(Transaction, (station, transaction_id))

    def transactions(self, station: str | None = None) -> list[Transaction]:
        with self.session() as s:
            q = select(Transaction)
            if station is not None:
                q = q.where(Transaction.station == station)
            return list(s.scalars(q))

    def samples(self, station: str, transaction_id: str | None = None) -> list[MeterSample]:
        with self.session() as s:
            q = select(MeterSample).where(MeterSample.station == station).order_by(MeterSample.id)
            if transaction_id is not None:
                q = q.where(MeterSample.transaction_id == transaction_id)
            return list(s.scalars(q))
