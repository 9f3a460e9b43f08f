"""Many leads' syncs share vendor batch requests, and each lead still answers only for itself."""

from __future__ import annotations

import asyncio

import pytest

from activities.sync import SyncActivities
from connectors.base import LeadSnapshot
from tests.support.lead_harness import fact, running_worker, unique_email, until
from tests.support.vendor_stack import VENDORS, vendor_stack
from workflows.lead_client import LeadClient


@pytest.fixture(scope="module")
def stack():
    with vendor_stack() as running:
        yield running


def sf_upserts(stack) -> int:  # type: ignore[no-untyped-def]
    return stack.salesforce.calls["collections.upsert"]


async def test_a_refused_record_fails_only_its_own_lead(dev_env, stack):
    """Twelve new MQLs at once share Salesforce's requests; the one whose company name is
    longer than Salesforce's Company field allows is refused alone and says so."""
    async with running_worker(dev_env.client, VENDORS, stack.connectors()) as h:
        leads = LeadClient(dev_env.client, h.task_queue)
        good = [unique_email("batch") for _ in range(11)]
        bad = unique_email("toolong")
        before = sf_upserts(stack)
        await asyncio.gather(*(leads.send_event(email, fact("demo_requested", company="Acme"))
                               for email in good),
                             leads.send_event(bad, fact("demo_requested", company="A" * 300)))
        h.handles += [dev_env.client.get_workflow_handle(f"lead:{e}") for e in (*good, bad)]

        for email in good:
            await until(lambda e=email: stack.salesforce_lead(e).get("Lead_Stage__c") == "MQL")
        errors = await until(lambda: _errors(leads, bad))
        assert "STRING_TOO_LONG" in errors["salesforce"] and bad in errors["salesforce"]
        assert stack.salesforce_lead(bad) == {}
        await until(lambda: stack.hubspot_contact(bad).get("lead_stage") == "MQL")  # others go on
        for email in good:
            assert (await leads.state(email)).sync_errors.get("salesforce") is None
        # Twelve leads, each written at MQL and again once routing names the owner: far fewer
        # Salesforce requests than lead syncs.
        assert sf_upserts(stack) - before < 12


async def _errors(leads: LeadClient, email: str) -> dict[str, str] | None:
    errors = (await leads.state(email)).sync_errors
    return errors if "salesforce" in errors else None


async def test_one_hubspot_batch_mixes_creates_updates_and_a_backward_move(stack):
    """A new contact, an update, and a lead moved back from SQL to Nurture (HubSpot's
    lifecyclestage must be cleared first) handed in together land as one batch, each right."""
    connectors = stack.connectors()
    sync = SyncActivities(connectors)
    hubspot = sync.upserts("hubspot", "demo_led")
    existing, backward, new = (unique_email(p) for p in ("upd", "back", "new"))
    await asyncio.gather(hubspot.submit(LeadSnapshot(email=existing, stage="MQL")),
                         hubspot.submit(LeadSnapshot(email=backward, stage="SQL")))
    upserts = stack.hubspot.count("POST /crm/v3/objects/contacts/batch/upsert")

    results = await asyncio.gather(
        hubspot.submit(LeadSnapshot(email=new, stage="MQL", score=40)),
        hubspot.submit(LeadSnapshot(email=existing, stage="SQL", previous_stage="MQL", score=70)),
        hubspot.submit(LeadSnapshot(email=backward, stage="Nurture", previous_stage="SQL")))

    assert [r.ok for r in results] == [True, True, True]
    assert len({r.record_id for r in results}) == 3
    assert stack.hubspot_contact(new)["lifecyclestage"] == "marketingqualifiedlead"
    assert stack.hubspot_contact(existing)["lifecyclestage"] == "salesqualifiedlead"
    assert stack.hubspot_contact(existing)["lead_score"] == "70"
    assert stack.hubspot_contact(backward)["lifecyclestage"] == "lead"
    assert stack.hubspot_contact(backward)["hs_lead_status"] == "BAD_TIMING"
    # one request clears the backward lead's lifecyclestage, one writes all three
    assert stack.hubspot.count("POST /crm/v3/objects/contacts/batch/upsert") - upserts == 2
