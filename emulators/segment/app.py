"""Starlette app speaking Segment's tracking API (`/v1/batch` and the single-event routes).

Behaviour copied from Segment's HTTP API docs: 400 for a body over the limit (32 KB per
event, 500 KB per batch) or invalid JSON; 200 for everything else, with events that cannot
be ingested (over 2,500 in a batch, no userId/anonymousId) silently dropped. Error bodies
are `{"code", "message"}`, the shape analytics-python parses into its APIError.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import zlib
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulators.segment.state import SegmentState

MAX_EVENT_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
MAX_BATCH_EVENTS = 2500
SINGLE_TYPES = ("identify", "track", "page", "screen", "group", "alias")
# /v1/import is the older alias of /v1/batch that some libraries still call.
BATCH_ENDPOINTS = ("batch", "import")


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.response = error(status, code, message)


def error(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status, headers=headers)


def _ok() -> JSONResponse:
    return JSONResponse({"success": True})


async def _fault_response(state: SegmentState) -> Response | None:
    if state.faults.latency_s:
        await asyncio.sleep(state.faults.latency_s)
    status = state.faults.take()
    if status is None:
        return None
    if status == 429:
        headers = {"Retry-After": str(state.faults.retry_after_s)}
        return error(429, "rate_limit", "Too Many Requests", headers)
    return error(status, "internal_error", "Internal Server Error")


def _decompress(raw: bytes, limit: int) -> bytes:
    # Bounded so a gzip bomb cannot blow up the emulator: one byte past the limit is enough.
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(raw, limit + 1)
    except zlib.error as exc:
        raise Refused(400, "invalid_request", "body is not valid gzip") from exc


async def _read_json(request: Request, limit: int) -> dict[str, Any]:
    raw = await request.body()
    if request.headers.get("content-encoding", "").lower() == "gzip":
        raw = _decompress(raw, limit)
    if len(raw) > limit:
        raise Refused(400, "payload_too_large", f"request body exceeds the {limit} byte limit")
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise Refused(400, "invalid_json", "request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise Refused(400, "invalid_json", "request body must be a JSON object")
    return body


def _write_key(request: Request, body: dict[str, Any]) -> str | None:
    """Basic auth username if the header is present, else the body's writeKey (both are legal)."""
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("basic "):
        return body.get("writeKey")
    try:
        return base64.b64decode(auth[6:], validate=True).decode().split(":", 1)[0]
    except (binascii.Error, UnicodeDecodeError):
        return None


def _missing_id(msg: dict[str, Any]) -> str | None:
    if not (msg.get("userId") or msg.get("anonymousId")):
        return "no_user_anon_id"
    if msg.get("type") == "track" and not msg.get("event"):
        return "missing_event_name"
    return None


def _check_event_sizes(messages: list[dict[str, Any]]) -> None:
    for i, msg in enumerate(messages):
        size = len(json.dumps(msg).encode())
        if size > MAX_EVENT_BYTES:
            raise Refused(
                400, "event_too_large", f"batch[{i}] is {size} bytes; max {MAX_EVENT_BYTES}"
            )


def _stamp(messages: list[dict[str, Any]]) -> None:
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    for msg in messages:
        msg["receivedAt"] = now


async def _handle(request: Request, endpoint: str) -> Response:
    state: SegmentState = request.app.state.segment
    state.count_call(endpoint)
    faulted = await _fault_response(state)
    if faulted is not None:
        return faulted
    try:
        limit = MAX_BATCH_BYTES if endpoint in BATCH_ENDPOINTS else MAX_EVENT_BYTES
        body = await _read_json(request, limit)
        messages = _messages(body, endpoint)
        if _write_key(request, body) not in state.write_keys:
            if state.strict_auth:
                return error(401, "unauthorized", "invalid or missing write key")
            state.reject(messages, "unknown write key")
            return _ok()
        _check_event_sizes(messages)
    except Refused as refused:
        return refused.response
    _ingest(state, messages, endpoint)
    return _ok()


def _messages(body: dict[str, Any], endpoint: str) -> list[dict[str, Any]]:
    if endpoint not in BATCH_ENDPOINTS:
        body.pop("writeKey", None)
        return [{**body, "type": endpoint}]
    batch = body.get("batch")
    if not isinstance(batch, list) or not all(isinstance(m, dict) for m in batch):
        raise Refused(400, "invalid_request", "batch must be a list of objects")
    return batch


def _ingest(state: SegmentState, messages: list[dict[str, Any]], endpoint: str) -> None:
    if endpoint in BATCH_ENDPOINTS and len(messages) > MAX_BATCH_EVENTS:
        # Segment answers 200 but rejects the events of an over-long batch.
        state.reject(messages, f"batch has more than {MAX_BATCH_EVENTS} events")
        return
    good = [m for m in messages if _missing_id(m) is None]
    for msg in messages:
        if (reason := _missing_id(msg)) is not None:
            state.reject([msg], reason)
    _stamp(good)
    state.accept(good)


def _endpoint_route(endpoint: str) -> Route:
    async def handler(request: Request) -> Response:
        return await _handle(request, endpoint)

    return Route(f"/v1/{endpoint}", handler, methods=["POST"])


async def _state(request: Request) -> Response:
    state: SegmentState = request.app.state.segment
    with_events = request.query_params.get("events") in ("1", "true")
    return JSONResponse(state.summary(with_events=with_events))


async def _faults(request: Request) -> Response:
    state: SegmentState = request.app.state.segment
    spec = await request.json()
    state.faults.latency_s = float(spec.get("latency_s", state.faults.latency_s))
    if "fail_next" in spec:
        state.faults.plant(
            int(spec["fail_next"]), int(spec.get("status", 503)), int(spec.get("retry_after_s", 1))
        )
    return JSONResponse({"latency_s": state.faults.latency_s, "fail_next": state.faults.fail_next})


async def _debugger(request: Request) -> Response:
    """Stands in for the source Debugger of the Segment app, which has no public API: Basic
    auth with the source's write key, answers the latest events that source ingested."""
    state: SegmentState = request.app.state.segment
    return JSONResponse({"events": state.debugger(_write_key(request, {}))})


async def _reset(request: Request) -> Response:
    request.app.state.segment.reset()
    return JSONResponse({"reset": True})


def create_app(state: SegmentState) -> Starlette:
    routes = [_endpoint_route(e) for e in (*BATCH_ENDPOINTS, *SINGLE_TYPES)]
    routes += [
        Route("/_emulator/state", _state, methods=["GET"]),
        Route("/_emulator/faults", _faults, methods=["POST"]),
        Route("/_emulator/reset", _reset, methods=["POST"]),
        Route("/_emulator/debugger", _debugger, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.state.segment = state
    return app
