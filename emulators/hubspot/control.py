"""/_emulator/...: what the local stack and benchmarks use to inspect and steer the emulator.

No auth and no rate limit here: these endpoints are not part of HubSpot.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from emulators.hubspot.http import state_of
from emulators.hubspot.ratelimit import DAILY, TEN_SECONDLY
from emulators.hubspot.webhooks import send_property_changes


async def summary(request: Request) -> JSONResponse:
    return JSONResponse(state_of(request).summary())


async def faults(request: Request) -> JSONResponse:
    """Body: {"fail_next": 3, "status": 429, "policy": "DAILY", "latency_s": 0.2}, or
    {"lose_next": 1, "lose_path": "/crm/v3/objects/tasks"} (carried out, answer lost)."""
    state, body = state_of(request), await request.json()
    if body.get("policy") not in (None, TEN_SECONDLY, DAILY):
        return JSONResponse({"error": "policy must be TEN_SECONDLY_ROLLING or DAILY"}, 400)
    state.faults.plant(int(body.get("fail_next", 0)), int(body.get("status", 503)),
                       int(body.get("retry_after_s", 1)))
    state.faults.latency_s = float(body.get("latency_s", state.faults.latency_s))
    if "lose_next" in body:
        state.faults.plant_lost(int(body["lose_next"]), str(body.get("lose_path", "")))
    state.fault_policy = body.get("policy") or state.fault_policy
    return JSONResponse(state.summary()["faults"])


async def config(request: Request) -> JSONResponse:
    """Body: {"rate_limit_max": 10, "rate_limit_interval_ms": 1000, "daily_limit": 500}."""
    state, body = state_of(request), await request.json()
    state.limiter.configure(body.get("rate_limit_max"), body.get("rate_limit_interval_ms"),
                            body.get("daily_limit"))
    return JSONResponse(state.summary()["rateLimit"])


async def reset(request: Request) -> JSONResponse:
    state = state_of(request)
    state.reset()
    return JSONResponse(state.summary())


async def webhook(request: Request) -> JSONResponse:
    """Body: {"target_url": ..., "secret": ..., "changes": [{"objectId", "propertyName",
    "propertyValue"}]}: sends one signed contact.propertyChange delivery."""
    body = await request.json()
    # The delivery is a blocking HTTP call; keep it off the event loop.
    status = await asyncio.to_thread(send_property_changes, body["target_url"], body["secret"],
                                     body["changes"], portal_id=state_of(request).portal_id)
    return JSONResponse({"delivered_status": status})


def routes() -> list[Route]:
    return [
        Route("/_emulator/state", summary, methods=["GET"]),
        Route("/_emulator/faults", faults, methods=["POST"]),
        Route("/_emulator/config", config, methods=["POST"]),
        Route("/_emulator/reset", reset, methods=["POST"]),
        Route("/_emulator/webhooks", webhook, methods=["POST"]),
    ]
