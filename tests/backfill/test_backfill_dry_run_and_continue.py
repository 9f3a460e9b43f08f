"""A dry run reports what a backfill would do and writes nothing; a long backfill continues as
new every few pages, carrying its cursor and tally."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType

from tests.support.backfill_helpers import (
    count_workflows,
    epoch,
    record_history,
    run_backfill,
    seed_hubspot,
    window,
)
from tests.support.lead_harness import running_worker
from tests.support.vendor_stack import VENDORS

N = 450  # three HubSpot search pages of 200


async def test_dry_run_writes_nothing_then_the_backfill_continues_as_new_per_page(dev_env, stack):
    start = epoch(2025, 9, 1)
    _, emails = seed_hubspot(stack, N, start)
    client = dev_env.client
    async with running_worker(client, VENDORS, stack.connectors()) as h:
        upserts = stack.salesforce.calls["collections.upsert"]
        _, dry = await run_backfill(client, h.task_queue, **window(start, N), dry_run=True)
        assert (dry.dry_run, dry.tally.seen, dry.tally.created) == (True, N, N)
        assert stack.salesforce.calls["collections.upsert"] == upserts
        assert not stack.salesforce_lead(emails[0])
        query = f"WorkflowType = 'LeadWorkflow' AND TaskQueue = '{h.task_queue}'"
        assert await count_workflows(client, query) == 0

        handle, result = await run_backfill(client, h.task_queue, **window(start, N), pages_per_run=1)
        assert (result.tally.pages, result.tally.seen, result.tally.created) == (3, N, N)
        first_run = client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)
        events = [e.event_type async for e in first_run.fetch_history_events()]
        assert events[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        assert stack.salesforce.calls["collections.upsert"] - upserts == 3
        await record_history(first_run)
