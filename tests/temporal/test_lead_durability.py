"""Nothing a lead was asked to do is lost: work pending when a run continues-as-new, syncs of
every changed field, and each vendor syncing on its own (issue 14).

These run on the dev server (it suggests continue-as-new past 120 history events) with
leadflow's real workers and the three vendor emulators.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from lifecycle.events import EventKind, LeadEvent, lead_workflow_id
from tests.support.lead_harness import running_worker, unique_email, until
from tests.support.vendor_stack import VENDORS, vendor_stack
from workflows.lead_client import LeadClient

SDR = "ana.sdr@example.com"
SDR_HUBSPOT_ID = "101"


def fact(kind: str, **props: str) -> LeadEvent:
    return LeadEvent(event_id=uuid.uuid4().hex, kind=EventKind(kind),
                     occurred_at=datetime.now(UTC), properties=props)


@pytest.fixture(scope="module")
def stack():
    with vendor_stack() as running:
        running.sdr_sf_id = running.salesforce.add_user(SDR, "Ana Sdr")
        yield running


def hs_tasks(stack, email: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [dict(t.properties) for t in stack.hubspot.records("tasks")
            if email in t.properties.get("hs_task_subject", "")]


def sf_tasks(stack, email: str) -> list[dict]:  # type: ignore[no-untyped-def]
    lead = stack.salesforce_lead(email)
    return [t for t in stack.salesforce.select("Task", False) if lead and t.get("WhoId") == lead["Id"]]


async def test_work_pending_at_continue_as_new_reaches_every_vendor_and_the_owner(dev_env, stack):
    """A demo request lands while the run drains for continue-as-new (a slow HubSpot holds the
    drain): its routing, owner tasks and syncs must survive into the next run."""
    async with running_worker(dev_env.client, VENDORS, stack.connectors()) as h:
        leads = LeadClient(dev_env.client, h.task_queue)
        email = unique_email("burst")
        stack.hubspot.faults.latency_s = 3.0  # the creation sync stays in flight for seconds
        try:
            handle = await leads.send_event(email, fact("content_download", firstname="Ada",
                                                        lastname="Lovelace", company="Acme"))
            h.handles.append(dev_env.client.get_workflow_handle(lead_workflow_id(email)))
            first_run = (await handle.describe()).run_id
            for _ in range(45):  # past the dev server's continue-as-new suggestion
                await leads.send_event(email, fact("content_download"))
            desc = await dev_env.client.get_workflow_handle(lead_workflow_id(email)).describe()
            assert desc.run_id == first_run, "the run should still be draining its slow sync"
            await leads.send_event(email, fact("demo_requested"))  # MQL: route, task the SDR
        finally:
            stack.hubspot.faults.latency_s = 0.0

        async def continued() -> bool:
            desc = await dev_env.client.get_workflow_handle(lead_workflow_id(email)).describe()
            return desc.run_id != first_run

        await until(continued, what="the lead continued as new")
        await until(lambda: stack.hubspot_contact(email).get("lead_stage") == "MQL",
                    what="HubSpot says MQL")
        await until(lambda: stack.salesforce_lead(email).get("Lead_Stage__c") == "MQL",
                    what="Salesforce says MQL")
        await until(lambda: stack.segment_traits(email).get("lead_stage") == "MQL",
                    what="Segment says MQL")
        await until(lambda: stack.hubspot_contact(email).get("hubspot_owner_id") == SDR_HUBSPOT_ID,
                    what="HubSpot has the routed owner")
        await until(lambda: stack.salesforce_lead(email).get("OwnerId") == stack.sdr_sf_id,
                    what="Salesforce has the routed owner")
        await until(lambda: any(t.get("hubspot_owner_id") == SDR_HUBSPOT_ID
                                for t in hs_tasks(stack, email)), what="the SDR's HubSpot task")
        await until(lambda: any(t["OwnerId"] == stack.sdr_sf_id for t in sf_tasks(stack, email)),
                    what="the SDR's Salesforce task")
        state = await leads.state(email)
        assert state.stage == "MQL" and state.owner == SDR and state.sync_errors == {}


async def test_a_score_change_within_a_stage_reaches_every_vendor(dev_env, stack):
    async with running_worker(dev_env.client, VENDORS, stack.connectors()) as h:
        leads = LeadClient(dev_env.client, h.task_queue)
        email = unique_email("score")
        await leads.send_event(email, fact("form_submitted"))  # 10 + 5 (business email): New Lead
        h.handles.append(dev_env.client.get_workflow_handle(lead_workflow_id(email)))
        await until(lambda: stack.hubspot_contact(email).get("lead_score") == "15")
        for _ in range(2):
            await leads.send_event(email, fact("content_download"))  # 5 points each
        await until(lambda: stack.hubspot_contact(email).get("lead_score") == "25",
                    what="HubSpot has the new score")
        await until(lambda: stack.salesforce_lead(email).get("Lead_Score__c") == 25,
                    what="Salesforce has the new score")
        await until(lambda: stack.segment_traits(email).get("lead_score") == 25,
                    what="Segment has the new score")
        state = await leads.state(email)
        assert state.stage == "New Lead" and state.score == 25


async def test_a_salesforce_daily_limit_pauses_only_salesforce_and_it_resumes_promptly(dev_env, stack):
    async with running_worker(dev_env.client, VENDORS, stack.connectors()) as h:
        leads = LeadClient(dev_env.client, h.task_queue)
        warm = unique_email("warm")  # the team's router is up and knows everyone's CRM ids
        await leads.send_event(warm, fact("demo_requested"))
        h.handles.append(dev_env.client.get_workflow_handle(lead_workflow_id(warm)))
        await until(lambda: stack.salesforce_lead(warm).get("OwnerId") == stack.sdr_sf_id)

        sf = stack.salesforce
        with sf.lock:  # the org's rolling 24-hour allowance is used up: 403 TotalRequests
            sf.api_usage = sf.daily_limit
        try:
            emails = [unique_email("limited") for _ in range(3)]
            for email in emails:
                await leads.send_event(email, fact("demo_requested", company="Acme"))
                h.handles.append(dev_env.client.get_workflow_handle(lead_workflow_id(email)))
            for email in emails:  # HubSpot, Segment and the HubSpot owner tasks keep flowing
                await until(lambda e=email: stack.hubspot_contact(e).get("lead_stage") == "MQL",
                            timeout=30, what="HubSpot says MQL while Salesforce is limited")
                await until(lambda e=email: stack.segment_traits(e).get("lead_stage") == "MQL",
                            timeout=30, what="Segment says MQL while Salesforce is limited")
                await until(lambda e=email: any(t.get("hubspot_owner_id") == SDR_HUBSPOT_ID
                                                for t in hs_tasks(stack, e)),
                            timeout=30, what="the SDR's HubSpot task while Salesforce is limited")
            await leads.send_event(emails[0], fact("content_download"))  # later changes flow too
            await until(lambda: stack.hubspot_contact(emails[0]).get("lead_score") == "40", timeout=30,
                        what="HubSpot has the later score while Salesforce is limited")
            assert all(not stack.salesforce_lead(e) for e in emails)
        finally:
            with sf.lock:  # the rolling window frees room again
                sf.api_usage = 0
        for email in emails:
            await until(lambda e=email: stack.salesforce_lead(e).get("Lead_Stage__c") == "MQL",
                        timeout=45, what="Salesforce resumes within its probe interval")
            await until(lambda e=email: any(t["OwnerId"] == stack.sdr_sf_id
                                            for t in sf_tasks(stack, e)),
                        timeout=45, what="the SDR's Salesforce task after the reset")


async def test_redeliveries_after_a_burst_of_thousands_are_not_applied_twice(dev_env):
    """A sender redelivering the start of a long burst (HubSpot and Segment retry for hours),
    across the continue-as-new runs the burst caused."""
    async with running_worker(dev_env.client) as h:
        leads = LeadClient(dev_env.client, h.task_queue)
        email = unique_email("redelivered")
        burst = [fact("email_open") for _ in range(1_500)]  # opens never score: the state stays small
        for start in range(0, len(burst), 50):
            await asyncio.gather(*(leads.send_event(email, e) for e in burst[start:start + 50]))
        h.handles.append(dev_env.client.get_workflow_handle(lead_workflow_id(email)))
        marker = fact("email_open")
        for event in [*burst[:100], marker]:  # the first 100 again, then one new event
            await leads.send_event(email, event)

        async def marker_applied() -> bool:
            return (await leads.state(email)).has_seen(marker.event_id)

        await until(marker_applied, timeout=120)
        state = await leads.state(email)
        assert state.events_applied == len(burst) + 1, "redelivered events were applied again"
        assert state.touches["New Lead"] == len(burst) + 1


async def test_an_owner_task_whose_answer_was_lost_is_created_once(dev_env, stack):
    """The task is written but the answer never comes back: the retry finds it, in both CRMs."""
    async with running_worker(dev_env.client, VENDORS, stack.connectors()) as h:
        leads = LeadClient(dev_env.client, h.task_queue)
        email = unique_email("once")
        stack.hubspot.faults.plant_lost(1, "/crm/v3/objects/tasks")
        # The SDR's tasks go in batches to the records the upserts named (issue 16): the
        # Salesforce one as an sObject Collections insert.
        stack.salesforce.faults.plant_lost(1, "/composite/sobjects$")
        await leads.send_event(email, fact("demo_requested"))
        h.handles.append(dev_env.client.get_workflow_handle(lead_workflow_id(email)))
        await until(lambda: hs_tasks(stack, email) and sf_tasks(stack, email),
                    what="the SDR's task in both CRMs")
        await until(lambda: stack.hubspot.faults.lose_next == 0 == stack.salesforce.faults.lose_next,
                    what="both answers were lost")
        await asyncio.sleep(5)  # time for any retry to land
        assert len(hs_tasks(stack, email)) == 1, "HubSpot got a second task"
        assert len(sf_tasks(stack, email)) == 1, "Salesforce got a second task"


async def test_a_refused_owner_task_survives_continue_as_new_and_resync_creates_it_once(dev_env, stack):
    """HubSpot refuses the SDR's task (the private app lacks the tasks scope, a 403 no retry
    fixes); the lead continues as new; once the scope is granted, `resync` creates it, once."""
    token = stack.running["hubspot"].token
    stack.hubspot.token_scopes[token] = {
        "crm.objects.contacts.read", "crm.objects.contacts.write", "crm.schemas.contacts.read",
        "crm.schemas.contacts.write", "crm.objects.owners.read", "crm.objects.tasks.read"}
    try:
        async with running_worker(dev_env.client, VENDORS, stack.connectors()) as h:
            leads = LeadClient(dev_env.client, h.task_queue)
            email = unique_email("refused-task")
            first = await leads.send_event(email, fact("demo_requested"))
            h.handles.append(dev_env.client.get_workflow_handle(lead_workflow_id(email)))

            async def refused() -> bool:
                state = await leads.state(email)
                return state is not None and "hubspot:task" in state.sync_errors

            await until(refused, what="HubSpot refused the SDR's task")
            await until(lambda: len(sf_tasks(stack, email)) == 1, what="Salesforce has its task")
            assert hs_tasks(stack, email) == []
            for _ in range(45):  # past the dev server's continue-as-new suggestion
                await leads.send_event(email, fact("content_download"))

            async def continued() -> bool:
                desc = await dev_env.client.get_workflow_handle(lead_workflow_id(email)).describe()
                return desc.run_id != first.result_run_id

            await until(continued, what="the lead continued as new")
            del stack.hubspot.token_scopes[token]  # an admin grants the scope
            await leads.resync(email)
            await until(lambda: hs_tasks(stack, email), what="resync created the HubSpot task")
            await asyncio.sleep(2)  # time for a second one to land
            assert len(hs_tasks(stack, email)) == 1 and len(sf_tasks(stack, email)) == 1
            assert "hubspot:task" not in (await leads.state(email)).sync_errors
    finally:
        stack.hubspot.token_scopes.pop(token, None)
