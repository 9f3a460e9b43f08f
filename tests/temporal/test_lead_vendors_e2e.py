"""A lead's stage lands in HubSpot, Salesforce and Segment through the real client libraries."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.lead_harness import fact, running_worker, unique_email, until
from tests.support.vendor_stack import VENDORS, vendor_stack
from workflows.lead import LeadWorkflow
from workflows.lead_client import LeadClient
from workflows.lead_models import LeadCommand


@pytest.fixture(scope="module")
def stack():
    with vendor_stack() as running:
        yield running


async def drive_to_sql(leads: LeadClient, email: str) -> None:
    await leads.send_event(email, fact("demo_requested", firstname="Ada", lastname="Lovelace",
                                       company="Acme"))
    await leads.command(email, LeadCommand(kind="confirm_sql",
                                           properties={"use_case": "forecasting", "timeline": "Q3"}))


async def test_new_to_sql_lands_in_all_three_systems(dev_env, stack):
    async with running_worker(dev_env.client, VENDORS, stack.connectors()) as h:
        leads = LeadClient(dev_env.client, h.task_queue)
        email = unique_email("e2e")
        await drive_to_sql(leads, email)
        h.handles.append(dev_env.client.get_workflow_handle(f"lead:{email}"))

        await until(lambda: stack.hubspot_contact(email).get("lead_stage") == "SQL")
        hs = stack.hubspot_contact(email)
        assert hs["lifecyclestage"] == "salesqualifiedlead" and hs["hs_lead_status"] == "IN_PROGRESS"
        assert hs["firstname"] == "Ada" and int(hs["lead_score"]) >= 30

        await until(lambda: stack.salesforce_lead(email).get("Lead_Stage__c") == "SQL")
        sf = stack.salesforce_lead(email)
        assert sf["Status"] == "Working" and sf["LastName"] == "Lovelace" and sf["Company"] == "Acme"

        await until(lambda: stack.segment_traits(email).get("lead_stage") == "SQL")
        assert ("MQL", "SQL") in stack.segment_stage_changes(email)
        # Owner tasks for the SQL's AE, written after the record exists.
        await until(lambda: any(t.properties.get("hs_task_subject", "").startswith(email)
                                for t in stack.hubspot.records("tasks")))
        state = await leads.state(email)
        assert state.sync_errors == {}


async def test_vendor_outage_mid_way_converges_when_it_ends(dev_env, stack):
    async with running_worker(dev_env.client, VENDORS, stack.connectors()) as h:
        leads = LeadClient(dev_env.client, h.task_queue)
        email = unique_email("outage")
        await leads.send_event(email, fact("demo_requested"))
        h.handles.append(dev_env.client.get_workflow_handle(f"lead:{email}"))
        await until(lambda: stack.hubspot_contact(email).get("lead_stage") == "MQL")

        stack.hubspot.faults.plant(100_000, status=503)  # HubSpot goes down
        await leads.command(email, LeadCommand(kind="confirm_sql",
                                               properties={"use_case": "x", "timeline": "Q1"}))
        await until(lambda: stack.salesforce_lead(email).get("Lead_Stage__c") == "SQL")
        await asyncio.sleep(2)
        assert stack.hubspot_contact(email)["lead_stage"] == "MQL"
        assert (await leads.state(email)).stage == "SQL"

        stack.hubspot.faults.clear()  # HubSpot is back
        await until(lambda: stack.hubspot_contact(email).get("lead_stage") == "SQL", timeout=90)
        assert stack.hubspot_contact(email)["lifecyclestage"] == "salesqualifiedlead"


async def test_refused_sync_is_recorded_and_resync_repairs_it(dev_env):
    statuses = ("New", "Nurturing", "Qualified", "Unqualified", "Closed - Converted",
                "Closed - Not Converted")  # "Working" is missing from this org's picklist
    with vendor_stack(statuses=statuses) as stack:
        async with running_worker(dev_env.client, VENDORS, stack.connectors()) as h:
            leads = LeadClient(dev_env.client, h.task_queue)
            email = unique_email("refused")
            await drive_to_sql(leads, email)
            handle = dev_env.client.get_workflow_handle(f"lead:{email}")
            h.handles.append(handle)

            async def errors() -> dict[str, str]:
                return (await leads.state(email)).sync_errors

            deadline = asyncio.get_running_loop().time() + 30
            while "salesforce" not in await errors():
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.3)
            message = (await errors())["salesforce"]
            assert email in message and "Status" in message
            assert "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" in message
            await until(lambda: stack.hubspot_contact(email).get("lead_stage") == "SQL")  # others go on
            desc = await handle.describe()
            assert dict((k.name, v) for k, v in desc.typed_search_attributes)["SyncStatus"] == "error"

            stack.salesforce.statuses = (*statuses, "Working")  # an admin adds the value
            view = await handle.execute_update(LeadWorkflow.resync)
            assert view.sync_errors == {}
            await until(lambda: stack.salesforce_lead(email).get("Status") == "Working")
            assert "salesforce" not in await errors()
