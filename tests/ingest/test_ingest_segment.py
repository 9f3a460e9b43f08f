"""Segment's Webhook destination: a signed `Workspace Activated` moves a trial lead on, the same
message twice counts once, and a batch (signed over its first event only) needs the token."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from tests.support.ingest_client import (
    SECRETS,
    ingest_api,
    ingest_settings,
    lead_state,
    product_event,
    temporal_address,
)
from tests.support.lead_harness import unique_email, until
from workflows.lead_client import LeadClient


@pytest.fixture(scope="module")
async def api(dev_env, stack, workers):  # type: ignore[no-untyped-def]
    settings = ingest_settings(temporal_address(dev_env), workers.task_queue, "trial_led", stack)
    async with ingest_api(settings) as running:
        yield running


def track(email: str, event: str, message_id: str | None = None) -> dict:
    return {"type": "track", "event": event, "userId": email,
            "messageId": message_id or f"ajs-{uuid.uuid4().hex}",
            "timestamp": datetime.now(UTC).isoformat(), "properties": {"plan": "team", "seats": 4},
            "context": {"traits": {"email": email}}}


async def test_workspace_activated_moves_a_trial_lead_and_the_crms_show_it(api, stack):
    email = unique_email("trial")
    assert (await api.events(product_event(email, "Trial Started"))).status_code == 202
    await until(lambda: stack.hubspot_contact(email).get("lead_stage") == "New Trial Signup")

    response = await api.segment(track(email, "Workspace Activated"))
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 1, "skipped": []}
    await until(lambda: stack.hubspot_contact(email).get("lead_stage") == "Trial Activated")
    await until(lambda: stack.salesforce_lead(email).get("Lead_Stage__c") == "Trial Activated")
    assert stack.hubspot_contact(email)["hs_lead_status"] == "OPEN"
    assert ("New Trial Signup", "Trial Activated") in stack.segment_stage_changes(email)


async def test_the_same_message_twice_counts_once(api, dev_env, workers):
    email = unique_email("twice")
    message = track(email, "Teammate Invited")
    for _ in range(2):
        assert (await api.segment(message)).status_code == 202
    leads = LeadClient(dev_env.client, workers.task_queue, "trial_led")
    state = await lead_state(leads, email, lambda s: s.events_applied >= 1)
    assert state.score == 25  # one teammate invite, not two (+ 5 for a business email)
    assert state.touches == {"New Trial Signup": 1}


async def test_signature_and_batches(api):
    email = unique_email("seg")
    body = track(email, "Feature Used")
    bad = await api.segment(body, headers={"X-Signature": "0" * 40})
    assert bad.status_code == 401 and bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["type"].endswith("bad-signature")
    unsigned = await api.http.post("/v1/webhooks/segment", json=body)
    assert unsigned.status_code == 401 and "X-Signature" in unsigned.json()["detail"]

    # A batch signed over its first event only: accepted with the token, refused without it.
    first, second = track(email, "Feature Used"), track(email, "Pricing Page Viewed")
    signature = api.segment_signature(json.dumps(first, separators=(",", ":")).encode())
    batch = json.dumps([first, second]).encode()
    headers = {"Content-Type": "application/json", "X-Signature": signature}
    refused = await api.http.post("/v1/webhooks/segment", content=batch, headers=headers)
    assert refused.status_code == 401 and refused.json()["type"].endswith("unsigned-batch")
    accepted = await api.http.post("/v1/webhooks/segment", content=batch,
                                   headers={**headers, **api.bearer})
    assert accepted.status_code == 202 and accepted.json()["accepted"] == 2
    assert SECRETS["SEGMENT_WEBHOOK_SECRET"] not in accepted.text


async def test_identify_and_own_events_are_skipped_not_refused(api):
    email = unique_email("skip")
    identify = {"type": "identify", "userId": email, "messageId": uuid.uuid4().hex,
                "traits": {"email": email}}
    own = track(email, "Lead Stage Changed")
    for message in (identify, own):
        response = await api.segment(message)
        assert response.status_code == 202 and response.json()["accepted"] == 0
        assert response.json()["skipped"][0]["reason"]
