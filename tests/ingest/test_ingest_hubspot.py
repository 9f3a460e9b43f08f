"""HubSpot webhooks: v3 signatures (valid, tampered, stale), a rep's stage change adopted,
redelivery counted once, a merge that keeps one timeline, a deletion that closes the lead."""

from __future__ import annotations

import time

import httpx
from hubspot import HubSpot
from hubspot.crm.contacts import PublicMergeInput

from emulators.hubspot.webhooks import deletion_event, merge_event, property_change_events
from tests.support.ingest_client import (
    SECRETS,
    ingest_api,
    ingest_settings,
    lead_state,
    product_event,
    temporal_address,
)
from tests.support.lead_harness import unique_email, until


async def new_lead(api, stack, prefix: str, name: str = "Form Submitted") -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A lead that leadflow created and synced: (email, its HubSpot contact id)."""
    email = unique_email(prefix)
    assert (await api.events(product_event(email, name))).status_code == 202
    contact = await until(lambda: stack.hubspot.contact(email))
    return email, contact.id


def rep_sets(stack, contact_id: str, **props: str) -> list[dict]:  # type: ignore[no-untyped-def]
    """A rep edits the contact in HubSpot; returns the changes its webhook reports."""
    record = stack.hubspot.store.find("contacts", contact_id)
    record.properties.update(props)
    return [{"objectId": contact_id, "propertyName": k, "propertyValue": v} for k, v in props.items()]


async def test_signed_stage_change_from_the_emulator_is_adopted(api, stack, leads):
    email, contact_id = await new_lead(api, stack, "hs-rep")
    changes = rep_sets(stack, contact_id, lead_stage="MQL")
    # The emulator itself signs and delivers the webhook, as HubSpot would.
    async with httpx.AsyncClient(base_url=stack.running["hubspot"].url) as hub:
        sent = await hub.post("/_emulator/webhooks", json={
            "target_url": api.hubspot_url(), "secret": SECRETS["HUBSPOT_CLIENT_SECRET"],
            "changes": changes})
    assert sent.json() == {"delivered_status": 202}
    state = await lead_state(leads, email, lambda s: s.stage == "MQL")
    assert (state.history[-1].cause, state.history[-1].actor) == ("crm_stage_changed",
                                                                   "hubspot:userId:9101")
    await until(lambda: stack.salesforce_lead(email).get("Lead_Stage__c") == "MQL")


async def test_tampered_and_stale_deliveries_are_refused(api, stack, leads):
    email, contact_id = await new_lead(api, stack, "hs-sig")
    events = property_change_events(rep_sets(stack, contact_id, lead_stage="MQL"),
                                    portal_id=stack.hubspot.portal_id)
    tampered = await api.hubspot(events, tamper=True)
    assert tampered.status_code == 401 and tampered.json()["type"].endswith("bad-signature")
    stale = await api.hubspot(events, timestamp_ms=int((time.time() - 6 * 60) * 1000))
    assert stale.status_code == 401 and stale.json()["type"].endswith("stale-timestamp")
    unsigned = await api.http.post("/v1/webhooks/hubspot", json=events)
    assert unsigned.status_code == 401
    assert (await leads.state(email)).stage == "New Lead"  # nothing got through

    assert (await api.hubspot(events)).status_code == 202  # the same events, signed properly
    await lead_state(leads, email, lambda s: s.stage == "MQL")


async def test_redelivery_counts_once_and_unknown_values_are_skipped(api, stack, leads):
    email, contact_id = await new_lead(api, stack, "hs-dup")
    events = property_change_events(rep_sets(stack, contact_id, lead_stage="MQL"),
                                    portal_id=stack.hubspot.portal_id)
    for _ in range(2):  # HubSpot retries with the same eventId and content
        assert (await api.hubspot(events)).status_code == 202
    state = await lead_state(leads, email, lambda s: s.stage == "MQL")
    assert [c.to_stage for c in state.history].count("MQL") == 1

    odd = property_change_events(
        [{"objectId": contact_id, "propertyName": "lead_stage", "propertyValue": "Someday"},
         {"objectId": contact_id, "propertyName": "lifecyclestage", "propertyValue": "salesqualifiedlead"},
         {"objectId": 999999, "propertyName": "lead_stage", "propertyValue": "SQL"}],
        portal_id=stack.hubspot.portal_id)
    response = await api.hubspot(odd)
    assert response.status_code == 202 and response.json()["accepted"] == 0
    reasons = [s["reason"] for s in response.json()["skipped"]]
    assert "'Someday' is not a stage of playbook demo_led" in reasons[0]
    assert "several stages" in reasons[1] and "SQL, Demo Scheduled" in reasons[1]
    assert "no contact 999999" in reasons[2]


async def test_merge_keeps_one_timeline(api, stack, leads, dev_env):
    merged, merged_id = await new_lead(api, stack, "hs-dupe", "Demo Requested")
    survivor, survivor_id = await new_lead(api, stack, "hs-keep", "Pricing Page Viewed")
    await lead_state(leads, merged, lambda s: s.stage == "MQL")
    hub = HubSpot(access_token=stack.running["hubspot"].token, host=stack.running["hubspot"].url)
    hub.crm.contacts.basic_api.merge(PublicMergeInput(primary_object_id=survivor_id,
                                                      object_id_to_merge=merged_id))

    event = merge_event(survivor_id, [merged_id], portal_id=stack.hubspot.portal_id)
    response = await api.hubspot([event])
    assert response.status_code == 202 and response.json()["accepted"] == 1
    closed = await until(lambda: leads.closure(merged), what="the merged lead closes")
    assert closed.reason == f"merged into lead:{survivor}"
    state = await lead_state(leads, survivor, lambda s: s.has_seen(f"merge:lead:{merged}"))
    assert ("MQL", f"demo_requested (from {merged})") in [(c.to_stage, c.cause) for c in state.history]
    assert (await api.hubspot([event])).status_code == 202  # redelivered: nothing left to merge


async def test_deletion_closes_the_lead(api, stack, leads):
    email, contact_id = await new_lead(api, stack, "hs-gone")
    stack.hubspot.store.archive(stack.hubspot.store.find("contacts", contact_id))
    response = await api.hubspot([deletion_event(contact_id, portal_id=stack.hubspot.portal_id)])
    assert response.status_code == 202
    closed = await until(lambda: leads.closure(email), what="the lead closes")
    assert (closed.how, closed.reason) == ("deleted", "deleted in HubSpot")


async def test_hubspot_api_down_means_503_and_the_retry_lands(api, stack, leads):
    email, contact_id = await new_lead(api, stack, "hs-down")
    events = property_change_events(rep_sets(stack, contact_id, lead_stage="MQL"),
                                    portal_id=stack.hubspot.portal_id)
    stack.hubspot.faults.plant(1000, 503)
    try:
        refused = await api.hubspot(events)
    finally:
        stack.hubspot.faults.clear()
    assert refused.status_code == 503 and int(refused.headers["retry-after"]) > 0
    assert refused.json()["type"].endswith("hubspot-unavailable")
    assert (await leads.state(email)).stage == "New Lead"
    assert (await api.hubspot(events)).status_code == 202  # HubSpot's retry
    await lead_state(leads, email, lambda s: s.stage == "MQL")


async def test_behind_a_tls_proxy_the_public_url_is_what_hubspot_signed(dev_env, stack, workers, leads):
    """HubSpot calls https://leads.example.com/...; the proxy forwards http://127.0.0.1:PORT/..."""
    from emulators.hubspot.webhooks import signed_request

    public = "https://leads.example.com"
    settings = ingest_settings(temporal_address(dev_env), workers.task_queue, "demo_led", stack)
    async with ingest_api(settings.model_copy(update={"public_url": public})) as proxied, \
            ingest_api(settings) as direct:
        email, contact_id = await new_lead(proxied, stack, "hs-proxy")
        events = property_change_events(rep_sets(stack, contact_id, lead_stage="MQL"),
                                        portal_id=stack.hubspot.portal_id)
        body, headers = signed_request(f"{public}/v1/webhooks/hubspot",
                                       SECRETS["HUBSPOT_CLIENT_SECRET"], events)

        # Without LEADFLOW_PUBLIC_URL the server sees another URL, refuses and says why.
        refused = await direct.http.post("/v1/webhooks/hubspot", content=body, headers=headers)
        assert refused.status_code == 401 and "LEADFLOW_PUBLIC_URL" in refused.json()["detail"]
        accepted = await proxied.http.post("/v1/webhooks/hubspot", content=body, headers=headers)
        assert accepted.status_code == 202
        await lead_state(leads, email, lambda s: s.stage == "MQL")
        # Signed for the address the proxy forwards to is no longer HubSpot's signature.
        local = await proxied.hubspot(events)
        assert local.status_code == 401


