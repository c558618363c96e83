"""What a CSMS keeps: stations, EVSEs/connectors, tokens, transactions, meter values, EV charging
needs and the charging profiles it sent — in SQLAlchemy (SQLite by default, PostgreSQL by URL).

Energy is kept by direction: imported (``Energy.Active.Import.Register``, into the vehicle) and
exported (``Energy.Active.Export.Register``, out of the vehicle) registers are separate columns,
never one signed number. Values arrive in Wh or kWh with a power-of-ten multiplier (OCPP 2.x
``UnitOfMeasureType``) and are stored in Wh.

Writes are batched (:mod:`.writebehind`): transaction events, meter values, connector status,
charging needs and sent profiles wait in memory until ``flush()`` — at the end of a study step,
on a timer live, when ``max_pending`` rows wait, on ``close()`` and before every read of the
tables (``session()``), so a reader never misses a row. A flush is one database transaction;
if it fails, nothing is dropped and the next flush tries again. Stations (boot) and tokens are
written at once: they are few, and other writes refer to stations.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from .models import (
    EXPORT_REGISTER,
    IMPORT_REGISTER,
    Base,
    ChargingNeeds,
    Connector,
    MeterSample,
    SentProfile,
    Station,
    Token,
    Transaction,
    TransactionEventSeen,
)
from .writebehind import Pending, TxState

__all__ = ["EXPORT_REGISTER", "IMPORT_REGISTER", "Base", "ChargingNeeds", "Connector", "CsmsStore", "MeterSample",
           "SentProfile", "Station", "Token", "Transaction", "TransactionEventSeen", "TxState"]


class CsmsStore:
    """The CSMS's records; ``url`` e.g. ``sqlite://`` (memory) or ``postgresql+psycopg://user:pw@host/db``."""

    def __init__(self, url: str = "sqlite://", *, max_pending: int = 500) -> None:
        kwargs: dict[str, Any] = {}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
        self.engine = create_engine(url, **kwargs)
        Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # a flush blocks the event loop live (~8 us a row on SQLite): 500 rows is ~4 ms, as the
        # sample batches were; a study step of the 200-EVSE park (~1,000 rows) is two batches
        self.max_pending = max_pending
        self.pending = Pending()
        with self._sessions() as s:
            self.pending.load(s)
            self._stations = set(s.scalars(select(Station.identity)))

    # ---- writes (batched) --------------------------------------------------------------------
    def transaction_event(self, station: str, transaction_id: str, *, seq_no: int, event_type: str,
                          timestamp: datetime, evse_id: int | None = None, id_token: str | None = None,
                          ended: bool = False, stopped_reason: str | None = None) -> TxState | None:
        """Record one TransactionEvent; returns the transaction's state for the meter values to
        update, or None for a (transaction, seqNo) stored before (OCPP 2.x E.FR: a replayed
        offline event is counted once)."""
        key = (station, transaction_id)
        tx = self.pending.txs.get(key)
        if tx is None:
            self.ensure_station(station)
            with self._sessions() as s:
                tx = self.pending.lookup(s, key)
        tx = self.pending.event(tx, key, seq_no=seq_no, event_type=event_type, timestamp=timestamp, evse_id=evse_id,
                                id_token=id_token, ended=ended, stopped_reason=stopped_reason)
        return tx  # no flush here: the caller still adds the meter values (``add_samples`` may flush)

    def add_samples(self, rows: list[dict[str, Any]]) -> None:
        self.pending.samples.extend(rows)
        self._maybe_flush()

    def add_sent_profile(self, row: dict[str, Any]) -> None:
        self.pending.profiles.append(row)
        self._maybe_flush()

    def set_connector_status(self, station: str, evse_id: int, connector_id: int, status: str,
                             changed_at: datetime) -> None:
        self.ensure_station(station)
        self.pending.connectors.put((station, evse_id, connector_id), {
            "station": station, "evse_id": evse_id, "connector_id": connector_id, "status": status,
            "changed_at": changed_at})
        self._maybe_flush()

    def set_charging_needs(self, station: str, evse_id: int, *, received_at: datetime,
                           requested_energy_transfer: str, departure_time: datetime | None,
                           wire: dict[str, Any]) -> None:
        self.ensure_station(station)
        self.pending.needs.put((station, evse_id), {
            "station": station, "evse_id": evse_id, "received_at": received_at,
            "requested_energy_transfer": requested_energy_transfer, "departure_time": departure_time, "wire": wire})
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        if len(self.pending) >= self.max_pending:
            self.flush()

    def flush(self) -> None:
        """Write everything pending in one database transaction (call it also when stopping)."""
        if not len(self.pending):
            return
        with self._sessions.begin() as s:
            self.pending.write(s)
        self.pending.written()  # only after the commit: a failed flush keeps every row for the next

    def close(self) -> None:
        self.flush()
        self.engine.dispose()

    # ---- writes (at once) --------------------------------------------------------------------
    def put_station(self, station: Station) -> None:
        with self._sessions.begin() as s:
            s.merge(station)
        self._stations.add(station.identity)

    def ensure_station(self, identity: str) -> None:
        """A station that sent something before its BootNotification still gets its row (the
        other tables refer to it; PostgreSQL checks that)."""
        if identity not in self._stations:
            self.put_station(Station(identity=identity))

    def add_token(self, id_token: str, status: str = "Accepted") -> None:
        with self._sessions.begin() as s:
            s.merge(Token(id_token=id_token, status=status))

    # ---- reads -------------------------------------------------------------------------------
    def token_status(self, id_token: str) -> str | None:
        with self._sessions() as s:  # tokens are never buffered: no flush needed
            token = s.get(Token, id_token)
            return None if token is None else token.status

    def open_transaction(self, station: str, evse_id: int) -> str | None:
        """The transaction open on an EVSE (the oldest, should a station have lost an Ended)."""
        return self.pending.open_transaction(station, evse_id)

    def open_transactions(self) -> list[TxState]:
        return self.pending.open_transactions()

    def connector_status(self) -> dict[tuple[str, int, int], str]:
        return {k: row["status"] for k, row in list(self.pending.connectors.rows.items())}

    def charging_needs(self) -> dict[tuple[str, int], dict[str, Any]]:
        """(station, EVSE) -> the latest needs (``requested_energy_transfer``, ``departure_time``, ``wire``)."""
        return dict(self.pending.needs.rows)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session on the tables, after a flush: it sees every row received so far."""
        self.flush()
        with self._sessions.begin() as s:
            yield s

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
