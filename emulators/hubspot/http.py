"""What every emulated HubSpot endpoint shares: auth, rate limits, planted faults, call
counting, rate-limit headers, and HubSpot's error body shapes."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from emulators.hubspot.ratelimit import DAILY, SECONDLY
from emulators.hubspot.state import HubSpotState
from emulators.hubspot.store import Conflict, NotFound, ValidationFailed

Handler = Callable[[HubSpotState, Request, dict], Response]
AUTH_MESSAGE = ("Authentication credentials not found. This API supports OAuth 2.0 "
                "authentication and you can find more details at "
                "https://developers.hubspot.com/docs/methods/auth/oauth-overview")


def error(status: int, category: str, message: str, **extra: object) -> JSONResponse:
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()),
            "category": category, **extra}
    return JSONResponse(body, status_code=status)


def rate_limited(policy: str) -> JSONResponse:
    word = {DAILY: "daily", SECONDLY: "secondly"}.get(policy, "ten_secondly_rolling")
    group = "publicapi-crm-search" if policy == SECONDLY else "api-product:private-app"
    body = {"status": "error", "message": f"You have reached your {word} limit.",
            "errorType": "RATE_LIMIT", "correlationId": str(uuid.uuid4()),
            "policyName": policy, "groupName": group}
    return JSONResponse(body, status_code=429)


def required_scope(request: Request) -> str | None:
    """The private-app scope HubSpot requires for a call (developers.hubspot.com/scopes):
    CRM objects by type and read/write, owners, and the schemas (properties) of contacts."""
    path, write = request.url.path, request.method != "GET"
    if path.startswith("/crm/v3/owners"):
        return "crm.objects.owners.read"
    if path.startswith("/crm/v3/properties/"):
        return f"crm.schemas.contacts.{'write' if write else 'read'}"
    if path.startswith("/crm/v3/objects/"):
        kind = path.split("/")[4]
        reads = path.endswith(("/search", "/batch/read")) or not write
        return f"crm.objects.{kind}.{'read' if reads else 'write'}"
    return None


def scopes_error(scope: str) -> JSONResponse:
    """HubSpot's 403 for a token without a required scope."""
    return error(403, "MISSING_SCOPES", "This app hasn't been granted all required scopes to "
                 "make this call. Read more about required scopes here: "
                 "https://developers.hubspot.com/scopes.",
                 errors=[{"message": "One or more of the following scopes are required.",
                          "context": {"requiredGranularScopes": [scope]}}],
                 links={"scopes": "https://developers.hubspot.com/scopes"})


def validation(exc: ValidationFailed) -> JSONResponse:
    if exc.message:
        return error(400, "VALIDATION_ERROR", exc.message)
    return error(400, "VALIDATION_ERROR",
                 "Property values were not valid: "
                 + json.dumps(exc.details, separators=(",", ":")))


def _fault(status: int, policy: str) -> tuple[JSONResponse, str | None]:
    if status == 429:
        return rate_limited(policy), policy
    if status == 423:
        return error(423, "LOCKED", "The resource is locked; retry in a couple of seconds."), None
    return error(status, "INTERNAL_ERROR" if status == 500 else "SERVICE_UNAVAILABLE",
                 "internal error"), None


def state_of(request: Request) -> HubSpotState:
    return request.app.state.hubspot


def api(template: str, handler: Handler, search: bool = False) -> Callable:
    """Wrap a synchronous handler(state, request, body) as a counted, limited endpoint.

    `search`: CRM search, limited per token per second instead of by the ten-second window,
    and answered without the X-HubSpot-RateLimit-* headers of that window."""

    async def endpoint(request: Request) -> Response:
        state = state_of(request)
        kind = request.path_params.get("object_type", "")
        name = f"{request.method} {template.replace('{object_type}', kind)}"
        response, exhausted = await _serve(state, request, handler, search)
        state.record_call(name, response.status_code, request.url.path)
        if not search:
            response.headers.update(state.limiter.headers(exhausted))
        return response

    return endpoint


async def _serve(state: HubSpotState, request: Request, handler: Handler,
                 search: bool = False) -> tuple[Response, str | None]:
    if state.faults.latency_s:
        await asyncio.sleep(state.faults.latency_s)
    auth = request.headers.get("authorization", "")
    if not auth.startswith("Bearer ") or auth[7:] not in state.access_tokens:
        return error(401, "INVALID_AUTHENTICATION", AUTH_MESSAGE), None
    missing = state.missing_scope(auth[7:], required_scope(request))
    if missing:
        return scopes_error(missing), None
    policy = state.search_limiter.admit(auth[7:]) if search else state.limiter.admit()
    if policy:
        return rate_limited(policy), policy
    planted = state.faults.take()
    if planted is not None:
        return _fault(planted, state.fault_policy)
    try:
        raw = await request.body()
        body = json.loads(raw) if raw else {}
    except json.JSONDecodeError as exc:
        return error(400, "VALIDATION_ERROR", f"Invalid input JSON on line 1: {exc.msg}"), None
    with state.lock:
        try:
            response = handler(state, request, body)
        except ValidationFailed as exc:
            return validation(exc), None
        except NotFound as exc:
            return error(404, "OBJECT_NOT_FOUND", str(exc) or "resource not found"), None
        except Conflict as exc:
            return error(409, "CONFLICT", str(exc)), None
    if response.status_code < 300 and state.faults.take_lost(request.url.path):
        # Written, but the answer is lost: HubSpot documents 502/504 timeouts as answers to
        # retry after a pause (developers.hubspot.com/docs/api-reference/error-handling).
        return error(504, "GATEWAY_TIMEOUT", "The request timed out"), None
    return response, None
