"""Associations v4: `PUT /crm/v4/objects/{fromObjectType}/{fromObjectId}/associations/default/
{toObjectType}/{toObjectId}` creates the default (unlabeled) association between two records, in
both directions (developers.hubspot.com/docs/api-reference/crm-associations-v4/guide, "Associate
records without a label"; the contact-to-company default type is HUBSPOT_DEFINED 279, its
inverse 280). Reading them back: the objects API's `associations` query parameter, or
`POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read` with up to 1,000 record
ids (associations v4 guide, "Retrieve associated records"): one result per record that has
associations, `{"from": {"id"}, "to": [{"toObjectId", "associationTypes": [...]}]}`."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulators.hubspot.http import api
from emulators.hubspot.schema import iso
from emulators.hubspot.state import HubSpotState
from emulators.hubspot.store import NotFound, ValidationFailed

# Object type names the v4 paths accept: plural, singular or the object type id.
_TYPES = {"contacts": "contacts", "contact": "contacts", "0-1": "contacts",
          "companies": "companies", "company": "companies", "0-2": "companies"}
_DEFAULT_TYPE_IDS = {("contacts", "companies"): 279, ("companies", "contacts"): 280}
PATH = ("/crm/v4/objects/{from_type}/{from_id}/associations/default/{to_type}/{to_id}")


def associate_default(state: HubSpotState, request: Request, _: dict) -> Response:
    p = request.path_params
    kinds = (_TYPES.get(p["from_type"]), _TYPES.get(p["to_type"]))
    if None in kinds:
        raise NotFound(f"Unable to infer object type from: {p['from_type']} / {p['to_type']}")
    from_kind, to_kind = kinds
    source = state.store.find(str(from_kind), p["from_id"])
    target = state.store.find(str(to_kind), p["to_id"])
    if source is None or target is None:
        raise NotFound(f"No {from_kind} with id {p['from_id']} or {to_kind} with id {p['to_id']}")
    state.associate(source, target)
    results = [{"from": {"id": a.id}, "to": {"id": b.id}, "associationSpec": {
        "associationCategory": "HUBSPOT_DEFINED",
        "associationTypeId": _DEFAULT_TYPE_IDS.get((a.object_type, b.object_type), 1)}}
        for a, b in ((source, target), (target, source))]
    return JSONResponse({"status": "COMPLETE", "results": results})


BATCH_READ = "/crm/v4/associations/{from_type}/{to_type}/batch/read"
BATCH_READ_LIMIT = 1000


def batch_read(state: HubSpotState, request: Request, body: dict) -> Response:
    p = request.path_params
    kinds = (_TYPES.get(p["from_type"]), _TYPES.get(p["to_type"]))
    if None in kinds:
        raise NotFound(f"Unable to infer object type from: {p['from_type']} / {p['to_type']}")
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or len(inputs) > BATCH_READ_LIMIT:
        raise ValidationFailed([], f"`inputs` is required, at most {BATCH_READ_LIMIT}")
    from_kind, to_kind = str(kinds[0]), str(kinds[1])
    type_id = _DEFAULT_TYPE_IDS.get((from_kind, to_kind), 1)
    results = []
    for item in inputs:
        record = state.store.find(from_kind, str(item.get("id")))
        linked = sorted(record.associations.get(to_kind, ()), key=int) if record else []
        if linked:
            results.append({"from": {"id": record.id}, "to": [  # type: ignore[union-attr]
                {"toObjectId": int(i), "associationTypes": [
                    {"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}]}
                for i in linked]})
    now = iso(datetime.now(UTC))
    return JSONResponse({"status": "COMPLETE", "results": results, "startedAt": now,
                         "completedAt": now})


def routes() -> list[Route]:
    return [Route(PATH, api(PATH, associate_default), methods=["PUT"]),
            Route(BATCH_READ, api(BATCH_READ, batch_read), methods=["POST"])]
