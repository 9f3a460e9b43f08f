"""Routed owners land in HubSpot (hubspot_owner_id) and Salesforce (OwnerId) by each CRM's own id,
and breach tasks reach the owner, then the manager, in both CRMs."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.api.enums.v1 import EventType

from config.playbook_loader import stock_playbook
from emulators.hubspot.state import _owner
from lifecycle.events import EventKind, LeadEvent
from tests.support.lead_harness import running_worker, unique_email, until
from tests.support.vendor_stack import VENDORS, vendor_stack
from workflows.lead import LeadWorkflow
from workflows.lead_client import LeadClient
from workflows.lead_models import SYNC_LEAD
from workflows.team_client import TeamClient, team_workflow_id


@pytest.fixture(scope="module")
def stack():
    with vendor_stack() as running:
        running.hubspot.owners.append(_owner({"id": "150", "email": "mia.manager@example.com",
                                              "firstName": "Mia", "lastName": "Manager"}))
        running.sf_ids = {email: running.salesforce.add_user(email, name) for email, name in (
            ("ana.sdr@example.com", "Ana Sdr"), ("bo.ae@example.com", "Bo Ae"),
            ("mia.manager@example.com", "Mia Manager"))}
        yield running


def hs_tasks(stack, email: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [dict(t.properties) for t in stack.hubspot.records("tasks")
            if email in t.properties.get("hs_task_body", "") + t.properties.get("hs_task_subject", "")]


def sf_tasks(stack, email: str) -> list[dict]:  # type: ignore[no-untyped-def]
    lead = stack.salesforce_lead(email)
    return [t for t in stack.salesforce.select("Task", False) if lead and t.get("WhoId") == lead["Id"]]


async def sync_activities(client, email: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """sync_lead activities the lead ran, per vendor (its task queue ends in the vendor)."""
    counts: dict[str, int] = {}
    async for e in client.get_workflow_handle(f"lead:{email}").fetch_history_events():
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled = e.activity_task_scheduled_event_attributes
            if scheduled.activity_type.name == SYNC_LEAD:
                vendor = scheduled.task_queue.name.rsplit("-", 1)[-1]
                counts[vendor] = counts.get(vendor, 0) + 1
    return counts


async def history_kinds(client, email: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Activities the lead scheduled (by type, and in all) and timers that fired."""
    counts: dict[str, int] = {"activities": 0}
    async for e in client.get_workflow_handle(f"lead:{email}").fetch_history_events():
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            name = e.activity_task_scheduled_event_attributes.activity_type.name
            counts[name] = counts.get(name, 0) + 1
            counts["activities"] += 1
        elif e.event_type == EventType.EVENT_TYPE_TIMER_FIRED:
            counts["timer_fired"] = counts.get("timer_fired", 0) + 1
    return counts


