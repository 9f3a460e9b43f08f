"""`leadflow forget` and the vendors' GDPR deletions: crypto-shredding a lead, everywhere leadflow
keeps it, while other leads carry on."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from ingest.server import serving
from lifecycle.events import lead_workflow_id
from privacy.codec import ENCODING
from privacy.converter import data_converter, key_store
from privacy.keys import MissingKey
from tests.support.lead_harness import until
from tests.support.privacy_stack import NEW_KEYS, PrivacyStack, facts, lead_state, leadflow_cli
from workflows.backfill import BackfillWorkflow
from workflows.backfill_models import BackfillInput


async def test_forget_erases_the_lead_everywhere_and_other_leads_carry_on(
        privacy_stack: PrivacyStack, vendors, two_leads) -> None:  # type: ignore[no-untyped-def]
    leads, gone, kept = two_leads
    handle = leads.client.get_workflow_handle(lead_workflow_id(gone))

    dry = await leadflow_cli(privacy_stack, "forget", gone, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would close the running lead" in dry.stdout and "would delete the data key" in dry.stdout
    assert "hubspot: would ask for erasure" in dry.stdout
    assert "salesforce: would ask for erasure" in dry.stdout
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING  # nothing changed
    assert vendors.hubspot_contact(gone)

    before = [f for f in facts(privacy_stack) if f.email == gone]
    done = await leadflow_cli(privacy_stack, "forget", gone, "--reason", "ticket 4711")
    assert done.returncode == 0, done.stderr
    assert "temporal: closed" in done.stdout and "key: data key deleted" in done.stdout
    assert "hubspot: erased" in done.stdout and "salesforce: erased" in done.stdout
    assert gone not in done.stdout + done.stderr  # the output names the pseudonym only

    # Temporal: the lead is closed (its tombstone terminated at once, not after a timeout) and its
    # history is ciphertext nobody can open any more.
    assert "did not close in time" not in done.stdout
    assert (await handle.describe()).status == WorkflowExecutionStatus.TERMINATED
    history = await handle.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes.input.payloads[0]
    assert started.metadata["encoding"] == ENCODING
    fresh = data_converter(privacy_stack.settings(NEW_KEYS))  # any process, past its key cache
    with pytest.raises(MissingKey, match="erased"):
        await fresh.decode([started])
    # The other lead still decodes and moves on.
    assert (await leads.state(kept)).email == kept

    # The ledger keeps its counts, without a personal field.
    store = key_store(privacy_stack.settings(NEW_KEYS))
    pseudonym = store.pseudonym(gone)
    after = [f for f in facts(privacy_stack) if f.email == f"forgotten:{pseudonym}"]
    assert len(after) >= len(before) > 0
    for row in facts(privacy_stack):
        assert gone not in " ".join(str(v) for v in vars(row).values())

    # HubSpot erased the contact leadflow had created (GDPR delete, not an archive).
    assert not vendors.hubspot_contact(gone)
    assert vendors.hubspot.contact(kept) is not None
    # Salesforce deleted the Lead leadflow had keyed (into its Recycle Bin).
    deleted = [r for r in vendors.salesforce.select("Lead", True) if r.get("Leadflow_Key__c") == gone]
    assert deleted and all(r["IsDeleted"] for r in deleted) and not vendors.salesforce_lead(gone)
    assert vendors.salesforce_lead(kept)

    # Again: nothing left to do, and an audit trail of both runs.
    gdpr_deletes = vendors.hubspot.calls["POST /crm/v3/objects/contacts/gdpr-delete"]
    assert gdpr_deletes >= 1
    again = await leadflow_cli(privacy_stack, "forget", gone)
    assert again.returncode == 0 and "already forgotten" in again.stdout, again.stderr
    assert [e.actor for e in store.erasures(pseudonym)] == ["cli", "cli"]
    assert [e.systems["hubspot"] for e in store.erasures(pseudonym)] == ["erased", "erased"]
    # confirmed before: not asked again
    assert vendors.hubspot.calls["POST /crm/v3/objects/contacts/gdpr-delete"] == gdpr_deletes


async def test_a_later_event_for_a_forgotten_email_is_skipped_and_never_recreates_the_lead(
        privacy_stack: PrivacyStack, vendors, two_leads) -> None:  # type: ignore[no-untyped-def]
    leads, gone, kept = two_leads
    assert (await leadflow_cli(privacy_stack, "forget", gone)).returncode == 0
    run_id = (await leads.client.get_workflow_handle(lead_workflow_id(gone)).describe()).run_id

    import httpx
    settings = privacy_stack.settings(NEW_KEYS)
    async with serving(settings, port=0) as url, httpx.AsyncClient(base_url=url) as http:
        event = {"email": gone, "name": "Pricing Page Viewed", "event_id": f"e-{uuid.uuid4().hex}",
                 "occurred_at": datetime.now(UTC).isoformat(), "properties": {"plan": "pro"}}
        other = dict(event, email=kept, event_id=f"e-{uuid.uuid4().hex}")
        token = settings.ingest_token.get_secret_value() if settings.ingest_token else ""
        answer = await http.post("/v1/events", json={"events": [event, other]},
                                 headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"accepted": 1, "skipped": [{"ref": event["event_id"], "reason": "forgotten"}]}
    latest = await leads.client.get_workflow_handle(lead_workflow_id(gone)).describe()
    assert latest.run_id == run_id and latest.status == WorkflowExecutionStatus.TERMINATED


async def test_a_backfill_never_brings_a_forgotten_person_back(
        privacy_stack: PrivacyStack, vendors, two_leads) -> None:  # type: ignore[no-untyped-def]
    """Retention removed the closed run, and a rep re-created the contact in HubSpot: the backfill
    imports the others but neither starts the forgotten lead nor writes it to another vendor."""
    leads, gone, kept = two_leads
    assert (await leadflow_cli(privacy_stack, "forget", gone)).returncode == 0
    client = leads.client
    await client.workflow_service.delete_workflow_execution(DeleteWorkflowExecutionRequest(
        namespace=client.namespace, workflow_execution=WorkflowExecution(workflow_id=lead_workflow_id(gone))))

    async def run_gone() -> bool:
        try:
            await client.get_workflow_handle(lead_workflow_id(gone)).describe()
        except RPCError as exc:
            return exc.status == RPCStatusCode.NOT_FOUND
        return False

    await until(run_gone, what="the closed run deleted")
    start = datetime.now(UTC) - timedelta(minutes=1)
    newcomer = f"new-{uuid.uuid4().hex[:6]}@analytical.io"
    with vendors.hubspot.lock:
        for i, email in enumerate((gone, newcomer)):
            vendors.hubspot.store.create("contacts", {"email": email, "lifecyclestage": "lead"},
                                         at=start + timedelta(seconds=i))
    salesforce_before = vendors.salesforce_lead(gone)

    result = await (await client.start_workflow(
        BackfillWorkflow.run, BackfillInput(source="hubspot", modified_after=start,
                                            modified_before=start + timedelta(seconds=2)),
        id=f"backfill-{uuid.uuid4().hex[:8]}", task_queue=privacy_stack.task_queue)).result()
    assert result.tally.created == 1 and "1 forgotten people skipped" in result.tally.failures
    assert await run_gone()  # no lead started for the forgotten email
    await lead_state(leads, newcomer)
    assert vendors.salesforce_lead(gone) == salesforce_before  # nothing written for them
