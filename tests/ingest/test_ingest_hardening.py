"""Client mistakes found from outside (issue 14): each is a 4xx problem naming the field, never
a 5xx, and nothing oversized or malformed reaches Temporal."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from emulators.hubspot.webhooks import signature_v3
from lifecycle.events import MAX_EMAIL_LENGTH, MAX_EVENT_BYTES
from tests.support.ingest_client import ingest_api, ingest_settings, product_event, temporal_address


@pytest.fixture(scope="module")
async def api(dev_env, stack):  # type: ignore[no-untyped-def]
    queue = f"harden-{uuid.uuid4().hex[:8]}"  # no worker: accepted signals wait on the queue
    async with ingest_api(ingest_settings(temporal_address(dev_env), queue, "demo_led", stack)) as running:
        yield running


def problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    body: dict = response.json()
    return body


def pointers(body: dict) -> dict[str, str]:
    return {e["pointer"]: e["detail"] for e in body.get("errors", [])}


async def test_a_hubspot_timestamp_too_large_for_a_date_is_a_401(api):
    body = json.dumps([{"eventId": 1, "subscriptionType": "contact.creation", "objectId": 1,
                        "occurredAt": 1}])
    for stamp in ("9" * 400, "9" * 5000, str(10**19)):
        headers = {"X-HubSpot-Request-Timestamp": stamp, "Content-Type": "application/json",
                   "X-HubSpot-Signature-v3": signature_v3(api.secrets["HUBSPOT_CLIENT_SECRET"], "POST",
                                                          api.hubspot_url(), body, int(time.time()))}
        answer = await api.http.post("/v1/webhooks/hubspot", content=body, headers=headers)
        assert problem(answer, 401)["type"].endswith("stale-timestamp")


async def test_a_trailing_slash_is_a_404_problem_not_a_redirect(api):
    answer = await api.http.post("/v1/events/", json={"events": []}, headers=api.bearer)
    assert problem(answer, 404)["type"].endswith("not-found")


async def test_a_segment_email_too_long_is_a_422_naming_the_field(api):
    long_email = "a" * 60 + "@" + "b" * 40 + ".io"  # within every other limit of an address
    answer = await api.segment({"type": "track", "messageId": uuid.uuid4().hex, "event": "Demo Requested",
                                "properties": {"email": long_email}})
    errors = pointers(problem(answer, 422))
    assert f"at most {MAX_EMAIL_LENGTH} characters" in errors["#/properties/email"]


@pytest.mark.parametrize("email", ["ada\x00@acme.io", "a\u200bda@acme.io", "ada@acme\u202e.io",
                                   "ada@acme.io\n", "ada\t@acme.io", "a@" + "b" * 80 + ".io"])
async def test_emails_with_control_invisible_or_bidi_characters_or_too_long_are_refused(api, email):
    answer = await api.events(product_event(email, "Demo Requested"))
    assert "not an email address" in pointers(problem(answer, 422))["#/events/0/email"]


async def test_an_email_has_one_normal_form(api):
    answer = await api.events(product_event("  Ada.Lovelace@ACME.IO ", "Demo Requested"))
    assert answer.status_code == 202, answer.text


async def test_an_event_larger_than_the_limit_is_a_413_naming_it(api):
    big = product_event("ada@acme.io", "Demo Requested", notes="x" * MAX_EVENT_BYTES)
    small = product_event("ada@acme.io", "Demo Requested", notes="x" * 100)
    answer = await api.events(small, big)
    body = problem(answer, 413)
    assert f"{MAX_EVENT_BYTES}" in pointers(body)["#/events/1"]
    segment = await api.segment({"type": "track", "messageId": uuid.uuid4().hex, "event": "Demo Requested",
                                 "properties": {"email": "ada@acme.io", "blob": "y" * MAX_EVENT_BYTES}})
    assert "#" in pointers(problem(segment, 413))


async def test_every_field_is_bounded(api):
    answer = await api.events(product_event("ada@acme.io", "Demo Requested", **{"k" * 300: "v"}))
    assert problem(answer, 422)["errors"][0]["pointer"].startswith("#/events/0/properties")
    answer = await api.segment({"type": "track", "messageId": uuid.uuid4().hex, "event": "Demo Requested",
                                "properties": {"email": "ada@acme.io"}, "anonymousId": "z" * 1000})
    assert "#/anonymousId" in pointers(problem(answer, 422))
