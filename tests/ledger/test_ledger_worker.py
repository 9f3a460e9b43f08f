"""The worker process (`leadflow worker`, `make run`) keeps a ledger without being asked to."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime

from sqlalchemy.exc import OperationalError

from config.settings import Settings
from ledger.engine import SQLITE_FILE, make_engine
from lifecycle.events import EventKind, LeadEvent, lead_workflow_id
from tests.support.lead_harness import until
from tests.support.ledger_harness import count_facts
from worker import run_workers
from workflows.lead_client import LeadClient


async def test_run_workers_records_facts_in_sqlite_under_the_data_dir(dev_env, tmp_path):
    address = dev_env.client.service_client.config.target_host
    settings = Settings(_env_file=None, LEADFLOW_TEMPORAL_ADDRESS=address,  # type: ignore[call-arg]
                        LEADFLOW_TASK_QUEUE=f"worker-{uuid.uuid4().hex[:8]}", LEADFLOW_DATA_DIR=str(tmp_path))
    stop = asyncio.Event()
    running = asyncio.create_task(run_workers(settings, stop))
    email = f"default-{uuid.uuid4().hex[:8]}@acme.io"
    engine = make_engine(f"sqlite:///{tmp_path / SQLITE_FILE}")

    def stages() -> int:
        with contextlib.suppress(OperationalError):  # no table until the worker's first write
            return count_facts(engine, kind="stage")
        return 0

    try:
        await LeadClient(dev_env.client, settings.task_queue).send_event(email, LeadEvent(
            event_id=uuid.uuid4().hex, kind=EventKind.DEMO_REQUESTED, occurred_at=datetime.now(UTC)))
        await until(lambda: stages() == 2, what="New Lead and MQL in the default ledger")
    finally:
        await dev_env.client.get_workflow_handle(lead_workflow_id(email)).terminate("test finished")
        stop.set()
        await running
        engine.dispose()
