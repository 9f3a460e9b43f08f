"""A Salesforce backfill: new leads start in their Salesforce stage and HubSpot is written in
batches; deletions and merges it finds close the leads as the webhook path does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connectors.base import LeadSnapshot
from emulators.salesforce.state import Save
from lifecycle.state import LeadState
from tests.support.backfill_helpers import run_backfill
from tests.support.lead_harness import running_worker, unique_email, until
from tests.support.vendor_stack import VENDORS
from workflows.lead_client import LeadClient


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

        leads = LeadClient(client, h.task_queue)
        merged = await until(lambda: leads.closure(duplicate), 30, what="the duplicate closes")
        deleted = await until(lambda: leads.closure(gone), 30, what="the deleted lead closes")
        assert merged.reason == f"merged into lead:{survivor}"
        assert (deleted.how, deleted.reason) == ("deleted", "deleted in salesforce")
        state = await client.get_workflow_handle(f"lead:{survivor}").query("state")
        assert LeadState.model_validate(state).has_seen(f"merge:lead:{duplicate}")


async def test_salesforce_backfill_starts_leads_and_writes_hubspot_in_batches(dev_env, stack):
    since = datetime.now(UTC) - timedelta(seconds=1)
    emails = [unique_email("sf") for _ in range(120)]
    salesforce = stack.connectors()("salesforce", "demo_led")
    rows = [LeadSnapshot(email=e, stage="SQL" if i % 2 else "New Lead") for i, e in enumerate(emails)]
    assert all(r.ok for r in salesforce.upsert_leads(rows))
    upserts = stack.hubspot.count("POST /crm/v3/objects/contacts/batch/upsert")
    async with running_worker(dev_env.client, VENDORS, stack.connectors()) as h:
        _, result = await run_backfill(dev_env.client, h.task_queue, source="salesforce",
                                       modified_after=since.isoformat())
        assert (result.tally.created, result.tally.failed) == (120, 0), result.tally
        # 120 contacts in two HubSpot batch upserts of at most 100
        assert stack.hubspot.count("POST /crm/v3/objects/contacts/batch/upsert") - upserts == 2
        assert stack.hubspot_contact(emails[1])["lead_stage"] == "SQL"
        assert stack.hubspot_contact(emails[1])["lifecyclestage"] == "salesqualifiedlead"
        state = await until(lambda: client_state(dev_env.client, emails[1]))  # once it has run
        assert state["stage"] == "SQL" and [c["cause"] for c in state["history"]] == ["imported"]


async def test_a_person_on_two_salesforce_pages_starts_one_lead_then_updates_it(dev_env, stack):
    """A rep saved a second Lead for the same person (past the duplicate alert), and the query
    returns one record per page. The backfill reads and describes the next page while it applies
    the one before: the person must still be started once, the later record an update."""
    since = datetime.now(UTC) - timedelta(seconds=1)
    email = unique_email("twice")
    salesforce = stack.connectors()("salesforce", "demo_led")
    assert all(r.ok for r in salesforce.upsert_leads([LeadSnapshot(email=email, stage="New Lead")]))
    _, errors = stack.salesforce.insert("Lead", {"LastName": "Again", "Company": "Acme", "Email": email,
                                                 "Status": "Nurturing"}, save=Save(allow_save=True))
    assert not errors
    stack.salesforce.query_batch_size = 1
    async with running_worker(dev_env.client, VENDORS, stack.connectors()) as h:
        _, result = await run_backfill(dev_env.client, h.task_queue, source="salesforce",
                                       modified_after=since.isoformat())
    assert result.tally.pages == 2, result.tally
    assert (result.tally.created, result.tally.updated + result.tally.pending,
            result.tally.failed) == (1, 1, 0), result.tally


async def client_state(client, email: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return await client.get_workflow_handle(f"lead:{email}").query("state")  # type: ignore[no-any-return]
