"""Schema and people endpoints: /crm/v3/properties/{objectType}[/groups] and /crm/v3/owners."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulators.hubspot.http import api, error
from emulators.hubspot.schema import definition
from emulators.hubspot.state import HubSpotState
from emulators.hubspot.store import NotFound, ValidationFailed

PROPS = "/crm/v3/properties/{object_type}"
TYPES = {"string": {"text", "textarea", "phonenumber", "html", "file"},
         "number": {"number", "calculation_equation"},
         "date": {"date"}, "datetime": {"date"},
         "enumeration": {"select", "radio", "checkbox", "booleancheckbox"},
         "bool": {"booleancheckbox"}}


def _schema(state: HubSpotState, request: Request) -> tuple[dict, dict]:
    kind = request.path_params["object_type"]
    if kind not in state.properties:
        raise NotFound(f"Unable to infer object type from: {kind}")
    return state.properties[kind], state.groups[kind]


def list_properties(state: HubSpotState, request: Request, _: dict) -> Response:
    props, _groups = _schema(state, request)
    return JSONResponse({"results": list(props.values())})


def get_property(state: HubSpotState, request: Request, _: dict) -> Response:
    props, _groups = _schema(state, request)
    name = request.path_params["name"]
    if name not in props:
        return error(404, "OBJECT_NOT_FOUND", f"Unable to find property {name}")
    return JSONResponse(props[name])


def create_property(state: HubSpotState, request: Request, body: dict) -> Response:
    props, groups = _schema(state, request)
    name, kind, field = body.get("name"), body.get("type"), body.get("fieldType")
    if not name or not body.get("label") or kind not in TYPES or field not in TYPES[kind]:
        raise ValidationFailed([], f"Invalid property definition: name={name!r}, "
                                   f"type={kind!r}, fieldType={field!r}")
    if body.get("groupName") not in groups:
        raise ValidationFailed([], f"Property group {body.get('groupName')!r} does not exist")
    if kind == "enumeration" and not body.get("options"):
        raise ValidationFailed([], "Enumeration properties require options")
    if name in props:
        return error(409, "OBJECT_ALREADY_EXISTS", f"Property named '{name}' already exists.")
    extra = {k: body[k] for k in ("description", "options", "hasUniqueValue") if k in body}
    props[name] = definition(name, kind, field, body["groupName"], label=body["label"],
                             hubspotDefined=False, **extra)
    return JSONResponse(props[name], status_code=201)


def list_groups(state: HubSpotState, request: Request, _: dict) -> Response:
    return JSONResponse({"results": list(_schema(state, request)[1].values())})


def get_group(state: HubSpotState, request: Request, _: dict) -> Response:
    groups = _schema(state, request)[1]
    name = request.path_params["name"]
    if name not in groups:
        return error(404, "OBJECT_NOT_FOUND", f"Unable to find property group {name}")
    return JSONResponse(groups[name])


def create_group(state: HubSpotState, request: Request, body: dict) -> Response:
    groups = _schema(state, request)[1]
    name = body.get("name")
    if not name or not body.get("label"):
        raise ValidationFailed([], "A property group needs a name and a label")
    if name in groups:
        return error(409, "OBJECT_ALREADY_EXISTS", f"Property group '{name}' already exists.")
    groups[name] = {"name": name, "label": body["label"],
                    "displayOrder": body.get("displayOrder", -1), "archived": False}
    return JSONResponse(groups[name], status_code=201)


def list_owners(state: HubSpotState, request: Request, _: dict) -> Response:
    q = request.query_params
    archived = (q.get("archived") or "").lower() == "true"
    rows = [o for o in state.owners if o["archived"] == archived
            and (not q.get("email") or o["email"] == q.get("email"))]
    limit, after = min(int(q.get("limit", 100)), 500), int(q.get("after") or 0)
    body: dict = {"results": rows[after:after + limit]}
    if after + limit < len(rows):
        body["paging"] = {"next": {"after": str(after + limit)}}
    return JSONResponse(body)


def get_owner(state: HubSpotState, request: Request, _: dict) -> Response:
    owner = next((o for o in state.owners if o["id"] == request.path_params["owner_id"]), None)
    if owner is None:
        return error(404, "OBJECT_NOT_FOUND", "Owner not found")
    return JSONResponse(owner)


def routes() -> list[Route]:
    table = [
        (PROPS, "GET", list_properties), (PROPS, "POST", create_property),
        (PROPS + "/groups", "GET", list_groups), (PROPS + "/groups", "POST", create_group),
        (PROPS + "/groups/{name}", "GET", get_group),
        (PROPS + "/{name}", "GET", get_property),
        ("/crm/v3/owners", "GET", list_owners), ("/crm/v3/owners/", "GET", list_owners),
        ("/crm/v3/owners/{owner_id}", "GET", get_owner),
    ]
    return [Route(path, api(path, handler), methods=[method]) for path, method, handler in table]
