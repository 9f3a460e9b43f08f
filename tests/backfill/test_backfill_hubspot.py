"""A HubSpot backfill: every contact becomes one lead, the other vendors are written in batches,
and running it again changes nothing."""

from __future__ import annotations

import math

import pytest

from tests.support.backfill_helpers import count_workflows, epoch, run_backfill, seed_hubspot, window
from tests.support.lead_harness import running_worker, until
from tests.support.vendor_stack import VENDORS
from workflows.lead_client import LeadClient

N = 2_500


def vendor_calls(stack) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {"hubspot_upserts": stack.hubspot.count("POST /crm/v3/objects/contacts/batch/upsert"),
            "salesforce": sum(stack.salesforce.calls.values()),
            "salesforce_upserts": stack.salesforce.calls["collections.upsert"],
            "segment": sum(stack.segment.calls.values())}


# Full size (minutes): `make test-long`; the other backfill tests are its short version in CI.
@pytest.mark.long
async def test_backfill_creates_one_lead_per_contact_and_writes_vendors_in_batches(dev_env, stack):
    start = epoch(2025, 1, 1)
    prefix, emails = seed_hubspot(stack, N, start)
    client = dev_env.client
    async with running_worker(client, VENDORS, stack.connectors()) as h:
        before = vendor_calls(stack)
        _, first = await run_backfill(client, h.task_queue, **window(start, N))
        after_first = vendor_calls(stack)

        assert (first.tally.seen, first.tally.created, first.tally.failed) == (N, N, 0), first.tally
        query = f"WorkflowType = 'LeadWorkflow' AND TaskQueue = '{h.task_queue}'"
        await until(lambda: _all(client, query))
        pages = math.ceil(N / 200)
        # One Salesforce collection upsert per page of 200, no HubSpot writes (it is the source),
        # and Segment in batches: nowhere near one call per lead.
        assert after_first["salesforce_upserts"] - before["salesforce_upserts"] == pages
        assert after_first["hubspot_upserts"] == before["hubspot_upserts"]
        assert 0 < after_first["segment"] - before["segment"] <= 2 * N / 100 + pages
        assert stack.hubspot.statuses[429] == 0
        assert stack.salesforce.api_usage < stack.salesforce.daily_limit
        assert stack.salesforce_lead(emails[1])["Lead_Stage__c"] == "New Lead"
        assert stack.salesforce_lead(emails[0])["Lead_Stage__c"] == "MQL"
        assert stack.segment_traits(emails[0])["lead_stage"] == "MQL"

        # Once every lead has run (and shows its stage), a second backfill finds nothing to do.
        settled = f"{query} AND LeadStage IN ('New Lead', 'MQL')"
        await until(lambda: _all(client, settled), timeout=180, every=1)
        leads = LeadClient(client, h.task_queue)
        mql = await leads.state(emails[0])
        assert mql.stage == "MQL" and [c.cause for c in mql.history] == ["imported"]
        assert not mql.sync_errors
        _, second = await run_backfill(client, h.task_queue, **window(start, N))
        assert (second.tally.created, second.tally.updated, second.tally.unchanged) == (0, 0, N)
        # ...and the leads themselves wrote nothing: the backfill had told them what was synced.
        assert vendor_calls(stack)["salesforce_upserts"] == after_first["salesforce_upserts"]
        assert vendor_calls(stack)["segment"] == after_first["segment"]
        assert await count_workflows(client, query) == N
        again = await leads.state(emails[0])
        assert len(again.history) == 1 and again.events_applied == mql.events_applied


async def _all(client, query: str) -> bool:  # type: ignore[no-untyped-def]
    return await count_workflows(client, query) == N
