"""CRM object endpoints: /crm/v3/objects/{contacts|companies|tasks}/..."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulators.hubspot import search
from emulators.hubspot.http import api
from emulators.hubspot.schema import iso
from emulators.hubspot.state import HubSpotState
from emulators.hubspot.store import NotFound, Record, ValidationFailed

BATCH_LIMIT = 100
BASE = "/crm/v3/objects/{object_type}"


def _kind(request: Request) -> str:
    kind = request.path_params["object_type"]
    if kind not in ("contacts", "companies", "tasks"):
        raise NotFound(f"Unable to infer object type from: {kind}")
    return kind


def _names(request: Request, body: dict | None = None) -> list[str] | None:
    if body and body.get("properties"):
        return list(body["properties"])
    raw = request.query_params.getlist("properties")
    names = [n for part in raw for n in part.split(",") if n]
    return names or None


def _batch_result(results: list[dict], errors: list[dict], started: datetime) -> Response:
    body: dict = {"status": "COMPLETE", "results": results, "startedAt": iso(started),
                  "completedAt": iso(datetime.now(UTC))}
    if errors:
        body.update(numErrors=len(errors), errors=errors)
        return JSONResponse(body, status_code=207)
    return JSONResponse(body, status_code=200)


def _inputs(body: dict) -> list[dict]:
    inputs = body.get("inputs")
    if not isinstance(inputs, list):
        raise ValidationFailed([], "Invalid input JSON: `inputs` is required")
    if len(inputs) > BATCH_LIMIT:
        raise ValidationFailed(
            [], f"Batch input limit exceeded: {len(inputs)} inputs were sent, "
                f"the maximum is {BATCH_LIMIT}.")
    return inputs


def _not_found_error(ids: list[str]) -> dict:
    return {"status": "error", "category": "OBJECT_NOT_FOUND",
            "message": "Could not get some CONTACT objects, they may be deleted or not exist.",
            "context": {"ids": ids}}


# ---- single-object endpoints -----------------------------------------------------------
def get_one(state: HubSpotState, request: Request, _: dict) -> Response:
    q = request.query_params
    record = state.store.find(_kind(request), request.path_params["object_id"],
                              q.get("idProperty"), (q.get("archived") or "").lower() == "true")
    if record is None:
        return Response(status_code=404)  # HubSpot's GET-by-id 404 has an empty body
    body = record.to_json(_names(request))
    # `associations=tasks,...`: the associated records' ids, read with the record itself
    # (HubSpot CRM objects API, "Retrieve a record": the associations query parameter).
    wanted = [t for part in q.getlist("associations") for t in part.split(",") if t]
    linked = {t: sorted(record.associations.get(t, ()), key=int) for t in wanted}
    if any(linked.values()):
        body["associations"] = {
            t: {"results": [{"id": i, "type": f"{record.object_type[:-1]}_to_{t[:-1]}"}
                            for i in ids]}
            for t, ids in linked.items() if ids}
    return JSONResponse(body)


def create(state: HubSpotState, request: Request, body: dict) -> Response:
    kind = _kind(request)
    clean = state.store.validate(kind, body.get("properties") or {})
    record = state.store.create(kind, clean, body.get("associations"))
    return JSONResponse(record.to_json(list(clean) or None), status_code=201)


def update(state: HubSpotState, request: Request, body: dict) -> Response:
    kind = _kind(request)
    record = state.store.find(kind, request.path_params["object_id"],
                              request.query_params.get("idProperty"))
    if record is None:
        raise NotFound("resource not found")
    clean = state.store.validate(kind, body.get("properties") or {})
    return JSONResponse(state.store.update(record, clean).to_json(list(clean) or None))


def archive(state: HubSpotState, request: Request, _: dict) -> Response:
    record = state.store.find(_kind(request), request.path_params["object_id"])
    if record is not None:
        state.store.archive(record)
    return Response(status_code=204)  # HubSpot answers 204 even for an unknown id


def gdpr_delete(state: HubSpotState, request: Request, body: dict) -> Response:
    """POST /crm/v3/objects/contacts/gdpr-delete `{"objectId", "idProperty"?}`: permanent, 204
    (developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/gdpr/gdpr-delete-contact).
    Subscribed apps get a contact.privacyDeletion webhook for each contact it removed."""
    for record in state.store.gdpr_delete(str(body.get("objectId", "")), body.get("idProperty")):
        state.notify_privacy_deletion(record.id)
    return Response(status_code=204)


def list_page(state: HubSpotState, request: Request, _: dict) -> Response:
    q = request.query_params
    archived = (q.get("archived") or "").lower() == "true"
    rows = sorted((r for r in state.store.records[_kind(request)].values()
                   if r.archived == archived), key=lambda r: int(r.id))
    limit, after = min(int(q.get("limit", 10)), 100), int(q.get("after") or 0)
    page = rows[after:after + limit]
    body: dict = {"results": [r.to_json(_names(request)) for r in page]}
    if after + limit < len(rows):
        body["paging"] = {"next": {"after": str(after + limit)}}
    return JSONResponse(body)


def merge(state: HubSpotState, request: Request, body: dict) -> Response:
    primary = state.store.merge(_kind(request), str(body.get("primaryObjectId")),
                                str(body.get("objectIdToMerge")))
    return JSONResponse(primary.to_json())


def run_search(state: HubSpotState, request: Request, body: dict) -> Response:
    kind = _kind(request)
    return JSONResponse(search.run(state.searchable(kind), body, state.properties[kind],
                                   str(request.base_url).rstrip("/"), kind))


# ---- batch endpoints ---------------------------------------------------------------------
def batch_read(state: HubSpotState, request: Request, body: dict) -> Response:
    """Up to 100 ids a call; `?archived=true` reads deleted and merged-away records (the
    CRM objects API's `archived` query parameter); unknown ids come back as a 207 error."""
    started, kind = datetime.now(UTC), _kind(request)
    archived = (request.query_params.get("archived") or "").lower() == "true"
    found, missing = [], []
    for item in _inputs(body):
        record = state.store.find(kind, str(item.get("id")), body.get("idProperty"), archived)
        (found.append(record.to_json(_names(request, body))) if record
         else missing.append(str(item.get("id"))))
    return _batch_result(found, [_not_found_error(missing)] if missing else [], started)


def batch_create(state: HubSpotState, request: Request, body: dict) -> Response:
    started, kind = datetime.now(UTC), _kind(request)
    inputs = _inputs(body)
    cleans = [state.store.validate(kind, i.get("properties") or {}) for i in inputs]
    made = [state.store.create(kind, c, i.get("associations")) for c, i in zip(cleans, inputs,
                                                                                strict=True)]
    response = _batch_result([r.to_json(list(c)) for r, c in zip(made, cleans, strict=True)], [],
                             started)
    response.status_code = 201
    return response


def batch_update(state: HubSpotState, request: Request, body: dict) -> Response:
    started, kind = datetime.now(UTC), _kind(request)
    inputs = _inputs(body)
    pairs, missing = [], []
    for item in inputs:
        record = state.store.find(kind, str(item.get("id")), item.get("idProperty"))
        clean = state.store.validate(kind, item.get("properties") or {})
        (pairs.append((record, clean)) if record else missing.append(str(item.get("id"))))
    done = [state.store.update(r, c).to_json(list(c) or None) for r, c in pairs]
    return _batch_result(done, [_not_found_error(missing)] if missing else [], started)


def batch_upsert(state: HubSpotState, request: Request, body: dict) -> Response:
    """Upsert by a unique property. Without `objectWriteTraceId`s one invalid input fails the
    whole request (400) and nothing is written; when every input carries one, HubSpot answers
    multi-status instead: 207, the valid inputs written, each invalid one an error whose
    context names its trace id (developers.hubspot.com/docs/api-reference/error-handling,
    "Multi-status errors"). Results echo each input's objectWriteTraceId."""
    started, kind = datetime.now(UTC), _kind(request)
    inputs = _inputs(body)
    keys = [(i.get("idProperty") or "hs_object_id", str(i.get("id", ""))) for i in inputs]
    if len({(p, v.lower()) for p, v in keys}) != len(keys):
        ids = [v for _, v in keys]
        raise ValidationFailed([], f"Duplicate IDs found in batch input: {ids}")
    traced = bool(inputs) and all(i.get("objectWriteTraceId") for i in inputs)
    cleans: list[dict | None] = []
    errors: list[dict] = []
    for item, (prop, key) in zip(inputs, keys, strict=True):
        # The id is a value of the unique property and is validated as one (an email id
        # that is no email address is refused like an email property would be).
        props = {**(item.get("properties") or {}), **({prop: key} if prop == "email" else {})}
        try:
            cleans.append(state.store.validate(kind, props))
        except ValidationFailed as exc:
            if not traced:
                raise
            cleans.append(None)
            errors.append({"status": "error", "category": "VALIDATION_ERROR",
                           "message": exc.message or "Property values were not valid: "
                           + json.dumps(exc.details, separators=(",", ":")),
                           "context": {"objectWriteTraceId": [item["objectWriteTraceId"]],
                                       "ids": [str(item.get("id", ""))]}})
    results = []
    for (prop, key), clean, item in zip(keys, cleans, inputs, strict=True):
        if clean is None:
            continue
        record: Record | None = state.store.find(kind, key, prop)
        is_new = record is None
        if record is None:
            record = state.store.create(kind, {**clean, prop: key.lower() if prop == "email"
                                               else key})
        else:  # found by its id: the id is not written over the record's own value
            state.store.update(record, {k: v for k, v in clean.items() if k != prop})
        out = {**record.to_json(sorted({*clean, prop})), "new": is_new}
        if item.get("objectWriteTraceId"):
            out["objectWriteTraceId"] = item["objectWriteTraceId"]
        results.append(out)
    return _batch_result(results, errors, started)


def batch_archive(state: HubSpotState, request: Request, body: dict) -> Response:
    kind = _kind(request)
    for item in _inputs(body):
        record = state.store.find(kind, str(item.get("id")))
        if record:
            state.store.archive(record)
    return Response(status_code=204)


def routes() -> list[Route]:
    one = BASE + "/{object_id}"
    batch = BASE + "/batch/"
    table = [
        (BASE + "/search", "POST", run_search), (BASE + "/merge", "POST", merge),
        ("/crm/v3/objects/contacts/gdpr-delete", "POST", gdpr_delete),
        (batch + "read", "POST", batch_read), (batch + "create", "POST", batch_create),
        (batch + "update", "POST", batch_update), (batch + "upsert", "POST", batch_upsert),
        (batch + "archive", "POST", batch_archive),
        (BASE, "GET", list_page), (BASE, "POST", create),
        (one, "GET", get_one), (one, "PATCH", update), (one, "DELETE", archive),
    ]
    template = {one: BASE + "/{id}"}
    return [Route(path, api(template.get(path, path), handler,
                            search=handler is run_search), methods=[method])
            for path, method, handler in table]

