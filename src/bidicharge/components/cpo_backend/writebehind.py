"""What the CSMS holds in memory in front of its SQL store, and how it is written in batches.

A fleet sends a TransactionEvent per car every few minutes; writing each one at once (two
lookups, an insert and an update) made the store most of a study's time. So the store keeps

* the state of every open transaction (registers, SoC, seqNos already stored — OCPP 2.x E.FR:
  a replayed event is counted once) and which transaction is open on which EVSE;
* each connector's status and each EVSE's latest charging needs (what I-14 shows);

and writes what changed in one database transaction per batch (``Pending.write``): bulk inserts
of new rows, bulk updates by primary key of known ones. The database stays the record: a store
opened on it again loads the open transactions, connectors and needs back (``Pending.load``).
The store flushes before every read of the tables, so a reader never misses a row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from .models import (
    ChargingNeeds,
    Connector,
    MeterSample,
    SentProfile,
    Transaction,
    TransactionEventSeen,
)

TxKey = tuple[str, str]  # (station, transaction id)
EvseKey = tuple[str, int]  # (station, EVSE id)
ConnectorKey = tuple[str, int, int]  # (station, EVSE id, connector id)

TX_COLUMNS = ("station", "transaction_id", "evse_id", "id_token", "started_at", "ended_at", "stopped_reason",
              "last_seq_no", "import_first_Wh", "import_last_Wh", "export_first_Wh", "export_last_Wh", "soc")


@dataclass(slots=True, kw_only=True)
class TxState:
    """A transaction as the engine updates it (the columns of ``Transaction``) and the seqNos stored."""

    station: str
    transaction_id: str
    started_at: datetime
    evse_id: int | None = None
    id_token: str | None = None
    ended_at: datetime | None = None
    stopped_reason: str | None = None
    last_seq_no: int = -1
    import_first_Wh: float | None = None
    import_last_Wh: float | None = None
    export_first_Wh: float | None = None
    export_last_Wh: float | None = None
    soc: float | None = None  # 0..1, last reported
    seen: set[int] = field(default_factory=set)

    @property
    def imported_Wh(self) -> float:
        return (self.import_last_Wh or 0.0) - (self.import_first_Wh or 0.0)

    @property
    def exported_Wh(self) -> float:
        return (self.export_last_Wh or 0.0) - (self.export_first_Wh or 0.0)

    def row(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in TX_COLUMNS}

    @classmethod
    def of(cls, tx: Transaction, seen: set[int]) -> TxState:
        return cls(**{c: getattr(tx, c) for c in TX_COLUMNS}, seen=seen)


@dataclass(slots=True)
class Upserts:
    """Rows of one table keyed by primary key: the latest wins; ``in_db`` says insert or update."""

    rows: dict[Any, dict[str, Any]] = field(default_factory=dict)
    dirty: set[Any] = field(default_factory=set)
    in_db: set[Any] = field(default_factory=set)

    def put(self, key: Any, row: dict[str, Any]) -> None:
        self.rows[key] = row
        self.dirty.add(key)

    def write(self, s: Session, model: Any) -> None:
        new = [self.rows[k] for k in self.dirty if k not in self.in_db]
        known = [self.rows[k] for k in self.dirty if k in self.in_db]
        if new:
            s.execute(insert(model), new)
        if known:
            s.execute(update(model), known)  # ORM bulk UPDATE by primary key

    def written(self) -> None:
        self.in_db |= self.dirty
        self.dirty.clear()


class Pending:
    """The in-memory records and the rows not yet written (see the module docstring)."""

    def __init__(self) -> None:
        self.txs: dict[TxKey, TxState] = {}  # open ones, and any with unwritten changes
        self.open_on: dict[EvseKey, dict[str, None]] = {}  # open transactions per EVSE, oldest first
        self.new_txs: set[TxKey] = set()
        self.dirty_txs: set[TxKey] = set()
        self.events: list[dict[str, Any]] = []
        self.samples: list[dict[str, Any]] = []
        self.profiles: list[dict[str, Any]] = []
        self.connectors = Upserts()
        self.needs = Upserts()

    def __len__(self) -> int:
        return (len(self.events) + len(self.samples) + len(self.profiles) + len(self.dirty_txs)
                + len(self.connectors.dirty) + len(self.needs.dirty))

    # ---- loading what the database holds ---------------------------------------------------
    def load(self, s: Session) -> None:
        """Open transactions (with their seqNos), connectors and needs: what I-14 and the
        duplicate check need, read once when the store opens."""
        open_txs = list(s.scalars(select(Transaction).where(Transaction.ended_at.is_(None))))
        seen: dict[TxKey, set[int]] = {}
        if open_txs:
            q = select(TransactionEventSeen.station, TransactionEventSeen.transaction_id, TransactionEventSeen.seq_no) \
                .join(Transaction, (Transaction.station == TransactionEventSeen.station)
                      & (Transaction.transaction_id == TransactionEventSeen.transaction_id)) \
                .where(Transaction.ended_at.is_(None))
            for station, tx_id, seq_no in s.execute(q):
                seen.setdefault((station, tx_id), set()).add(seq_no)
        for tx in open_txs:
            self._index(TxState.of(tx, seen.get((tx.station, tx.transaction_id), set())))
        for c in s.scalars(select(Connector)):
            key = (c.station, c.evse_id, c.connector_id)
            self.connectors.rows[key] = {"station": c.station, "evse_id": c.evse_id, "connector_id": c.connector_id,
                                         "status": c.status, "changed_at": c.changed_at}
            self.connectors.in_db.add(key)
        for n in s.scalars(select(ChargingNeeds)):
            evse = (n.station, n.evse_id)
            self.needs.rows[evse] = {"station": n.station, "evse_id": n.evse_id, "received_at": n.received_at,
                                     "requested_energy_transfer": n.requested_energy_transfer,
                                     "departure_time": n.departure_time, "wire": n.wire}
            self.needs.in_db.add(evse)

    def _index(self, tx: TxState) -> None:
        self.txs[(tx.station, tx.transaction_id)] = tx
        if tx.ended_at is None and tx.evse_id is not None:
            self.open_on.setdefault((tx.station, tx.evse_id), {})[tx.transaction_id] = None

    def _unindex(self, tx: TxState) -> None:
        if tx.evse_id is None:
            return
        on = self.open_on.get((tx.station, tx.evse_id))
        if on is not None:
            on.pop(tx.transaction_id, None)
            if not on:
                del self.open_on[(tx.station, tx.evse_id)]

    def lookup(self, s: Session, key: TxKey) -> TxState | None:
        """A transaction not in memory: ended (a late replay) or new. Every transaction with
        unwritten changes is in memory, so the database is complete for this one."""
        tx = s.get(Transaction, key)
        if tx is None:
            return None
        seen = set(s.scalars(select(TransactionEventSeen.seq_no).where(
            TransactionEventSeen.station == key[0], TransactionEventSeen.transaction_id == key[1])))
        state = TxState.of(tx, seen)
        self._index(state)
        return state

    # ---- changes ---------------------------------------------------------------------------
    def event(self, tx: TxState | None, key: TxKey, *, seq_no: int, event_type: str, timestamp: datetime,
              evse_id: int | None, id_token: str | None, ended: bool, stopped_reason: str | None) -> TxState | None:
        """Apply one TransactionEvent; None if (transaction, seqNo) was stored before."""
        if tx is not None and seq_no in tx.seen:
            return None
        if tx is None:
            tx = TxState(station=key[0], transaction_id=key[1], started_at=timestamp)
            self.new_txs.add(key)
            self.txs[key] = tx
        tx.seen.add(seq_no)
        self.events.append({"station": key[0], "transaction_id": key[1], "seq_no": seq_no,
                            "event_type": event_type, "timestamp": timestamp})
        if evse_id is not None and evse_id != tx.evse_id:
            self._unindex(tx)
            tx.evse_id = evse_id
        if id_token is not None:
            tx.id_token = id_token
        tx.last_seq_no = max(tx.last_seq_no, seq_no)
        if ended:
            self._unindex(tx)
            tx.ended_at = timestamp
            tx.stopped_reason = stopped_reason
        elif tx.ended_at is None and tx.evse_id is not None:
            self.open_on.setdefault((tx.station, tx.evse_id), {})[tx.transaction_id] = None
        self.dirty_txs.add(key)
        return tx

    def open_transaction(self, station: str, evse_id: int) -> str | None:
        on = self.open_on.get((station, evse_id))
        return None if not on else next(iter(on))

    def open_transactions(self) -> list[TxState]:
        return [tx for tx in list(self.txs.values()) if tx.ended_at is None]

    # ---- writing ---------------------------------------------------------------------------
    def write(self, s: Session) -> None:
        """Everything pending, in one database transaction (the caller commits)."""
        new = [self.txs[k].row() for k in self.dirty_txs if k in self.new_txs]
        known = [self.txs[k].row() for k in self.dirty_txs if k not in self.new_txs]
        if new:
            s.execute(insert(Transaction), new)
        if known:
            s.execute(update(Transaction), known)
        for table, rows in ((TransactionEventSeen.__table__, self.events), (MeterSample.__table__, self.samples),
                            (SentProfile.__table__, self.profiles)):
            if rows:
                s.execute(insert(cast(Table, table)), rows)  # Core: append-only rows need no ORM bookkeeping
        self.connectors.write(s, Connector)
        self.needs.write(s, ChargingNeeds)

    def written(self) -> None:
        """After the commit: forget the rows; ended transactions leave memory (the database has them)."""
        self.txs = {key: tx for key, tx in self.txs.items() if tx.ended_at is None}
        self.new_txs.clear()
        self.dirty_txs.clear()
        self.events, self.samples, self.profiles = [], [], []
        self.connectors.written()
        self.needs.written()
