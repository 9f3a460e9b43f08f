"""sObject REST and sObject Collections handlers (create, read, update, upsert, delete)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from emulators.salesforce import schema
from emulators.salesforce.schema import API_VERSION, error
from emulators.salesforce.state import PREFIX, SalesforceState, Save
from emulators.salesforce.wire import error_response, errors_response, record_json

COLLECTION_LIMIT = 200
SUPPORTED = ("Lead", "Account", "Task", "User")
_LOCKED = "unable to obtain exclusive access to this record or 1 records: "
_ROLLED_BACK = error("ALL_OR_NONE_OPERATION_ROLLED_BACK", "Record rolled back because not all "
                     "records were valid and the request was using AllOrNone header")


def save_options(request: Request) -> Save:
    """The headers that change a save.

    REST API Developer Guide, "Duplicate Rule Header": `Sforce-Duplicate-Rule-Header:
    allowSave=true; ...`, fields separated by `;`, every field false unless sent.
    REST API Developer Guide, "Assignment Rule Header"
    (developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_autoassign.htm):
    `Sforce-Auto-Assign: TRUE|FALSE` (not case-sensitive); without the header the active
    assignment rules run on Leads created or updated.
    """
    raw = request.headers.get("Sforce-Duplicate-Rule-Header", "")
    fields = dict(part.strip().partition("=")[::2] for part in raw.split(";") if part.strip())
    return Save(allow_save=fields.get("allowSave", "").strip().lower() == "true",
                auto_assign=request.headers.get("Sforce-Auto-Assign", "TRUE").strip().upper()
                != "FALSE")


def not_found() -> JSONResponse:
    return error_response(404, "NOT_FOUND", "The requested resource does not exist")


def bad_field(sobject: str, name: str) -> JSONResponse:
    return error_response(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type "
                          f"{sobject}")


async def single(state: SalesforceState, request: Request, parts: list[str]) -> Response:
    """sobjects/{type}[/describe | /{id} | /{extField}/{value}]."""
    sobject, rest, method = parts[0], parts[1:], request.method
    if sobject not in SUPPORTED:
        return error_response(404, "NOT_FOUND", f"The requested resource does not exist: "
                              f"{sobject}")
    if rest == ["describe"]:
        return JSONResponse(schema.describe(sobject, state.custom_fields, state.statuses))
    if not rest:
        if method == "POST":
            return await _create(state, sobject, await request.json(), save_options(request))
        return JSONResponse({"objectDescribe": schema.describe(sobject, state.custom_fields,
                                                               state.statuses),
                             "recentItems": []})
    if len(rest) == 2:
        return await _by_external_id(state, request, sobject, rest[0], rest[1])
    return await _by_id(state, request, sobject, rest[0])


async def _create(
    state: SalesforceState, sobject: str, body: dict[str, Any], save: Save
) -> Response:
    if name := schema.unknown_field(sobject, body, state.custom_fields):
        return bad_field(sobject, name)
    if state.take_lock_failure():
        return errors_response(400, [error("UNABLE_TO_LOCK_ROW", _LOCKED + sobject)])
    record_id, errors = state.insert(sobject, body, save=save)
    if errors:
        return errors_response(400, errors)
    return JSONResponse({"id": record_id, "success": True, "errors": []}, status_code=201)


async def _by_id(state: SalesforceState, request: Request, sobject: str, rid: str) -> Response:
    record = state.get(sobject, rid)
    if record is None:
        return not_found()
    if record.get("IsDeleted") and request.method != "DELETE":
        return error_response(404, "ENTITY_IS_DELETED", "entity is deleted")
    if request.method == "GET":
        return JSONResponse(_full(state, sobject, record))
    if request.method == "DELETE":
        errors = state.delete(sobject, rid)
        return errors_response(404, errors) if errors else Response(status_code=204)
    body = await request.json()
    if name := schema.unknown_field(sobject, body, state.custom_fields):
        return bad_field(sobject, name)
    if state.take_lock_failure():
        return errors_response(400, [error("UNABLE_TO_LOCK_ROW", _LOCKED + rid)])
    errors = state.update(sobject, rid, body, save=save_options(request))
    return errors_response(400, errors) if errors else Response(status_code=204)


# REST API Developer Guide, "Get Records Using sObject Rows by External ID": some top-level
# domains conflict with file format extensions, so an external id value such as
# example@email.inc in the URL answers 404 Not Found ("Run a query ... to retrieve the record
# ID" is the documented workaround).
FORMAT_LIKE_ENDINGS = (".inc", ".json", ".xml")


async def _by_external_id(
    state: SalesforceState, request: Request, sobject: str, field: str, key: str
) -> Response:
    if key.lower().endswith(FORMAT_LIKE_ENDINGS):
        return not_found()
    spec = schema.fields_for(sobject, state.custom_fields).get(field)
    if spec is None or not (spec.external_id or field == "Id"):
        return error_response(404, "NOT_FOUND", "Provided external ID field does not exist or "
                              f"is not accessible: {field}")
    if request.method == "GET":
        found = state.find(sobject, field, key)
        if len(found) > 1:
            return _several(sobject, [r["Id"] for r in found])
        return JSONResponse(_full(state, sobject, found[0])) if found else not_found()
    body = await request.json()
    if name := schema.unknown_field(sobject, body, state.custom_fields):
        return bad_field(sobject, name)
    if state.take_lock_failure():
        return errors_response(400, [error("UNABLE_TO_LOCK_ROW", _LOCKED + key)])
    record_id, created, errors, several = state.upsert(sobject, field, key, body,
                                                       save=save_options(request))
    if several:
        return _several(sobject, several)
    if errors:
        return errors_response(400, errors)
    return JSONResponse({"id": record_id, "success": True, "errors": [], "created": created},
                        status_code=201 if created else 200)


def _several(sobject: str, ids: list[str]) -> JSONResponse:
    return JSONResponse([f"/services/data/v{API_VERSION}/sobjects/{sobject}/{i}" for i in ids],
                        status_code=300)


def _full(state: SalesforceState, sobject: str, record: dict[str, Any]) -> dict[str, Any]:
    return record_json(sobject, record, list(schema.fields_for(sobject, state.custom_fields)))


async def collection(state: SalesforceState, request: Request, parts: list[str]) -> Response:
    """composite/sobjects (POST create, PATCH update, DELETE) and .../{type}/{extField} upsert."""
    if request.method == "DELETE":
        ids = [i for i in request.query_params.get("ids", "").split(",") if i]
        kinds = {prefix: sobject for sobject, prefix in PREFIX.items()}
        return _run(state, [(kinds.get(i[:3], "Task"), {"Id": i}) for i in ids],
                    request.query_params.get("allOrNone") == "true", "delete", None, Save())
    body = await request.json()
    records = body.get("records") or []
    if len(records) > COLLECTION_LIMIT:
        return error_response(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit "
                              f"more than {COLLECTION_LIMIT} records into this call")
    typed = []
    for rec in records:
        sobject = parts[0] if parts else (rec.get("attributes") or {}).get("type")
        if sobject not in SUPPORTED:
            return error_response(400, "INVALID_TYPE", "Must specify a type in attributes: "
                                  f"{sobject}")
        if name := schema.unknown_field(sobject, rec, state.custom_fields):
            return bad_field(sobject, name)
        typed.append((sobject, rec))
    if parts and len(parts) == 2:
        spec = schema.fields_for(parts[0], state.custom_fields).get(parts[1])
        if spec is None or not spec.external_id:
            return error_response(404, "NOT_FOUND", "Provided external ID field does not exist "
                                  f"or is not accessible: {parts[1]}")
    op = "upsert" if parts else ("create" if request.method == "POST" else "update")
    ext_field = parts[1] if parts else None
    # One external id value at most once per request (SOAP API Developer Guide, upsert():
    # "If the key is matched multiple times, then an error is generated and the object record
    # is neither inserted or updated"): every record repeating a value fails alone with
    # DUPLICATE_VALUE "Duplicate external id specified: <value>"; the others are saved.
    values = [str(rec.get(ext_field) or "").lower() if ext_field else "" for _, rec in typed]
    counts = Counter(v for v in values if v)
    repeated = {i for i, v in enumerate(values) if v and counts[v] > 1}
    return _run(state, typed, bool(body.get("allOrNone")), op, ext_field, save_options(request),
                repeated)


def _run(
    state: SalesforceState, typed: list[tuple[str, dict[str, Any]]], all_or_none: bool, op: str,
    ext_field: str | None, save: Save, repeated: set[int] | None = None,
) -> JSONResponse:
    locked = state.take_lock_failure()
    snap = state.snapshot() if all_or_none else None
    results = [_repeated(rec, str(ext_field)) if i in (repeated or set())
               else _one(state, sobject, rec, op, ext_field, locked, save)
               for i, (sobject, rec) in enumerate(typed)]
    if snap is not None and any(not r["success"] for r in results):
        state.restore(snap)
        for r in results:
            if r["success"]:
                r.update(id=None, success=False, errors=[_ROLLED_BACK])
    return JSONResponse(results)


def _repeated(rec: dict[str, Any], ext_field: str) -> dict[str, Any]:
    return {"id": None, "success": False, "created": False, "errors": [error(
        "DUPLICATE_VALUE", f"Duplicate external id specified: {rec[ext_field]}",
        [ext_field])]}


def _one(
    state: SalesforceState, sobject: str, rec: dict[str, Any], op: str, ext_field: str | None,
    locked: bool, save: Save,
) -> dict[str, Any]:
    if locked:
        return {"id": rec.get("Id"), "success": False,
                "errors": [error("UNABLE_TO_LOCK_ROW", _LOCKED + str(rec.get("Id") or ""))]}
    created = False
    if op == "create":
        rid, errors = state.insert(sobject, rec, save=save)
    elif op == "update":
        rid, errors = rec.get("Id"), state.update(sobject, str(rec.get("Id")), rec,
                                                   save=save)
    elif op == "delete":
        rid, errors = rec["Id"], state.delete(sobject, rec["Id"])
    else:
        key = rec.get(ext_field or "")
        if not key:
            return {"id": None, "success": False, "created": False, "errors": [error(
                "MISSING_ARGUMENT", f"{ext_field} not specified", [ext_field or ""])]}
        rid, created, errors, several = state.upsert(sobject, str(ext_field), str(key), rec,
                                                     save=save)
        if several:
            errors = [error("DUPLICATE_EXTERNAL_ID", f"{ext_field}: more than one record found "
                            f"for external id field: {several}", [str(ext_field)])]
    result = {"id": rid if not errors else None, "success": not errors, "errors": errors}
    if op == "upsert":
        result["created"] = created
    return result
