"""Writes ledger entries as facts, idempotently: a retried batch inserts nothing twice."""

from __future__ import annotations

import threading

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from ledger.engine import migrate
from ledger.facts import Fact, facts_for
from ledger.models import FactRow
from lifecycle.ledger_entry import LedgerEntry

_KEY = ["lead_id", "seq", "idx"]


class LedgerWriter:
    """Migrates the schema on first use, so a worker starts even while the database is down."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._ready = False
        self._lock = threading.Lock()

    def write(self, entries: list[LedgerEntry]) -> int:
        """Records the entries' facts in one transaction; returns how many rows were new."""
        self._migrate_once()
        if not entries:
            return 0
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        with self.engine.begin() as conn:
            owners = self._owners_before(conn, entries)
            facts: list[Fact] = []
            for entry in sorted(entries, key=lambda e: (e.lead_id, e.seq)):
                facts += facts_for(entry, owners.get(entry.lead_id))
                owners[entry.lead_id] = entry.owner
            if not facts:
                return 0
            stmt = insert(FactRow).on_conflict_do_nothing(index_elements=_KEY).returning(FactRow.id)
            return len(conn.execute(stmt, [f.as_row() for f in facts]).all())

    def _migrate_once(self) -> None:
        with self._lock:
            if not self._ready:
                migrate(self.engine)
                self._ready = True

    @staticmethod
    def _owners_before(conn, entries: list[LedgerEntry]) -> dict[str, str | None]:  # type: ignore[no-untyped-def]
        """Each lead's owner as the ledger last recorded it before this batch (owner changes are
        derived from consecutive entries)."""
        owners: dict[str, str | None] = {}
        for lead_id in {e.lead_id for e in entries}:
            first = min(e.seq for e in entries if e.lead_id == lead_id)
            owners[lead_id] = conn.execute(
                select(FactRow.owner).where(FactRow.lead_id == lead_id, FactRow.seq < first)
                .order_by(FactRow.seq.desc(), FactRow.idx.desc()).limit(1)).scalar()
        return owners
