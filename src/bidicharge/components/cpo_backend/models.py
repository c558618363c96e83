"""The CSMS's tables (SQLAlchemy ORM): stations, EVSEs/connectors, tokens, transactions, the
transaction events already stored, meter values, EV charging needs and the charging profiles sent.

Energy is kept by direction: imported (``Energy.Active.Import.Register``, into the vehicle) and
exported (``Energy.Active.Export.Register``, out of the vehicle) registers are separate columns,
never one signed number, in Wh.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

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
