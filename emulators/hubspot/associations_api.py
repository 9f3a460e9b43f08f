"""Associations v4: `PUT /crm/v4/objects/{fromObjectType}/{fromObjectId}/associations/default/
{toObjectType}/{toObjectId}` creates the default (unlabeled) association between two records, in
both directions (developers.hubspot.com/docs/api-reference/crm-associations-v4/guide, "Associate
records without a label"; the contact-to-company default type is HUBSPOT_DEFINED 279, its
inverse 280). Reading them back is the objects API's `associations` query parameter."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulators.hubspot.http import api
from emulators.hubspot.state import HubSpotState
from emulators.hubspot.store import NotFound

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


def routes() -> list[Route]:
    return [Route(PATH, api(PATH, associate_default), methods=["PUT"])]
