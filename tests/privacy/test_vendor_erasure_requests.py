"""A vendor's GDPR deletion reaches leadflow through ingest and erases the person there too:
HubSpot's `contact.privacyDeletion`, a Salesforce deletion flagged `ShouldForget`."""

from __future__ import annotations

import time

import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus

from emulators.hubspot.webhooks import deletion_event, signed_request
from emulators.salesforce.callouts import signed_callout
from ingest.server import serving
from lifecycle.events import lead_workflow_id
from privacy.converter import key_store
from tests.support.lead_harness import until
from tests.support.privacy_stack import INGEST_SECRETS, NEW_KEYS, PrivacyStack


@pytest.fixture
async def ingest(privacy_stack: PrivacyStack):  # type: ignore[no-untyped-def]
    async with serving(privacy_stack.settings(NEW_KEYS), port=0) as url, \
            httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield url, http


async def assert_forgotten(stack: PrivacyStack, client, email: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    store = key_store(stack.settings(NEW_KEYS))
    pseudonym = store.pseudonym(email)
    assert store.is_forgotten(pseudonym) and not store.has_lead_key(pseudonym)
    handle = client.get_workflow_handle(lead_workflow_id(email))
    assert (await handle.describe()).status != WorkflowExecutionStatus.RUNNING
    return store.erasures(pseudonym)[-1].systems


async def test_a_salesforce_deletion_flagged_should_forget_erases_the_person(
        privacy_stack: PrivacyStack, vendors, two_leads, ingest) -> None:  # type: ignore[no-untyped-def]
    leads, gone, kept = two_leads
    url, http = ingest
    lead_id = (await until(lambda: vendors.salesforce_lead(gone), what="the Salesforce lead"))["Id"]
    body, headers = signed_callout(INGEST_SECRETS["SALESFORCE_WEBHOOK_SECRET"], [
        {"Id": lead_id, "Email": gone, "IsDeleted": True, "ShouldForget": True,
         "ChangedBy": "dpo@example.com"}])
    answer = await http.post("/v1/webhooks/salesforce", content=body, headers=headers)
    assert answer.status_code == 202, answer.text
    systems = await assert_forgotten(privacy_stack, leads.client, gone)
    assert systems["hubspot"] == "erased" and not vendors.hubspot_contact(gone)  # leadflow made it
    assert systems["salesforce"].startswith("erased by salesforce")
    assert (await leads.state(kept)).email == kept


async def test_a_hubspot_privacy_deletion_erases_the_person_without_asking_hubspot_again(
        privacy_stack: PrivacyStack, vendors, two_leads, ingest) -> None:  # type: ignore[no-untyped-def]
    """HubSpot no longer answers for a GDPR-deleted contact: leadflow knows whose it was from its
    own sync (the id is kept with the email sealed under the lead's key)."""
    leads, gone, kept = two_leads
    url, http = ingest
    contact = vendors.hubspot.store.find("contacts", gone, "email")
    with vendors.hubspot.lock:
        vendors.hubspot.store.gdpr_delete(contact.id, None)  # a person erased it in HubSpot
    event = dict(deletion_event(contact.id, portal_id=vendors.hubspot.portal_id),
                 subscriptionType="contact.privacyDeletion")
    body, headers = signed_request(f"{url}/v1/webhooks/hubspot", INGEST_SECRETS["HUBSPOT_CLIENT_SECRET"],
                                   [event], int(time.time() * 1000))
    answer = await http.post("/v1/webhooks/hubspot", content=body.encode(), headers=headers)
    assert answer.status_code == 202, answer.text
    systems = await assert_forgotten(privacy_stack, leads.client, gone)
    assert systems["hubspot"].startswith("erased by hubspot")
