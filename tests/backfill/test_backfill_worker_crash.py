"""A worker killed (SIGKILL) in the middle of a backfill: its successor resumes from the last
heartbeat and every lead exists exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType

from emulators.run_all import env_for
from tests.support.backfill_helpers import epoch, seed_hubspot, window
from tests.support.lead_harness import until
from workflows.backfill import BackfillWorkflow
from workflows.backfill_models import BackfillInput

ROOT = Path(__file__).resolve().parents[2]
N = 1000  # five HubSpot pages of 200


def start_worker(dev_env, stack, task_queue: str, log: Path) -> subprocess.Popen[bytes]:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HUBSPOT_", "SALESFORCE_", "SEGMENT_", "LEADFLOW_"))}
    env |= env_for(stack.running) | {
        "LEADFLOW_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "LEADFLOW_TASK_QUEUE": task_queue, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "worker"], cwd=ROOT, env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


# Full size (minutes): `make test-long`; the other backfill tests are its short version in CI.
@pytest.mark.long
async def test_killed_worker_resumes_and_every_lead_exists_once(dev_env, stack, tmp_path):
    start = epoch(2025, 5, 1)
    prefix, emails = seed_hubspot(stack, N, start)
    client, task_queue, log = dev_env.client, f"crash-{uuid.uuid4().hex[:8]}", tmp_path / "worker.log"
    worker = start_worker(dev_env, stack, task_queue, log)
    try:
        handle = await client.start_workflow(
            BackfillWorkflow.run, BackfillInput.model_validate({"source": "hubspot", **window(start, N)}),
            id=f"backfill-{task_queue}", task_queue=task_queue)

        def written() -> int:
            return sum(1 for e in emails if stack.salesforce.lead_by_key(e))

        # Kill it once the server holds a heartbeat saying at least one page is done.
        await until(lambda: _heartbeated_pages(client, handle.id), timeout=90, every=0.2)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        assert written() < N, "the backfill finished before the worker could be killed"
        worker = start_worker(dev_env, stack, task_queue, log)
        result = await handle.result()
    finally:
        worker.kill()
        worker.wait()

    assert result.tally.failed == 0
    # Resumed from the heartbeated cursor: only the page in progress was redone (its leads
    # already started show up as unchanged), not everything the dead worker had done.
    assert result.tally.created + result.tally.unchanged == N
    assert result.tally.unchanged < 200, result.tally
    query = f"WorkflowType = 'LeadWorkflow' AND TaskQueue = '{task_queue}'"
    await until(lambda: _count(client, query, N))
    ids = [w.id async for w in client.list_workflows(query)]
    assert sorted(ids) == sorted(f"lead:{e}" for e in emails)  # every lead, each exactly once
    assert written() == N
    attempts = [e.activity_task_started_event_attributes.attempt
                async for e in handle.fetch_history_events()
                if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED]
    assert max(attempts) >= 2  # the page the dead worker held was retried on the new one


async def _count(client, query: str, expected: int) -> bool:  # type: ignore[no-untyped-def]
    return (await client.count_workflows(query)).count >= expected


async def _heartbeated_pages(client, workflow_id: str) -> int:  # type: ignore[no-untyped-def]
    """Pages the backfill activity's last heartbeat on the server says are done."""
    desc = await client.get_workflow_handle(workflow_id).describe()
    for pending in desc.raw_description.pending_activities:
        if pending.heartbeat_details.payloads:
            details = await client.data_converter.decode(pending.heartbeat_details.payloads)
            return int(details[0]["tally"]["pages"])
    return 0
