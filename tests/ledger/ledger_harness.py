"""leadflow's real workers with a ledger, and waiting for the ledger to catch up."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from lead_harness import Harness, _no_connectors
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from temporalio.client import Client

from connectors.base import Connector
from ledger.activity import LedgerActivities
from ledger.models import FactRow
from ledger.writer import LedgerWriter
from worker import build_workers


@asynccontextmanager
async def ledger_worker(
    client: Client, engine: Engine, ledger: Callable[..., Any] | None = None,
    vendors: Sequence[str] = (), connectors: Callable[[str, str], Connector] = _no_connectors,
) -> AsyncIterator[Harness]:
    harness = Harness(client, f"ledger-{uuid.uuid4().hex[:8]}")
    activity = ledger or LedgerActivities(LedgerWriter(engine)).record_ledger
    with ThreadPoolExecutor(max_workers=8) as executor:
        workers = build_workers(client, harness.task_queue, vendors, connectors, executor,
                                ledger=activity)
        tasks = [asyncio.create_task(w.run()) for w in workers]
        try:
            yield harness
        finally:
            await harness.close()
            await asyncio.gather(*(w.shutdown() for w in workers))
            await asyncio.gather(*tasks, return_exceptions=True)


def count_facts(engine: Engine, **where: Any) -> int:
    query = select(func.count()).select_from(FactRow)
    for column, value in where.items():
        query = query.where(getattr(FactRow, column) == value)
    with Session(engine) as session:
        return int(session.scalar(query) or 0)


async def until(check: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.1)
