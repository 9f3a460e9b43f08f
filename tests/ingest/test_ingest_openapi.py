"""The OpenAPI document is served, is valid OpenAPI 3.1, documents every route, and its
schemas agree with what the service accepts and answers."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from starlette.routing import Route

from emulators.hubspot.webhooks import merge_event, property_change_events
from emulators.salesforce.callouts import lead_change
from ingest.app import create_app
from tests.support.ingest_client import ingest_api, ingest_settings, product_event, temporal_address


@pytest.fixture(scope="module")
async def api(dev_env):  # type: ignore[no-untyped-def]
    async with ingest_api(ingest_settings(temporal_address(dev_env), "openapi", "demo_led")) as running:
        yield running


@pytest.fixture(scope="module")
async def document(api):  # type: ignore[no-untyped-def]
    response = await api.http.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def schema_validator(document: dict, schema: dict) -> Draft202012Validator:
    return Draft202012Validator({**schema, "components": document["components"]})


def test_it_is_valid_openapi_and_documents_every_route(document):
    validate(document)  # raises with the first violation of the OpenAPI 3.1 schema
    app = create_app(ingest_settings("127.0.0.1:1", "q", "demo_led"))
    served = {(r.path, m.lower()) for r in app.routes if isinstance(r, Route)
              for m in (r.methods or ()) if m != "HEAD"}
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert documented == served
    for path, ops in document["paths"].items():
        if "post" in ops:
            responses = ops["post"]["responses"]
            assert {"202", "400", "401", "413", "422", "503"} <= set(responses), path
            assert "application/problem+json" in responses["422"]["content"]
            assert "Retry-After" in responses["503"]["headers"]


def test_request_schemas_match_what_senders_post(document):
    def body_schema(path: str) -> Draft202012Validator:
        schema = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        return schema_validator(document, schema)

    good_events = {"events": [product_event("ada@acme.io", "Demo Requested", seats=3)]}
    assert body_schema("/v1/events").is_valid(good_events)
    assert not body_schema("/v1/events").is_valid({"events": []})
    assert not body_schema("/v1/events").is_valid({"events": [{"email": "ada@acme.io"}]})

    changes = [{"objectId": 1001, "propertyName": "lead_stage", "propertyValue": "MQL"}]
    hubspot = property_change_events(changes, portal_id=1) + [merge_event(1, [2], portal_id=1)]
    assert body_schema("/v1/webhooks/hubspot").is_valid(json.loads(json.dumps(hubspot)))
    assert not body_schema("/v1/webhooks/hubspot").is_valid({"objectId": 1})

    lead = {"Id": "00Q000000000001AAA", "Email": "ada@acme.io", "Status": "Working",
            "Lead_Stage__c": "SQL", "SystemModstamp": None}
    assert body_schema("/v1/webhooks/salesforce").is_valid({"leads": [lead_change(lead, "sam@acme.io")]})

    track = {"type": "track", "event": "Workspace Activated", "messageId": "m1", "userId": "a@b.io"}
    assert body_schema("/v1/webhooks/segment").is_valid(track)
    assert body_schema("/v1/webhooks/segment").is_valid([track, track])


async def test_refusals_match_the_problem_schema(api, document):
    problem = schema_validator(document, {"$ref": "#/components/schemas/Problem"})
    for response in (await api.http.post("/v1/events", json={}),
                     await api.events({"email": "nope"}),
                     await api.http.post("/v1/events", content=b"{", headers=api.bearer)):
        assert response.status_code in (400, 401, 422)
        problem.validate(response.json())
