"""Runs leadflow's real workers against a test Temporal environment."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from config.playbook_catalog import PlaybookCatalog
from config.playbook_loader import stock_playbook
from connectors.base import Connector
from lifecycle.events import EventKind, LeadEvent, lead_workflow_id
from worker import running_workers
from workflows.lead import LeadWorkflow
from workflows.lead_models import LeadInput

RECORD_DIR = os.environ.get("LEADFLOW_RECORD_HISTORIES")


def _no_connectors(vendor: str, playbook: str) -> Connector:
    raise AssertionError(f"no vendor configured in this test, yet {vendor} was called")


class Harness:
    """A fresh task queue served by leadflow's workers; leads started here end with the block."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self.client, self.task_queue = client, task_queue
        self.handles: list[WorkflowHandle] = []

    async def start_lead(self, email: str, playbook: str = "demo_led", pin: bool = True,
                         **fields: str) -> WorkflowHandle:
        inp = LeadInput(email=email, playbook_name=playbook, fields=fields,
                        playbook=stock_playbook(playbook) if pin else None)
        handle = await self.client.start_workflow(LeadWorkflow.run, inp, id=lead_workflow_id(email),
                                                  task_queue=self.task_queue)
        self.handles.append(handle)
        return handle

    async def close(self) -> None:
        if RECORD_DIR:
            await self._record()
        await terminate_all(self.handles)

    async def _record(self) -> None:
        """Saves each lead's history for the replay test (LEADFLOW_RECORD_HISTORIES=dir)."""
        test = os.environ.get("PYTEST_CURRENT_TEST", "unknown").split(" ")[0]
        name = re.sub(r"[^a-z0-9]+", "_", test.split("::")[-1].lower()).strip("_")
        for i, handle in enumerate(self.handles):
            history = await handle.fetch_history()
            Path(RECORD_DIR, f"{name}_{i}.json").write_text(history.to_json())
            if history.events[0].workflow_execution_started_event_attributes.continued_execution_run_id:
                first = self.client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)
                first_history = await first.fetch_history()
                Path(RECORD_DIR, f"{name}_{i}_first_run.json").write_text(first_history.to_json())


async def terminate_all(handles: Sequence[WorkflowHandle], at_once: int = 32) -> None:
    """Ends each workflow (already closed ones are fine), a few dozen requests in flight at a
    time rather than one round trip after another."""
    gate = asyncio.Semaphore(at_once)

    async def end(handle: WorkflowHandle) -> None:
        async with gate:
            with contextlib.suppress(RPCError):
                await handle.terminate("test finished")

    await asyncio.gather(*(end(h) for h in handles))


@asynccontextmanager
async def workers_on(
    client: Client,
    task_queue: str,
    vendors: Sequence[str] = (),
    connectors: Callable[[str, str], Connector] = _no_connectors,
    ledger: Callable[..., Any] | None = None,
    omit_search_attributes: Sequence[str] = (),
    catalog: PlaybookCatalog | None = None,
    accounts: bool = False,
) -> AsyncIterator[None]:
    """leadflow's real workers polling `task_queue` (and its vendor queues) for the block;
    `catalog`: the playbooks they serve (default: the stock ones)."""
    with ThreadPoolExecutor(max_workers=8) as executor:
        async with running_workers(client, task_queue, vendors, connectors, executor, ledger=ledger,
                                   omit_search_attributes=omit_search_attributes, catalog=catalog,
                                   accounts=accounts):
            yield


@asynccontextmanager
async def running_worker(
    client: Client,
    vendors: Sequence[str] = (),
    connectors: Callable[[str, str], Connector] = _no_connectors,
    ledger: Callable[..., Any] | None = None,
    omit_search_attributes: Sequence[str] = (),
    catalog: PlaybookCatalog | None = None,
    accounts: bool = False,
) -> AsyncIterator[Harness]:
    """Workers on a fresh task queue; the leads started through the harness end with the block.
    `accounts`: leads report to AccountWorkflows (off unless a test is about accounts)."""
    harness = Harness(client, f"test-{uuid.uuid4().hex[:8]}")
    async with workers_on(client, harness.task_queue, vendors, connectors, ledger,
                          omit_search_attributes, catalog, accounts):
        try:
            yield harness
        finally:
            await harness.close()


async def until(check: Callable[[], Any], timeout: float = 60.0, every: float = 0.2,
                what: str = "") -> Any:
    """Polls `check` (plain or async) until it returns something true, and returns that."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true after {timeout}s: {what or check.__doc__ or check}")
        await asyncio.sleep(every)


def unique_email(prefix: str = "lead") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@acme.io"


def fact(kind: str, **props: str) -> LeadEvent:
    return LeadEvent(event_id=uuid.uuid4().hex, kind=EventKind(kind),
                     occurred_at=datetime.now(UTC), properties=props)


async def settled(count: Callable[[], Any], quiet: float = 1.0) -> Any:
    """The value of `count()` once it stopped changing for `quiet` seconds."""
    last = count()
    while True:
        await asyncio.sleep(quiet)
        if (now := count()) == last:
            return now
        last = now
