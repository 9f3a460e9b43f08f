"""The service's OpenAPI 3.1 document, built from the same pydantic models that check requests."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic.json_schema import models_json_schema

from ingest.auth import SALESFORCE_SIGNATURE
from ingest.body import MAX_BATCH, MAX_BODY_BYTES
from ingest.models import Accepted, EventBatch, HubSpotEvent, SalesforceCallout, SegmentMessage
from ingest.sources.salesforce import MAX_LEADS

REF = "#/components/schemas/{model}"
PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "instance": {"type": "string"},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["pointer", "detail"],
            "properties": {"pointer": {"type": "string"}, "detail": {"type": "string"}}}},
    },
}
REFUSALS = {
    "400": "Malformed JSON",
    "401": "Missing or wrong token or signature, or a stale HubSpot timestamp",
    "413": f"Body over {MAX_BODY_BYTES} bytes or too many events in one request",
    "422": "Invalid fields (bad email, unknown stage, missing field): `errors` names each",
    "503": "Temporal (or, for HubSpot, the HubSpot API) is unreachable: retry after Retry-After",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/problem+json": {"schema": _ref("Problem")}}}


def _post(summary: str, body: dict[str, Any], security: list[dict[str, list[str]]],
          headers: tuple[str, ...] | list[str] = ()) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "202": {"description": "Temporal accepted every event",
                "content": {"application/json": {"schema": _ref("Accepted")}}},
    }
    responses.update({code: _problem(text) for code, text in REFUSALS.items()})
    responses["503"]["headers"] = {"Retry-After": {"schema": {"type": "integer"},
                                                   "description": "seconds to wait"}}
    op: dict[str, Any] = {
        "summary": summary, "security": security, "responses": responses,
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
    }
    if headers:
        op["parameters"] = [{"name": h, "in": "header", "required": True,
                             "schema": {"type": "string"}} for h in headers]
    return op


def _schemas() -> dict[str, Any]:
    _, top = models_json_schema(
        [(m, "validation") for m in (EventBatch, SegmentMessage, HubSpotEvent, SalesforceCallout)]
        + [(Accepted, "serialization")], ref_template=REF)
    return {**top["$defs"], "Problem": PROBLEM}


@cache
def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "leadflow ingest", "version": "1",
                 "description": "Product events and CRM webhooks become lead workflow signals. "
                                "202 only after Temporal accepted every event."},
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "LEADFLOW_INGEST_TOKEN"}},
        },
        "paths": {
            "/v1/events": {"post": _post(
                f"A product backend's events (at most {MAX_BATCH} per request)",
                _ref("EventBatch"), [{"bearer": []}])},
            "/v1/webhooks/segment": {"post": _post(
                "Segment Webhook destination deliveries, signed with X-Signature (HMAC-SHA1); "
                "a batch (array) also needs the bearer token, as Segment signs its first event only",
                {"oneOf": [_ref("SegmentMessage"),
                           {"type": "array", "items": _ref("SegmentMessage"),
                            "minItems": 1, "maxItems": MAX_BATCH}]},
                [{}], ["X-Signature"])},
            "/v1/webhooks/hubspot": {"post": _post(
                "HubSpot contact webhooks (propertyChange, creation, merge, deletion)",
                {"type": "array", "items": _ref("HubSpotEvent"), "minItems": 1,
                 "maxItems": MAX_BATCH},
                [{}], ["X-HubSpot-Signature-v3", "X-HubSpot-Request-Timestamp"])},
            "/v1/webhooks/salesforce": {"post": _post(
                f"Lead changes from a Salesforce callout (at most {MAX_LEADS} leads), "
                f"signed with {SALESFORCE_SIGNATURE}: hex HMAC-SHA256 of the body",
                _ref("SalesforceCallout"), [{}], [SALESFORCE_SIGNATURE])},
            "/healthz": {"get": {"summary": "Temporal reachable", "responses": {
                "200": {"description": "ok", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"status": {"type": "string"},
                                                     "temporal": {"type": "string"}}}}}},
                "503": _problem("Temporal is unreachable")}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {
                "200": {"description": "text exposition format",
                        "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
            "/openapi.json": {"get": {"summary": "This document", "responses": {
                "200": {"description": "OpenAPI 3.1",
                        "content": {"application/json": {"schema": {"type": "object"}}}}}}},
        },
    }
