"""A lead meets a Salesforce org as real orgs are: Leads made before leadflow, the standard
duplicate rule, an active assignment rule. Driven through LeadClient; workers, connectors and
simple-salesforce are the real ones, the org is the emulator with its default (realistic) rules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from lead_harness import running_worker, unique_email, until
from vendor_stack import VENDORS, vendor_stack

from leadflow.client import LeadClient
from lifecycle.events import EventKind, LeadEvent


@pytest.fixture(scope="module")
def stack():
    with vendor_stack() as running:
        yield running


def demo_request() -> LeadEvent:
    return LeadEvent(event_id=uuid.uuid4().hex, kind=EventKind.DEMO_REQUESTED,
                     occurred_at=datetime.now(UTC), properties={"company": "Acme"})


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
