"""Changes people make in the CRMs: adopted, echoes ignored, conflicts written back, merges, deletions."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.lead_harness import fact, running_worker, unique_email, until
from tests.support.vendor_stack import VENDORS, vendor_stack
from workflows.lead_client import LeadClient
from workflows.lead_models import LeadCommand


@pytest.fixture(scope="module")
def stack():
    with vendor_stack() as running:
        yield running


def crm_change(system: str, stage: str, actor: str = "rep@acme.io"):  # type: ignore[no-untyped-def]
    event = fact("crm_stage_changed", stage=stage, system=system)
    return event.model_copy(update={"actor": actor})


async def test_rep_change_is_adopted_without_a_write_back_loop(dev_env, stack):
    async with running_worker(dev_env.client, VENDORS, stack.connectors()) as h:
        leads = LeadClient(dev_env.client, h.task_queue)
        email = unique_email("rep")
        await leads.send_event(email, fact("demo_requested"))
        await leads.command(email, LeadCommand(kind="confirm_sql",
                                               properties={"use_case": "x", "timeline": "Q2"}))
        h.handles.append(dev_env.client.get_workflow_handle(f"lead:{email}"))
        await until(lambda: stack.salesforce_lead(email).get("Lead_Stage__c") == "SQL")

        lead_id = stack.salesforce_lead(email)["Id"]
        stack.salesforce.rep_set_status(lead_id, "Working", Lead_Stage__c="Demo Scheduled")
        await leads.send_event(email, crm_change("salesforce", "Demo Scheduled", "sam@acme.io"))
        await until(lambda: stack.hubspot_contact(email).get("lead_stage") == "Demo Scheduled")
        state = await leads.state(email)
        assert state.stage == "Demo Scheduled"
        assert (state.history[-1].cause, state.history[-1].actor) == ("crm_stage_changed", "sam@acme.io")

        writes = stack.salesforce.calls["collections.upsert"]
        for _ in range(3):  # the CRM keeps reporting the stage leadflow now also holds
            await leads.send_event(email, crm_change("salesforce", "Demo Scheduled", "flow"))
        await asyncio.sleep(1.5)
        assert stack.salesforce.calls["collections.upsert"] == writes
        assert len((await leads.state(email)).history) == len(state.history)


async def test_disallowed_crm_change_is_written_back_when_leadflow_wins(dev_env, stack):
    async with running_worker(dev_env.client, VENDORS, stack.connectors()) as h:
        leads = LeadClient(dev_env.client, h.task_queue)
        email = unique_email("conflict")
        handle = await h.start_lead(email)
        await until(lambda: stack.hubspot_contact(email).get("lead_stage") == "New Lead")
        contact = stack.hubspot.contact(email)
        contact.properties["lead_stage"] = "Opportunity Created"  # a person jumps ahead in HubSpot
        await leads.send_event(email, crm_change("hubspot", "Opportunity Created"))
        await until(lambda: stack.hubspot_contact(email).get("lead_stage") == "New Lead")
        assert (await leads.state(email)).stage == "New Lead"
        assert handle.id == f"lead:{email}"


async def test_merge_keeps_one_timeline(dev_env):
    async with running_worker(dev_env.client) as h:
        leads = LeadClient(dev_env.client, h.task_queue)
        merged, survivor = unique_email("dupe"), unique_email("keep")
        await h.start_lead(merged)
        await h.start_lead(survivor)
        await leads.send_event(merged, fact("demo_requested"))
        await leads.command(merged, LeadCommand(kind="snooze"))
        await leads.send_event(survivor, fact("pricing_visit"))

        await leads.merge(merged, survivor, actor="hubspot:merge")
        closed = await until(lambda: leads.closure(merged), what="the merged lead closes")
        assert (closed.how, closed.survivor, closed.reason) == (
            "merged", survivor, f"merged into lead:{survivor}")
        state = await leads.state(survivor)
        stages = [(c.to_stage, c.cause) for c in state.history]
        assert ("MQL", f"demo_requested (from {merged})") in stages
        assert ("Nurture", f"snooze (from {merged})") in stages
        assert stages[-1] == ("New Lead", "merged")
        assert state.follow_up is not None  # the merged lead's nurture follow-up came along
        # 30 demo request + 15 pricing visit, under the intent cap of 40, + 5 for a business email
        assert state.score == 45


async def test_deletion_closes_the_lead_with_its_reason(dev_env):
    async with running_worker(dev_env.client) as h:
        leads = LeadClient(dev_env.client, h.task_queue)
        email = unique_email("gone")
        handle = await h.start_lead(email)
        await leads.delete(email, "GDPR request", actor="hubspot")
        closed = await until(lambda: leads.closure(email), what="the lead closes")
        assert (closed.how, closed.reason, closed.actor) == ("deleted", "GDPR request", "hubspot")
        assert (await leads.state(email)).stage == "New Lead"  # kept as it was
        history = [e async for e in handle.fetch_history_events()]
        assert history  # the timeline stays readable in Temporal
