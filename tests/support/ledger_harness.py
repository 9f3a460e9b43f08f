"""leadflow's real workers with a ledger, and waiting for the ledger to catch up."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from temporalio.client import Client

from activities.ledger import LedgerActivities
from config.playbook_catalog import PlaybookCatalog
from connectors.base import Connector
from ledger.models import FactRow
from ledger.writer import LedgerWriter
from tests.support.lead_harness import Harness, _no_connectors, running_worker


@asynccontextmanager
async def ledger_worker(
    client: Client, engine: Engine, ledger: Callable[..., Any] | None = None,
    vendors: Sequence[str] = (), connectors: Callable[[str, str], Connector] = _no_connectors,
    catalog: PlaybookCatalog | None = None,
) -> AsyncIterator[Harness]:
    """The real workers, writing the ledger to `engine` (or through the `ledger` activity given)."""
    activity = ledger or LedgerActivities(LedgerWriter(engine)).record_ledger
    async with running_worker(client, vendors, connectors, ledger=activity, catalog=catalog) as harness:
        yield harness


def count_facts(engine: Engine, **where: Any) -> int:
    query = select(func.count()).select_from(FactRow)
    for column, value in where.items():
        query = query.where(getattr(FactRow, column) == value)
    with Session(engine) as session:
        return int(session.scalar(query) or 0)


