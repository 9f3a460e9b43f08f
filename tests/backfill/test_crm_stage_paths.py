"""The webhook and reconcile read the same Salesforce record as the same stage, or both as none.

A rep moved two `demo_led` leads that leadflow imported at In Evaluation: one to Status=Unqualified
(one stage writes that: Disqualified), one to Status=Working (SQL and Demo Scheduled both write it,
while Lead_Stage__c still says In Evaluation). The webhook (Salesforce's callout) and the next
reconcile must agree: Disqualified for the first; no stage for the second, so neither path moves
the lead nor writes leadflow's stage back over the rep's Status.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from config.playbook_loader import stock_playbook
from connectors.base import LeadSnapshot
from ingest.actions import Signal
from ingest.sources import salesforce as salesforce_webhook
from tests.support.backfill_helpers import run_backfill
from tests.support.lead_harness import running_worker, unique_email, until
from tests.support.vendor_stack import VENDORS

PB = stock_playbook("demo_led")


def webhook_reading(record: dict) -> tuple[str | None, str]:  # type: ignore[type-arg]
    """What the ingest service makes of the record as Salesforce's callout sends it."""
    callout = {"leads": [{k: record.get(k) for k in ("Id", "Email", "Status", "Lead_Stage__c")}
                         | {"ChangedBy": "rep@acme.io"}]}
    plan = salesforce_webhook.plan(PB, callout)
    for action in plan.actions:
        assert isinstance(action, Signal)
        return action.event.properties["stage"], ""
    return None, plan.skipped[0].reason


async def test_webhook_and_reconcile_agree_on_a_salesforce_record(dev_env, stack):
    since = datetime.now(UTC) - timedelta(seconds=1)
    working, unqualified = unique_email("sf-working"), unique_email("sf-unqualified")
    salesforce = stack.connectors()("salesforce", "demo_led")
    assert all(r.ok for r in salesforce.upsert_leads(
        [LeadSnapshot(email=e, stage="In Evaluation") for e in (working, unqualified)]))
    async with running_worker(dev_env.client, VENDORS, stack.connectors()) as h:
        _, imported = await run_backfill(dev_env.client, h.task_queue, source="salesforce",
                                         modified_after=since.isoformat())
        assert imported.tally.created == 2, imported.tally

        changed = datetime.now(UTC) - timedelta(seconds=1)
        stack.salesforce.rep_set_status(stack.salesforce_lead(working)["Id"], "Working")
        stack.salesforce.rep_set_status(stack.salesforce_lead(unqualified)["Id"], "Unqualified")
        assert stack.salesforce_lead(working)["Lead_Stage__c"] == "In Evaluation"

        stage, why = webhook_reading(stack.salesforce_lead(working))
        assert stage is None and "several stages" in why and "SQL, Demo Scheduled" in why
        assert webhook_reading(stack.salesforce_lead(unqualified)) == ("Disqualified", "")

        _, reconciled = await run_backfill(dev_env.client, h.task_queue, source="salesforce",
                                           modified_after=changed.isoformat())
        # Only the Unqualified lead read as another stage; the Working one is left as it is.
        assert (reconciled.tally.updated, reconciled.tally.unchanged) == (1, 1), reconciled.tally
        leads = h.client
        await until(lambda: _stage(leads, unqualified, "Disqualified"), what="Disqualified")
        assert await _stage(leads, working, "In Evaluation")
        assert stack.salesforce_lead(working)["Status"] == "Working"  # the rep's change stands


async def _stage(client, email: str, stage: str) -> bool:  # type: ignore[no-untyped-def]
    state = await client.get_workflow_handle(f"lead:{email}").query("state")
    return bool(state["stage"] == stage)
