"""X-HubSpot-Signature-v3: the published vector, tampering, staleness, and a real delivery."""

from __future__ import annotations

import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from emulators.common import ServerThread
from emulators.hubspot.webhooks import send_property_changes
from ingest.hubspot_signature import sign_v3, verify_v3

SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
URI = "https://www.example.com/webhook_uri"
BODY = "{'example_field':'example_value'}"
STAMP = 15000000
EXPECTED = "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw="
NOW = STAMP / 1000 + 10  # ten seconds after the vector's timestamp, in epoch seconds


def test_published_vector() -> None:
    assert sign_v3(SECRET, "POST", URI, BODY, STAMP) == EXPECTED
    assert verify_v3(SECRET, "POST", URI, BODY, STAMP, EXPECTED, now=NOW)
    assert verify_v3(SECRET, "POST", URI, BODY.encode(), str(STAMP), EXPECTED, now=NOW)


def test_tampering_is_rejected() -> None:
    assert not verify_v3(SECRET, "POST", URI, BODY + " ", STAMP, EXPECTED, now=NOW)
    assert not verify_v3(SECRET, "POST", URI + "?x=1", BODY, STAMP, EXPECTED, now=NOW)
    assert not verify_v3("another-secret", "POST", URI, BODY, STAMP, EXPECTED, now=NOW)
    assert not verify_v3(SECRET, "POST", URI, BODY, STAMP + 1, EXPECTED, now=NOW)
    assert not verify_v3(SECRET, "POST", URI, BODY, STAMP, EXPECTED[:-2] + "A=", now=NOW)
    assert not verify_v3(SECRET, "POST", URI, BODY, STAMP, "", now=NOW)


def test_stale_and_future_timestamps_are_rejected() -> None:
    assert verify_v3(SECRET, "POST", URI, BODY, STAMP, EXPECTED, now=STAMP / 1000 + 299)
    assert not verify_v3(SECRET, "POST", URI, BODY, STAMP, EXPECTED, now=STAMP / 1000 + 301)
    assert not verify_v3(SECRET, "POST", URI, BODY, STAMP, EXPECTED, now=STAMP / 1000 - 301)
    assert not verify_v3(SECRET, "POST", URI, BODY, "not-a-number", EXPECTED, now=NOW)


def test_encoded_uri_characters_are_signed_decoded() -> None:
    signature = sign_v3(SECRET, "POST", "https://h.example/hook?user=a@b.com", BODY, STAMP)
    assert verify_v3(SECRET, "POST", "https://h.example/hook%3Fuser=a%40b.com", BODY, STAMP,
                     signature, now=NOW)


def test_emulator_delivery_passes_the_verifier() -> None:
    received: list[tuple[bool, list]] = []
    secret = "app-client-secret"

    async def hook(request: Request) -> JSONResponse:
        body = await request.body()
        ok = verify_v3(secret, request.method, str(request.url), body,
                       request.headers["X-HubSpot-Request-Timestamp"],
                       request.headers["X-HubSpot-Signature-v3"], now=time.time())
        received.append((ok, await request.json()))
        return JSONResponse({}, status_code=204 if ok else 401)

    with ServerThread(Starlette(routes=[Route("/hooks/hubspot", hook, methods=["POST"])])) as srv:
        target = f"{srv.url}/hooks/hubspot"
        status = send_property_changes(
            target, secret, [{"objectId": 1001, "propertyName": "lifecyclestage",
                              "propertyValue": "customer"}], portal_id=62515)
        forged = send_property_changes(target, "wrong-secret", [{"objectId": 1, "propertyName":
                                                                 "email"}], portal_id=62515)

    assert status == 204 and forged == 401
    ok, events = received[0]
    assert ok and events[0]["subscriptionType"] == "contact.propertyChange"
    assert events[0]["objectId"] == 1001 and events[0]["propertyValue"] == "customer"
    assert events[0]["portalId"] == 62515 and "eventId" in events[0]
