"""Starlette app speaking Salesforce REST v59 (OAuth token, sObjects, Collections, SOQL).

Every data request passes the same gate Salesforce applies: session check (401), planted
faults, then the daily API limit (403 REQUEST_LIMIT_EXCEEDED); every answer carries
`Sforce-Limit-Info: api-usage=N/M`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulators.salesforce import query, sobjects
from emulators.salesforce.schema import API_VERSION
from emulators.salesforce.state import SalesforceState
from emulators.salesforce.wire import error_response

_FAULT_BODIES = {
    500: ("UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId if "
          "you contact support: 1029384756-12345 (-1234567890)"),
    502: ("SERVER_UNAVAILABLE", "Bad gateway"),
    503: ("SERVER_UNAVAILABLE", "Server temporarily unavailable, please try again later."),
}


def create_app(state: SalesforceState) -> Starlette:
    async def token(request: Request) -> Response:
        state.count_call("oauth.token")
        # Parsed by hand: Starlette's form parser needs python-multipart, not a dependency here.
        form = dict(parse_qsl((await request.body()).decode()))
        base = f"{request.url.scheme}://{request.url.netloc}"
        access_token, err = state.login(form, audience=base)
        if err:
            return JSONResponse(err, status_code=400)
        return JSONResponse({
            "access_token": access_token, "instance_url": base, "token_type": "Bearer",
            "id": f"{base}/id/00D000000000001AAA/{state.integration_user}",
            "issued_at": "1700000000000", "signature": "emulated",
        })

    async def versions(request: Request) -> Response:
        return JSONResponse([{"label": "Winter '24", "url": f"/services/data/v{API_VERSION}",
                              "version": API_VERSION}])

    async def data_api(request: Request) -> Response:
        if state.faults.latency_s:
            await asyncio.sleep(state.faults.latency_s)
        parts = [p for p in request.path_params["rest"].split("/") if p]
        state.count_call(_endpoint(request.method, parts))
        response = _gate(state, request)
        if response is None:
            try:
                response = await _dispatch(state, request, parts)
            except json.JSONDecodeError as exc:
                response = error_response(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}")
            if response.status_code < 300 and state.faults.take_lost(request.url.path):
                # Carried out, but the answer is lost on its way back (a gateway error).
                response = error_response(502, *_FAULT_BODIES[502])
        response.headers["Sforce-Limit-Info"] = f"api-usage={state.api_usage}/{state.daily_limit}"
        return response

    return Starlette(routes=[
        Route("/services/oauth2/token", token, methods=["POST"]),
        Route("/services/data", versions, methods=["GET"]),
        Route("/services/data/v{version}/{rest:path}", data_api,
              methods=["GET", "POST", "PATCH", "DELETE"]),
        *control_routes(state),
    ])


def _gate(state: SalesforceState, request: Request) -> Response | None:
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer ") or not state.valid_session(auth[7:]):
        return error_response(401, "INVALID_SESSION_ID", "Session expired or invalid")
    status = state.faults.take()
    if status == 429:
        # Salesforce has no 429: too many concurrent long requests is a 403 too.
        return error_response(403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit "
                              "exceeded.")
    if status is not None:
        code, message = _FAULT_BODIES.get(status, _FAULT_BODIES[500])
        response = error_response(status, code, message)
        response.headers["Retry-After"] = str(state.faults.retry_after_s)
        return response
    _, over = state.charge()
    if over:
        return error_response(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
    return None


async def _dispatch(state: SalesforceState, request: Request, parts: list[str]) -> Response:
    head = parts[0] if parts else ""
    if head == "sobjects" and len(parts) > 1:
        return await sobjects.single(state, request, parts[1:])
    if parts[:2] == ["composite", "sobjects"]:
        return await sobjects.collection(state, request, parts[2:])
    if head in ("query", "queryAll") and request.method == "GET":
        return await query.handle(state, request, head, parts[1:])
    if head == "limits":
        return JSONResponse({"DailyApiRequests": {
            "Max": state.daily_limit, "Remaining": state.daily_limit - state.api_usage}})
    return error_response(404, "NOT_FOUND", "The requested resource does not exist")


def _endpoint(method: str, parts: list[str]) -> str:
    """A stable name per kind of call, for tests and benchmarks counting round trips."""
    if parts[:2] == ["composite", "sobjects"]:
        kind = "upsert" if len(parts) > 2 else {"POST": "create", "PATCH": "update"}.get(
            method, "delete")
        return f"collections.{kind}"
    if parts and parts[0] in ("query", "queryAll"):
        return "query_more" if len(parts) > 1 else parts[0]
    if parts and parts[0] == "sobjects" and len(parts) > 1:
        tail = parts[2:]
        if tail == ["describe"]:
            return f"{parts[1]}.describe"
        if len(tail) == 2:
            return f"{parts[1]}.{'upsert' if method == 'PATCH' else 'get_by_external_id'}"
        verb = {"GET": "get", "POST": "create", "PATCH": "update", "DELETE": "delete"}[method]
        return f"{parts[1]}.{verb}"
    return "/".join(parts[:1]) or "root"


def control_routes(state: SalesforceState) -> list[Route]:
    """`/_emulator/...`: what the local stack and benchmarks use to inspect and steer the org."""

    async def summary(request: Request) -> Response:
        return JSONResponse(state.summary())

    async def faults(request: Request) -> Response:
        body: dict[str, Any] = await request.json()
        if "fail_next" in body:
            state.faults.plant(int(body["fail_next"]), int(body.get("status", 503)),
                               int(body.get("retry_after_s", 1)))
        if "latency_s" in body:
            state.faults.latency_s = float(body["latency_s"])
        if "lose_next" in body:  # carried out, then the answer is lost
            state.faults.plant_lost(int(body["lose_next"]), str(body.get("lose_path", "")))
        if "lock_row_failures" in body:
            state.plant_lock_failures(int(body["lock_row_failures"]))
        if "api_usage" in body:
            with state.lock:
                state.api_usage = int(body["api_usage"])
        if body.get("expire_sessions"):
            state.expire_sessions()
        return JSONResponse(state.summary())

    async def reset(request: Request) -> Response:
        state.reset()
        return JSONResponse(state.summary())

    async def rep_change(request: Request) -> Response:
        body: dict[str, Any] = await request.json()
        lead = state.get("Lead", body.get("id", "")) or state.lead_by_key(body.get("key", ""))
        if lead is None:
            return JSONResponse({"error": "no such lead"}, status_code=404)
        state.rep_set_status(lead["Id"], body["status"], **body.get("fields", {}))
        return JSONResponse({"id": lead["Id"]})

    return [
        Route("/_emulator/state", summary, methods=["GET"]),
        Route("/_emulator/faults", faults, methods=["POST"]),
        Route("/_emulator/reset", reset, methods=["POST"]),
        Route("/_emulator/rep_change", rep_change, methods=["POST"]),
    ]