async def test_owner_ids_are_written_to_both_crms_and_listed_by_owner(dev_env, stack):
    team = stock_playbook("demo_led").routing.team("sdr-americas")  # type: ignore[union-attr]
    async with running_worker(dev_env.client, VENDORS, stack.connectors()) as h:
        report = await TeamClient(dev_env.client, h.task_queue, "demo_led").sync_owners(team)
        assert report.matched == ["ana.sdr@example.com"] and report.unknown == ["sam.sdr@example.com"]

        email = unique_email("routed")
        await LeadClient(dev_env.client, h.task_queue).send_event(email, LeadEvent(
            event_id=uuid.uuid4().hex, kind=EventKind.DEMO_REQUESTED, occurred_at=datetime.now(UTC),
            properties={"firstname": "Ada", "lastname": "Lovelace", "company": "Acme"}))
        h.handles.append(dev_env.client.get_workflow_handle(f"lead:{email}"))

        await until(lambda: stack.hubspot_contact(email).get("hubspot_owner_id") == "101")
        ana_sf = stack.sf_ids["ana.sdr@example.com"]
        await until(lambda: stack.salesforce_lead(email).get("OwnerId") == ana_sf)
        assert stack.hubspot_contact(email)["lead_stage"] == "MQL"
        # The MQL's "is now MQL" task goes to the routed SDR in each CRM.
        await until(lambda: any(t.get("hubspot_owner_id") == "101" for t in hs_tasks(stack, email)))
        await until(lambda: any(t["OwnerId"] == ana_sf for t in sf_tasks(stack, email)))
        # Routing answers before the CRMs are written, so one upsert carries stage and owner.
        assert await sync_activities(dev_env.client, email) == {"hubspot": 1, "salesforce": 1, "segment": 1}
        # The tasks rode in those upserts' activities, and the routing hold's timer was cancelled
        # once the owner was known instead of firing (bundled-patches-v3): each activity and
        # each fired timer costs the lead a workflow task and the Temporal server its events.
        await asyncio.sleep(3)  # past ROUTE_WAIT: a hold timer left running would have fired
        kinds = await history_kinds(dev_env.client, email)
        assert kinds.get("create_owner_task", 0) == 0
        assert kinds.get("timer_fired", 0) == 0
        # assign_owner and one sync_lead per vendor: the config came in the start input, from
        # what the workers published (no lead_config activity)
        assert kinds["activities"] == 4

        async def listed() -> list[str]:
            query = "LeadOwner = 'ana.sdr@example.com' AND LeadTeam = 'sdr-americas' AND LeadStage = 'MQL'"
            return [w.id async for w in dev_env.client.list_workflows(query)]

        for _ in range(50):
            if f"lead:{email}" in await listed():
                break
            await asyncio.sleep(0.2)
        assert f"lead:{email}" in await listed()
        h.handles.append(dev_env.client.get_workflow_handle(team_workflow_id(team.name, h.task_queue)))


async def test_breaches_task_the_owner_then_the_manager_and_reassign_in_both_crms(ts_env, stack):
    team = stock_playbook("high_touch").routing.team("enterprise-east")  # type: ignore[union-attr]
    async with running_worker(ts_env.client, VENDORS, stack.connectors()) as h:
        email = unique_email("breach")  # its new router matches members to CRM ids by itself
        handle = await h.start_lead(email, "high_touch", firstname="Grace", lastname="Hopper",
                                    company="Navy")
        await until(lambda: stack.hubspot_contact(email).get("hubspot_owner_id") == "101")

        await ts_env.sleep(timedelta(days=4))  # two 4-business-hour SLAs, weekend or not
        await until(lambda: stack.hubspot_contact(email).get("hubspot_owner_id") == "102")
        await until(lambda: stack.salesforce_lead(email).get("OwnerId") == stack.sf_ids["bo.ae@example.com"])
        state = await handle.query(LeadWorkflow.state)
        assert state.owner == "bo.ae@example.com" and state.owner_ids["hubspot"] == "102"

        def breach_tasks() -> list[dict]:
            return [t for t in hs_tasks(stack, email) if "SLA breached" in t["hs_task_subject"]]

        await until(lambda: len(breach_tasks()) == 4)  # owner + manager, at each breach
        by_owner = {(t["hubspot_owner_id"], t["hs_task_subject"].startswith("[Escalation]"))
                    for t in breach_tasks()}
        assert by_owner == {("101", False), ("150", True)}
        body = breach_tasks()[0]["hs_task_body"]
        assert f"Lead: {email}" in body and "Expected: contacted, confirm_sql" in body
        await until(lambda: any(t.get("hubspot_owner_id") == "102" and "Reassigned" in t["hs_task_subject"]
                                for t in hs_tasks(stack, email)))
        mia = stack.sf_ids["mia.manager@example.com"]
        await until(lambda: any(t["OwnerId"] == mia and t["Subject"].startswith("[Escalation] SLA breached")
                                for t in sf_tasks(stack, email)))
        h.handles.append(ts_env.client.get_workflow_handle(team_workflow_id(team.name, h.task_queue)))
