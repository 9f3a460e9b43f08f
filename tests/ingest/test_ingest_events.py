"""POST /v1/events: the product backend's batches, its token, and every way a batch is refused."""

from __future__ import annotations

from ingest.body import MAX_BATCH, MAX_BODY_BYTES
from tests.support.ingest_client import (
    lead_state,
    product_event,
)
from tests.support.lead_harness import unique_email
from workflows.lead_client import LeadClient


async def test_a_batch_lands_and_the_same_event_twice_counts_once(api, dev_env, workers):
    leads = LeadClient(dev_env.client, workers.task_queue, "demo_led")
    email = unique_email("batch")
    pricing = product_event(email, "Pricing Page Viewed")
    unknown = product_event(email, "Opened The Mobile App", platform="ios", build=42)
    first = await api.events(pricing, unknown)
    assert first.status_code == 202 and first.json() == {"accepted": 2, "skipped": []}
    again = await api.events(pricing)  # a retry after a lost response
    assert again.status_code == 202

    state = await lead_state(leads, email, lambda s: s.events_applied >= 2)
    assert state.score == 15 + 5  # the pricing visit once, not twice (+ 5: a business email)
    assert state.touches == {"New Lead": 2}  # the unknown name is a touch, not an error
    assert state.fields["platform"] == "ios" and state.fields["build"] == "42"
    assert state.events_applied == 2


async def test_token_is_required(api):
    event = product_event(unique_email("anon"), "Demo Requested")
    missing = await api.http.post("/v1/events", json={"events": [event]})
    assert missing.status_code == 401 and missing.json()["type"].endswith("missing-token")
    wrong = await api.http.post("/v1/events", json={"events": [event]},
                                headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json()["type"].endswith("bad-token")


async def test_refusals_are_problems_that_name_the_field(api):
    post = api.http.post
    malformed = await post("/v1/events", content=b'{"events": [', headers=api.bearer)
    assert malformed.status_code == 400 and "not valid JSON" in malformed.json()["detail"]

    bad = product_event("ada(at)acme.io", "Demo Requested")
    del bad["occurred_at"]
    invalid = await api.events(bad, product_event("ok@acme.io", "x") | {"occurred_at": "2026-01-01T09:00"})
    assert invalid.status_code == 422
    assert invalid.headers["content-type"] == "application/problem+json"
    errors = {e["pointer"]: e["detail"] for e in invalid.json()["errors"]}
    assert "not an email address" in errors["#/events/0/email"]
    assert errors["#/events/0/occurred_at"] == "Field required"
    assert "timezone" in errors["#/events/1/occurred_at"]

    too_many = await api.events(*[product_event("a@acme.io", "x")] * (MAX_BATCH + 1))
    assert too_many.status_code == 413 and f"limit is {MAX_BATCH}" in too_many.json()["detail"]
    huge = await post("/v1/events", content=b" " * (MAX_BODY_BYTES + 1), headers=api.bearer)
    assert huge.status_code == 413

    nowhere = await api.http.get("/v1/nothing")
    assert nowhere.status_code == 404 and nowhere.json()["status"] == 404
    wrong_method = await api.http.get("/v1/events")
    assert wrong_method.status_code == 405


async def test_metrics_count_requests_rejections_and_signal_latency(api):
    await api.events(product_event(unique_email("metrics"), "Demo Requested"))
    await api.http.post("/v1/events", json={})
    text = (await api.http.get("/metrics")).text
    assert 'leadflow_ingest_requests_total{endpoint="/v1/events",status="202"}' in text
    assert 'leadflow_ingest_rejections_total{endpoint="/v1/events",reason="missing-token"}' in text
    assert 'leadflow_ingest_signal_latency_seconds_count{operation="signal"}' in text
    assert 'leadflow_ingest_actions_total{outcome="signal",source="product"}' in text
