"""Backfill and reconcile carry the playbook's fields, not only the stage: an imported lead starts
with its CRM firmographics and is scored from them; a running lead adopts a rep's edit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio.api.enums.v1 import EventType

from connectors.base import LeadSnapshot
from lifecycle.state import LeadState
from tests.support.backfill_helpers import run_backfill
from tests.support.lead_harness import running_worker, unique_email, until
from tests.support.vendor_stack import VENDORS
from workflows.lead_client import LeadClient
from workflows.lead_models import LEAD_CONFIG


async def test_a_backfilled_lead_has_its_crm_firmographics(dev_env, stack):
    since = datetime.now(UTC) - timedelta(seconds=1)
    imported = unique_email("sf-firmo")
    salesforce = stack.connectors()("salesforce", "demo_led")
    seeded = LeadSnapshot(email=imported, stage="New Lead", vendor_named=True,
                          properties={"NumberOfEmployees": "500", "Industry": "software",
                                      "Country": "US", "State": "CA"})
    assert all(r.ok for r in salesforce.upsert_leads([seeded]))
    async with running_worker(dev_env.client, VENDORS, stack.connectors()) as h:
        running = unique_email("sf-running")
        await h.start_lead(running, company_size="40")
        await until(lambda: stack.salesforce_lead(running).get("NumberOfEmployees") == 40)
        record = stack.salesforce_lead(running)
        stack.salesforce.rep_set_status(record["Id"], record["Status"], NumberOfEmployees=1200)

        _, result = await run_backfill(dev_env.client, h.task_queue, source="salesforce",
                                       modified_after=since.isoformat())
        assert (result.tally.created, result.tally.failed) == (1, 0), result.tally
        leads = LeadClient(dev_env.client, h.task_queue)
        state: LeadState = await until(lambda: leads.state(imported), what="the imported lead runs")
        assert {k: state.fields.get(k) for k in ("company_size", "industry", "country", "state")} \
            == {"company_size": "500", "industry": "software", "country": "US", "state": "CA"}
        # fit: company_size >= 50 (15), industry software (10), a business email (5)
        assert state.score == 30
        # The backfill handed the lead its worker's config: the run asked no lead_config (issue 16).
        h.handles.append(dev_env.client.get_workflow_handle(f"lead:{imported}"))
        history = h.handles[-1].fetch_history_events()
        assert LEAD_CONFIG not in [e.activity_task_scheduled_event_attributes.activity_type.name
                                   async for e in history
                                   if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED]
        assert stack.hubspot_contact(imported)["lead_company_size"] == "500"  # the batched write

        adopted = await until(lambda: _field(leads, running, "company_size", "1200"),
                              what="the running lead adopts the rep's edit")
        assert adopted.field_stamps["company_size"].source == "salesforce"


async def _field(leads: LeadClient, email: str, name: str, value: str) -> LeadState | None:
    state = await leads.state(email)
    return state if state is not None and state.fields.get(name) == value else None
