"""The replay tests' sandbox is a real determinism guard (issue 16: workers run workflow code
unsandboxed, so this is where a workflow reaching for the clock is caught). leadflow's own
packages are not passed through it: a module passed through keeps the real `datetime`."""

from __future__ import annotations

import uuid

from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.replay.clock_workflow import ReadsTheClock
from tests.support.lead_harness import until
from worker import PASSED_THROUGH, SANDBOX


def test_no_leadflow_package_is_passed_through_the_guard() -> None:
    ours = {"workflows", "lifecycle", "config", "connectors", "activities", "ingest", "privacy"}
    assert not {m.split(".")[0] for m in PASSED_THROUGH} & ours


async def test_the_guard_fails_a_workflow_task_that_reads_the_clock(dev_env: WorkflowEnvironment) -> None:
    queue = f"guard-{uuid.uuid4().hex[:6]}"
    async with Worker(dev_env.client, task_queue=queue, workflows=[ReadsTheClock],
                      workflow_runner=SANDBOX):
        handle = await dev_env.client.start_workflow(ReadsTheClock.run, id=queue, task_queue=queue)

        async def task_failure() -> str | None:
            async for event in handle.fetch_history_events():
                if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                    return event.workflow_task_failed_event_attributes.failure.message
            return None

        failure = await until(task_failure, timeout=10, what="a failed workflow task")
        await handle.terminate("guard checked")
    assert "Cannot access datetime.datetime.now" in failure
