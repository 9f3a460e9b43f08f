"""Seeding the HubSpot emulator, starting backfills and reading what they did."""

from __future__ import annotations

import os
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle

from workflows.backfill import BackfillWorkflow
from workflows.backfill_models import BackfillInput, BackfillResult

RECORD_DIR = os.environ.get("LEADFLOW_RECORD_HISTORIES")
MQL = {"lifecyclestage": "marketingqualifiedlead", "hs_lead_status": "OPEN"}


def seed_hubspot(stack: Any, count: int, start: datetime, step: timedelta = timedelta(seconds=1),
                 mql_every: int = 5) -> tuple[str, list[str]]:
    """`count` contacts modified from `start` on; every `mql_every`-th one is an MQL."""
    prefix = f"bf{uuid.uuid4().hex[:6]}-"
    records = stack.hubspot.seed_contacts(count, start, step, prefix=prefix)
    with stack.hubspot.lock:
        for i, record in enumerate(records):
            if mql_every and i % mql_every == 0:
                record.properties.update(MQL)
    return prefix, [r.properties["email"] for r in records]


def window(start: datetime, count: int, step: timedelta = timedelta(seconds=1)) -> dict[str, str]:
    return {"modified_after": start.isoformat(), "modified_before": (start + step * count).isoformat()}


async def run_backfill(client: Client, task_queue: str,
                       **fields: Any) -> tuple[WorkflowHandle, BackfillResult]:
    inp = BackfillInput.model_validate({"source": "hubspot", **fields})
    handle = await client.start_workflow(BackfillWorkflow.run, inp, id=f"backfill-{uuid.uuid4().hex[:8]}",
                                         task_queue=task_queue)
    return handle, await handle.result()


async def count_workflows(client: Client, query: str) -> int:
    return (await client.count_workflows(query)).count


async def record_history(handle: WorkflowHandle) -> None:
    """Saves a finished workflow's history for tests/replay (LEADFLOW_RECORD_HISTORIES=dir)."""
    if not RECORD_DIR:
        return
    test = os.environ.get("PYTEST_CURRENT_TEST", "unknown").split(" ")[0].split("::")[-1]
    name = re.sub(r"[^a-z0-9]+", "_", test.lower()).strip("_")
    history = await handle.fetch_history()
    Path(RECORD_DIR, f"{name}_0.json").write_text(history.to_json())


def epoch(year: int = 2025, month: int = 1, day: int = 1) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)
