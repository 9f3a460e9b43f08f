"""A redelivery flood queued for one lead while no worker ran must not wedge it (issue 14).

Thousands of signals waiting for one lead reach the worker in a single workflow task. Deciding
them all there, each copying the whole state, ran past the workflow task timeout on every attempt
(TMPRL1101): the lead answered no query and applied nothing, for ever. Runs on the dev server,
which also suggests continue-as-new long before this backlog is worked off.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.service import RPCError

from lifecycle.events import EventKind, LeadEvent, lead_workflow_id
from lifecycle.state import LeadState
from tests.support.lead_harness import Harness, unique_email, until, workers_on
from workflows.lead import LeadWorkflow
from workflows.lead_client import LeadClient

DISTINCT = 2000
REDELIVERED = 1000  # the oldest events again, as a sender retrying for hours does


def _visit(event_id: str) -> LeadEvent:
    return LeadEvent(event_id=event_id, kind=EventKind.PRICING_VISIT, name="Pricing Page Viewed",
                     occurred_at=datetime.now(UTC), properties={"utm_source": "ads"})


# A wedged lead also hangs the worker's shutdown (it cannot evict the workflow): fail, not hang.
@pytest.mark.timeout(90)
async def test_a_redelivery_flood_queued_while_the_worker_was_down_is_worked_off(dev_env):
    client, queue = dev_env.client, f"test-flood-{uuid.uuid4().hex[:8]}"
    harness = Harness(client, queue)
    email = unique_email("flood")
    ids = [uuid.uuid4().hex for _ in range(DISTINCT)]
    # No worker yet: the first event starts the lead, and every signal waits in its history.
    first = await LeadClient(client, queue).send_event(email, _visit(ids[0]))
    lead = client.get_workflow_handle(lead_workflow_id(email))
    harness.handles.append(lead)
    gate = asyncio.Semaphore(64)

    async def send(event_id: str) -> None:
        async with gate:
            await lead.signal(LeadWorkflow.on_event, _visit(event_id))

    try:
        await asyncio.gather(*(send(i) for i in [*ids[1:], *ids[:REDELIVERED]]))
        async with workers_on(client, queue):
            async def answers() -> LeadState | None:
                try:
                    return await lead.query(LeadWorkflow.state, rpc_timeout=timedelta(seconds=5))
                except RPCError:  # a workflow task that cannot finish fails the query with it
                    return None

            state = await until(answers, timeout=15, what="the flooded lead answers a query")
            assert state.email == email

            async def applied() -> int | None:
                now = await lead.query(LeadWorkflow.state)
                return now.events_applied if now.events_applied >= DISTINCT else None

            assert await until(applied, timeout=25, what="every distinct event applied") == DISTINCT
            async def continued() -> bool:
                return (await lead.describe()).run_id != first.result_run_id

            await until(continued, timeout=15, what="the worked-off run continued as new")
            assert (await lead.query(LeadWorkflow.state)).events_applied == DISTINCT
            stuck = [e.event_type async for e in first.fetch_history_events()
                     if e.event_type in (EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
                                         EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED)]
            assert not stuck, f"the first run's workflow tasks failed: {stuck[:3]}"
    finally:
        await harness.close()
