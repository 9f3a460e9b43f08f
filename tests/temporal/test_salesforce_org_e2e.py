"""A lead meets a Salesforce org as real orgs are: Leads made before leadflow, the standard
duplicate rule, an active assignment rule. Driven through LeadClient; workers, connectors and
simple-salesforce are the real ones, the org is the emulator with its default (realistic) rules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from config.playbook_loader import stock_playbook
from lifecycle.events import EventKind, LeadEvent
from tests.support.lead_harness import running_worker, unique_email, until
from tests.support.vendor_stack import VENDORS, vendor_stack
from workflows.lead_client import LeadClient
from workflows.lead_models import LeadCommand
from workflows.team_client import TeamClient


@pytest.fixture(scope="module")
def stack():
    with vendor_stack() as running:
        running.ana = running.salesforce.add_user("ana.sdr@example.com", "Ana Sdr")
        running.bo = running.salesforce.add_user("bo.ae@example.com", "Bo Ae")
        yield running


def fact(kind: EventKind) -> LeadEvent:
    return LeadEvent(event_id=uuid.uuid4().hex, kind=kind, occurred_at=datetime.now(UTC),
                     properties={"company": "Acme"})


def demo_request() -> LeadEvent:
    return fact(EventKind.DEMO_REQUESTED)


def leads_with_email(stack, email: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [r for r in stack.salesforce.select("Lead", False)
            if (r.get("Email") or "").lower() == email.lower()]


async def test_a_rep_made_lead_is_adopted_and_a_converted_one_is_an_explained_error(dev_env, stack):
    adopted_email, converted_email = unique_email("rep-made"), unique_email("converted")
    rep_lead, _ = stack.salesforce.insert("Lead", {"LastName": "Lovelace", "Company": "Acme",
                                                   "Email": adopted_email.upper()})
    converted, _ = stack.salesforce.insert("Lead", {"LastName": "Old", "Company": "Acme",
                                                    "Email": converted_email})
    stack.salesforce.convert_lead(converted)
    async with running_worker(dev_env.client, VENDORS, stack.connectors()) as h:
        leads = LeadClient(dev_env.client, h.task_queue)
        for email in (adopted_email, converted_email):
            await leads.send_event(email, demo_request())
            h.handles.append(dev_env.client.get_workflow_handle(f"lead:{email}"))

        await until(lambda: stack.salesforce.get("Lead", rep_lead).get("Lead_Stage__c") == "MQL")
        assert [r["Id"] for r in leads_with_email(stack, adopted_email)] == [rep_lead]
        assert stack.salesforce.get("Lead", rep_lead)["LastName"] == "Lovelace"

        async def sync_error() -> str | None:
            return (await leads.state(converted_email)).sync_errors.get("salesforce")
        error = await until(sync_error)
        assert "DUPLICATES_DETECTED" in error and converted in error and "resync" in error
        assert [r["Id"] for r in leads_with_email(stack, converted_email)] == [converted]
        assert (await leads.state(adopted_email)).sync_errors == {}


async def test_the_routed_owner_survives_the_orgs_assignment_rule(dev_env, stack):
    assert stack.salesforce.assignment_owner  # the org's active Lead assignment rule
    routing = stock_playbook("demo_led").routing
    assert routing is not None
    async with running_worker(dev_env.client, VENDORS, stack.connectors()) as h:
        for team in ("sdr-americas", "ae-americas"):  # MQL goes to an SDR, SQL to an AE
            await TeamClient(dev_env.client, h.task_queue, "demo_led").sync_owners(
                routing.team(team))
        leads = LeadClient(dev_env.client, h.task_queue)
        # An email whose ending looks like a file format: no URL lookup by email may be used.
        email = unique_email("routed").replace("@acme.io", "@acme.inc")
        await leads.send_event(email, demo_request())
        h.handles.append(dev_env.client.get_workflow_handle(f"lead:{email}"))
        await until(lambda: stack.salesforce_lead(email).get("OwnerId") == stack.ana)
        lead_id = stack.salesforce_lead(email)["Id"]
        # The MQL's owner task lands on the Lead, for the routed SDR.
        await until(lambda: any(t["WhoId"] == lead_id and t["OwnerId"] == stack.ana
                                for t in stack.salesforce.select("Task", False)))

        await leads.command(email, LeadCommand(kind="confirm_sql", properties={  # a later sync
            "use_case": "forecasting", "timeline": "Q3"}))
        await until(lambda: stack.salesforce_lead(email).get("Lead_Stage__c") == "SQL"
                    and stack.salesforce_lead(email).get("OwnerId") == stack.bo)

        state = await leads.state(email)
        assert state.owner_ids["salesforce"] == stack.bo
        assert stack.salesforce_lead(email)["OwnerId"] == stack.bo
        assert state.sync_errors == {}  # no owner task failed either
