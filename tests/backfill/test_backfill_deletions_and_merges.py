"""Deletions and merges a Salesforce backfill finds close the leads as the webhook path does."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from backfill_helpers import run_backfill, until
from lead_harness import running_worker, unique_email
from vendor_stack import VENDORS

from workflows.lead_models import LeadClosed


async def test_salesforce_deletion_and_merge_close_their_leads(dev_env, stack):
    client = dev_env.client
    async with running_worker(client, VENDORS, stack.connectors()) as h:
        survivor, duplicate, gone = (unique_email(p) for p in ("keep", "dupe", "gone"))
        handles = {e: await h.start_lead(e) for e in (survivor, duplicate, gone)}
        await until(lambda: all(stack.salesforce_lead(e) for e in handles))
        since = datetime.now(UTC) - timedelta(seconds=1)
        ids = {e: stack.salesforce_lead(e)["Id"] for e in handles}
        stack.salesforce.merge_leads(ids[survivor], ids[duplicate])
        stack.salesforce.delete("Lead", ids[gone])

        _, result = await run_backfill(client, h.task_queue, source="salesforce",
                                       modified_after=since.isoformat())
        assert (result.tally.merged, result.tally.deleted, result.tally.failed) == (1, 1, 0), result.tally

        merged = await asyncio.wait_for(handles[duplicate].result(), 30)
        deleted = await asyncio.wait_for(handles[gone].result(), 30)
        assert LeadClosed.model_validate(merged).outcome == f"merged into lead:{survivor}"
        assert LeadClosed.model_validate(deleted).outcome == "deleted: deleted in salesforce"
        state = await client.get_workflow_handle(f"lead:{survivor}").query("state")
        assert any(f"merge:lead:{duplicate}" == s for s in state["seen_event_ids"])
