"""Sends HubSpot-style webhook deliveries: a JSON array of contact.propertyChange events,
signed with X-HubSpot-Signature-v3.

The signature is computed here independently of ingest.hubspot_signature, so a test that
sends with this module and verifies with the connector checks one against the other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time

import requests

_event_ids = itertools.count(100)


def signature_v3(secret: str, method: str, uri: str, body: str, timestamp_ms: int) -> str:
    message = f"{method}{uri}{body}{timestamp_ms}".encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def property_change_events(changes: list[dict], *, portal_id: int, app_id: int = 4242,
                           occurred_at_ms: int | None = None) -> list[dict]:
    """HubSpot's event objects for changes like {"objectId", "propertyName", "propertyValue"}."""
    at = occurred_at_ms or int(time.time() * 1000)
    return [{
        "eventId": next(_event_ids),
        "subscriptionId": 2001,
        "portalId": portal_id,
        "appId": app_id,
        "occurredAt": at,
        "subscriptionType": "contact.propertyChange",
        "attemptNumber": 0,
        "objectId": int(change["objectId"]),
        "propertyName": change["propertyName"],
        "propertyValue": str(change.get("propertyValue", "")),
        "changeSource": change.get("changeSource", "CRM_UI"),
        "sourceId": change.get("sourceId", "userId:9101"),
    } for change in changes]


def signed_request(target_url: str, secret: str, events: list[dict],
                   timestamp_ms: int | None = None) -> tuple[str, dict[str, str]]:
    """(body, headers) exactly as HubSpot would POST them to target_url."""
    stamp = timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
    body = json.dumps(events, separators=(",", ":"))
    headers = {
        "Content-Type": "application/json",
        "X-HubSpot-Request-Timestamp": str(stamp),
        "X-HubSpot-Signature-v3": signature_v3(secret, "POST", target_url, body, stamp),
        "X-HubSpot-Signature-Version": "v3",
        "User-Agent": "HubSpot Connect 2.0 (http://dev.hubspot.com/)",
    }
    return body, headers


def send_property_changes(target_url: str, secret: str, changes: list[dict], *, portal_id: int,
                          timestamp_ms: int | None = None) -> int:
    """POST one signed delivery to target_url; returns the receiver's status code."""
    events = property_change_events(changes, portal_id=portal_id)
    body, headers = signed_request(target_url, secret, events, timestamp_ms)
    response = requests.post(target_url, data=body.encode(), headers=headers, timeout=10)
    return response.status_code


def merge_event(primary_id: str | int, merged_ids: list[str | int], *, portal_id: int,
                app_id: int = 4242, source_id: str = "userId:9101") -> dict:
    """HubSpot's contact.merge event: the primary survives, the merged ids are archived."""
    return {
        "eventId": next(_event_ids), "subscriptionId": 2002, "portalId": portal_id,
        "appId": app_id, "occurredAt": int(time.time() * 1000),
        "subscriptionType": "contact.merge", "attemptNumber": 0, "objectId": int(primary_id),
        "changeFlag": "MERGED", "changeSource": "CRM_UI", "sourceId": source_id,
        "primaryObjectId": int(primary_id), "mergedObjectIds": [int(m) for m in merged_ids],
        "newObjectId": int(primary_id), "numberOfPropertiesMoved": 1,
    }


def deletion_event(object_id: str | int, *, portal_id: int, app_id: int = 4242,
                   source_id: str = "userId:9101") -> dict:
    return {
        "eventId": next(_event_ids), "subscriptionId": 2003, "portalId": portal_id,
        "appId": app_id, "occurredAt": int(time.time() * 1000),
        "subscriptionType": "contact.deletion", "attemptNumber": 0, "objectId": int(object_id),
        "changeFlag": "DELETED", "changeSource": "CRM_UI", "sourceId": source_id,
    }
