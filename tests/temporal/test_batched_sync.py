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


async def ten_new_mqls(client, harness, prefix: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Ten new leads request a demo at once: each becomes an MQL routed to an SDR."""
    leads = LeadClient(client, harness.task_queue)
    emails = [unique_email(prefix) for _ in range(10)]
    await asyncio.gather(*(leads.send_event(e, fact("demo_requested")) for e in emails))
    harness.handles += [client.get_workflow_handle(f"lead:{e}") for e in emails]
    return emails


def salesforce_tasks(stack, email: str) -> list:  # type: ignore[no-untyped-def,type-arg]
    lead = stack.salesforce_lead(email)
    return [t for t in stack.salesforce.select("Task", False) if lead and t.get("WhoId") == lead["Id"]]


async def test_owner_tasks_go_in_batches_to_the_record_the_upsert_named(dev_env, stack):
    """Ten new MQLs notify their SDR: the tasks attach to the contact / Lead ids their upserts
    answered, in batch requests, with no lookup by email."""
    hs_lookups, hs_single, hs_batches = ("GET /crm/v3/objects/contacts/{id}",
                                         "POST /crm/v3/objects/tasks",
                                         "POST /crm/v3/objects/tasks/batch/create")
    for email, name in (("ana.sdr@example.com", "Ana Sdr"), ("sam.sdr@example.com", "Sam Sdr")):
        if not stack.salesforce.find("User", "Email", email):  # the SDRs have Salesforce users
            stack.salesforce.add_user(email, name)
    before_hs = {e: stack.hubspot.count(e) for e in (hs_lookups, hs_single, hs_batches)}
    before_sf = dict(stack.salesforce.calls)
    async with running_worker(dev_env.client, VENDORS, stack.connectors()) as h:
        emails = await ten_new_mqls(dev_env.client, h, "task")

        def hubspot_tasks(email: str) -> list:  # type: ignore[type-arg]
            contact = stack.hubspot.contact(email)
            return [t for t in stack.hubspot.records("tasks")
                    if contact and contact.id in t.associations.get("contacts", set())]

        for email in emails:
            await until(lambda e=email: hubspot_tasks(e) and salesforce_tasks(stack, e),
                        what=f"{email}'s tasks in HubSpot and Salesforce")
        assert all(len(hubspot_tasks(e)) == 1 and len(salesforce_tasks(stack, e)) == 1 for e in emails)

    assert stack.hubspot.count(hs_lookups) == before_hs[hs_lookups]
    assert stack.hubspot.count(hs_single) == before_hs[hs_single]
    assert 1 <= stack.hubspot.count(hs_batches) - before_hs[hs_batches] < 10
    sf = {k: v - before_sf.get(k, 0) for k, v in stack.salesforce.calls.items()}
    assert sf.get("Lead.get_by_external_id", 0) == 0 and sf.get("Task.create", 0) == 0
    assert 1 <= sf.get("collections.create", 0) < 10


async def test_salesforce_tasks_for_an_sdr_with_no_salesforce_user_go_in_batches(dev_env):
    """The SDRs are HubSpot owners with no Salesforce user: each Salesforce task goes to its Lead's
    owner (as the org's assignment rule set it) in batch requests, with the Leads' owners read in
    one query per batch. It used to take three requests a lead (two queries and a Task create)."""
    with vendor_stack() as fresh:
        assert not fresh.salesforce.find("User", "Email", "ana.sdr@example.com")
        before = dict(fresh.salesforce.calls)
        async with running_worker(dev_env.client, VENDORS, fresh.connectors()) as h:
            emails = await ten_new_mqls(dev_env.client, h, "unowned")
            for email in emails:
                await until(lambda e=email: salesforce_tasks(fresh, e), what=f"{email}'s Salesforce task")
            for email in emails:
                [task] = salesforce_tasks(fresh, email)
                assert task["OwnerId"] == fresh.salesforce_lead(email)["OwnerId"]
        sf = {k: v - before.get(k, 0) for k, v in fresh.salesforce.calls.items()}
        assert sf.get("Task.create", 0) == 0
        assert 1 <= sf.get("collections.create", 0) < 10
        # one adoption query per upsert batch, a key lookup and an owner read per task batch,
        # and the new team router's one reading of the org's Users
        assert sf.get("query", 0) <= sf["collections.upsert"] + 2 * sf["collections.create"] + 1
