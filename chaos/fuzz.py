"""Bad input at volume: requests a careless or hostile client sends to every ingest endpoint,
correctly signed more often than not (so the payload itself is what gets judged). Every answer
must be 202 or a 4xx problem; any 5xx is a failure. Seeded, so a run can be repeated."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import time
from collections import Counter
from typing import Any

import httpx

from chaos.stack import SECRETS, ChaosStack
from ingest.hubspot_signature import sign_v3

ENDPOINTS = ["/v1/events", "/v1/webhooks/segment", "/v1/webhooks/hubspot", "/v1/webhooks/salesforce"]
# A few leads only: accepted fuzz must not turn into thousands of leads for the worker.
GOOD_EMAILS = [f"fuzz-{i}@chaos.example.com" for i in range(10)]
ODD_EMAILS = ["ada\x00@acme.io", "a\u200bda@acme.io", "ada@acme\u202e.io", "ada@acme.io\n", "ADA@Acme.IO ",
              "a" * 60 + "@" + "b" * 40 + ".io", "a" * 300 + "@acme.io", "no-at", "", "a@b",
              "\ufeffada@acme.io", "ada@acme.io\r\n", "\u2066ada@acme.io", "ada@@acme.io"]
STAMPS = ["2026-11-23T08:00:00Z", "2026-11-23T08:00:00", "yesterday", "9999-99-99T99:99:99Z", "", None, 1e300]
WEIRD = [None, True, -1, 1e308, "", "x" * 5000, [], {}, [1, [2, [3]]], {"a": {"b": {"c": 1}}}, "\ud800",
         "\x00\x01", 10**30]


def _value(r: random.Random, good: Any) -> Any:
    return good if r.random() < 0.6 else r.choice(WEIRD)


def _email(r: random.Random) -> Any:
    return r.choice(GOOD_EMAILS) if r.random() < 0.4 else _value(r, r.choice(ODD_EMAILS))


def _properties(r: random.Random) -> Any:
    props = {f"p{i}": r.choice(["x", "y" * r.choice([10, 1000, 20_000, 40_000]), 1, True, None])
             for i in range(r.randint(0, 4))}
    if r.random() < 0.1:
        props["k" * r.choice([201, 5000])] = "v"
    return _value(r, props)


def _product(r: random.Random) -> Any:
    return {"event_id": _value(r, f"fz-{r.getrandbits(48):x}"), "email": _email(r),
            "name": _value(r, r.choice(["Demo Requested", "Workspace Activated", "Odd \u202e"])),
            "occurred_at": r.choice(STAMPS), "properties": _properties(r)}


def _segment(r: random.Random) -> Any:
    props = _properties(r)
    return {"type": r.choice(["track", "track", "identify", 3]),
            "messageId": _value(r, f"m-{r.getrandbits(48):x}"),
            "event": _value(r, "Demo Requested"), "timestamp": r.choice(STAMPS),
            "anonymousId": _value(r, "anon" * r.choice([1, 100])),
            "properties": _value(r, {"email": _email(r), **(props if isinstance(props, dict) else {})})}


def _hubspot(r: random.Random) -> Any:
    return {"eventId": _value(r, r.getrandbits(40)), "objectId": _value(r, r.choice([1, -5, 10**20])),
            "subscriptionType": _value(r, r.choice(["contact.propertyChange", "contact.creation",
                                                    "contact.deletion", "contact.merge", "x"])),
            "occurredAt": _value(r, r.choice([int(time.time() * 1000), 10**19, -1])),
            "propertyName": _value(r, "lead_stage"), "propertyValue": _value(r, "MQL"),
            "mergedObjectIds": _value(r, [1, 2])}


def _salesforce(r: random.Random) -> Any:
    return {"Id": _value(r, r.choice(["00Q000000000001AAA", "short"])), "Email": _email(r),
            "Status": _value(r, "Working"), "Lead_Stage__c": _value(r, r.choice(["MQL", "Nowhere"])),
            "MasterRecordId": r.choice([None, None, "00Q000000000002AAA"]),
            "MasterRecordEmail": r.choice([None, _email(r)]), "SystemModstamp": r.choice(STAMPS)}


def request(r: random.Random, url: str) -> tuple[str, bytes, dict[str, str]]:
    endpoint = r.choice(ENDPOINTS)
    n = r.choice([1, 1, 2, 5, 101])
    shape = {"/v1/events": lambda: {"events": [_product(r) for _ in range(n)]},
             "/v1/webhooks/segment": lambda: _segment(r) if n == 1 else [_segment(r) for _ in range(n)],
             "/v1/webhooks/hubspot": lambda: [_hubspot(r) for _ in range(n)],
             "/v1/webhooks/salesforce": lambda: {"leads": [_salesforce(r) for _ in range(n)]}}[endpoint]
    kind = r.random()
    if kind < 0.05:
        body = bytes(r.getrandbits(8) for _ in range(r.randint(0, 300)))
    elif kind < 0.1:
        body = b'{"events": [' * r.choice([1, 50, 5000])
    else:
        body = json.dumps(shape()).encode()
    path = endpoint + ("/" if r.random() < 0.05 else "")
    return path, body, _signed(r, endpoint, url + endpoint, body)


def _signed(r: random.Random, endpoint: str, uri: str, body: bytes) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if r.random() < 0.15:
        return headers  # unsigned
    if endpoint == "/v1/events":
        return headers | {"Authorization": "Bearer {token}"}
    if endpoint == "/v1/webhooks/segment":
        key = SECRETS["SEGMENT_WEBHOOK_SECRET"].encode()
        return headers | {"X-Signature": hmac.new(key, body, hashlib.sha1).hexdigest(),
                          "Authorization": "Bearer {token}"}
    if endpoint == "/v1/webhooks/salesforce":
        key = SECRETS["SALESFORCE_WEBHOOK_SECRET"].encode()
        return headers | {"X-Leadflow-Signature": hmac.new(key, body, hashlib.sha256).hexdigest()}
    stamp = r.choice([str(int(time.time() * 1000))] * 4 + ["9" * 400, "9" * 5000, str(10**19), "-1"])
    text = body.decode("utf-8", errors="replace")
    return headers | {"X-HubSpot-Request-Timestamp": stamp,
                      "X-HubSpot-Signature-v3": sign_v3(SECRETS["HUBSPOT_CLIENT_SECRET"], "POST", uri, text,
                                                        stamp)}


async def run(stack: ChaosStack, count: int, seed: int = 14, concurrency: int = 16) -> Counter[int]:
    r = random.Random(seed)
    statuses: Counter[int] = Counter()
    requests = [request(r, stack.ingest_url) for _ in range(count)]
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=stack.ingest_url, timeout=60) as http:

        async def one(path: str, body: bytes, headers: dict[str, str]) -> None:
            headers = {k: v.replace("{token}", stack.token) for k, v in headers.items()}
            async with gate:
                answer = await http.post(path, content=body, headers=headers)
            statuses[answer.status_code] += 1
            if answer.status_code >= 500:
                print(f"  5xx: {answer.status_code} {path} {answer.text[:200]}", flush=True)

        await asyncio.gather(*(one(*req) for req in requests))
    return statuses
