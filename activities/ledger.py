"""The `record_ledger` activity: the lead workflow's ledger entries, written as facts.

A database outage makes it raise; Temporal retries it (LEDGER_RETRY) until the ledger is back,
and the workflow never waits on it before syncing vendors.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from config.settings import Settings
from ledger.engine import database_url, make_engine
from ledger.writer import LedgerWriter
from lifecycle.ledger_entry import LedgerBatch
from workflows.lead_models import RECORD_LEDGER


class LedgerActivities:
    def __init__(self, writer: LedgerWriter) -> None:
        self._writer = writer

    @activity.defn(name=RECORD_LEDGER)
    def record_ledger(self, batch: LedgerBatch) -> int:
        try:
            written = self._writer.write(batch.entries)
        except SQLAlchemyError as exc:
            # Short and retryable: the whole driver traceback would exceed Temporal's failure size.
            first = str(exc).splitlines()[0][:500]
            raise ApplicationError(f"ledger database unavailable: {first}",
                                   type="LedgerUnavailable") from None
        activity.logger.debug("ledger: %d of %d entries' facts new", written, len(batch.entries))
        return written


def ledger_activity(settings: Settings) -> Callable[[LedgerBatch], int]:
    """The worker's ledger activity on the configured database (schema migrated on first write)."""
    return LedgerActivities(LedgerWriter(make_engine(database_url(settings)))).record_ledger