async def test_a_delivery_reads_its_contacts_in_one_batch_call(api, stack, leads):
    contacts = [await new_lead(api, stack, f"hs-batch{i}") for i in range(3)]
    events = property_change_events(
        [change for _, contact_id in contacts
         for change in rep_sets(stack, contact_id, lead_stage="MQL")],
        portal_id=stack.hubspot.portal_id)
    reads = stack.hubspot.count("POST /crm/v3/objects/contacts/batch/read")
    gets = stack.hubspot.count("GET /crm/v3/objects/contacts/{id}")

    assert (await api.hubspot(events)).status_code == 202

    assert stack.hubspot.count("POST /crm/v3/objects/contacts/batch/read") == reads + 1
    assert stack.hubspot.count("GET /crm/v3/objects/contacts/{id}") == gets
    for email, _ in contacts:
        await lead_state(leads, email, lambda s: s.stage == "MQL")


async def test_a_gdpr_deletion_is_delivered_and_accepted(api, stack, leads):
    from hubspot.crm.contacts import PublicGdprDeleteInput

    email, contact_id = await new_lead(api, stack, "hs-gdpr")
    stack.hubspot.webhook_target = (api.hubspot_url(), SECRETS["HUBSPOT_CLIENT_SECRET"])
    try:
        hub = HubSpot(access_token=stack.running["hubspot"].token, host=stack.running["hubspot"].url)
        hub.crm.contacts.basic_api.purge(PublicGdprDeleteInput(object_id=contact_id))
        # Gone for good: not even an archived read finds it.
        assert stack.hubspot.store.find("contacts", contact_id, archived=True) is None
        kind, status, body = await until(lambda: next(
            (d for d in stack.hubspot.deliveries if d[0] == "contact.privacyDeletion"), None))
        # Accepted, never a 5xx; what leadflow then erases is proven in tests/privacy.
        assert status == 202, body
    finally:
        stack.hubspot.webhook_target = None


async def test_a_disqualification_in_hubspot_keeps_the_reps_reason(api, stack, leads):
    email, contact_id = await new_lead(api, stack, "hs-dq", "Demo Requested")
    await lead_state(leads, email, lambda s: s.stage == "MQL")
    await until(lambda: stack.salesforce_lead(email).get("Lead_Stage__c") == "MQL")
    # HubSpot reports each property apart; the reason may come first in the batch.
    changes = rep_sets(stack, contact_id, lead_disqualification_reason="Student / research",
                       lead_stage="Disqualified")
    response = await api.hubspot(property_change_events(changes, portal_id=stack.hubspot.portal_id))
    assert response.status_code == 202 and response.json()["accepted"] == 2
    state = await lead_state(leads, email, lambda s: s.disqualification_reason is not None)
    assert (state.stage, state.disqualification_reason) == ("Disqualified", "student_research")
    await until(lambda: stack.salesforce_lead(email).get("Disqualification_Reason__c") == "student_research")
    # Each vendor syncs in its own lane (issue 14): HubSpot's write may land after Salesforce's.
    await until(lambda: stack.hubspot_contact(email)["lead_disqualification_reason"] == "student_research")
