"""No input wedges a lead or grows it without bound (issue 14): a redelivery flood queued while
no worker ran, and events that keep inventing property names.

Thousands of signals waiting for one lead reach the worker in a single workflow task. Deciding
them all in one activation, each copying the whole state, overran the SDK's deadlock detector
(TMPRL1101, 2 s) on every attempt: the lead answered no query and applied nothing, for ever.
Runs on the dev server, which also suggests continue-as-new long before this backlog is worked
off.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.service import RPCError

from config.playbook_loader import stock_playbook
from lifecycle.events import EventKind, LeadEvent, lead_workflow_id
from lifecycle.fields import MAX_OTHER_FIELDS, known_fields
from lifecycle.state import LeadState
from tests.support.lead_harness import Harness, running_worker, unique_email, until, workers_on
from workflows.lead import LeadWorkflow
from workflows.lead_client import LeadClient

DISTINCT = 2000
REDELIVERED = 1000  # the oldest events again, as a sender retrying for hours does


def _visit(event_id: str, **props: str) -> LeadEvent:
    return LeadEvent(event_id=event_id, kind=EventKind.PRICING_VISIT, name="Pricing Page Viewed",
                     occurred_at=datetime.now(UTC), properties={"utm_source": "ads", **props})


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


async def test_ever_new_property_names_do_not_grow_a_lead_without_bound(dev_env):
    """Each event may bring property names no event had before; the lead keeps its playbook's
    fields and at most MAX_OTHER_FIELDS others, and says how many it did not keep."""
    async with running_worker(dev_env.client) as h:
        leads = LeadClient(dev_env.client, h.task_queue)
        email = unique_email("props")
        for batch in range(3):
            props = {f"tracker_{batch}_{i}": "x" * 30 for i in range(40)}
            await leads.send_event(email, _visit(uuid.uuid4().hex, **props))
        h.handles.append(dev_env.client.get_workflow_handle(lead_workflow_id(email)))
        await leads.send_event(email, _visit(uuid.uuid4().hex, use_case="forecasting"))

        async def settled() -> LeadState | None:
            state = await leads.state(email)
            return state if state and state.events_applied == 4 else None

        state = await until(settled, timeout=20, what="all four events applied")
        others = [k for k in state.fields if k not in known_fields(stock_playbook("demo_led"))]
        assert len(others) == MAX_OTHER_FIELDS and "utm_source" in others
        assert state.dropped_fields == 120 + 1 - MAX_OTHER_FIELDS
        assert state.fields["use_case"] == "forecasting"
