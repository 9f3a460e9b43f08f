"""The ASGI app: routes, problem answers for every refusal, and per-request metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from config.settings import Settings
from ingest import routes
from ingest.context import RETRY_AFTER_S, IngestContext
from ingest.delivery import TemporalUnavailable
from ingest.openapi import openapi_document
from ingest.problems import Problem

log = logging.getLogger("leadflow.ingest")
Handler = Callable[[Request], Awaitable[Response]]


def instrumented(endpoint: str, handler: Handler) -> Handler:
    """Turns refusals into problem responses and counts every answer."""

    async def run(request: Request) -> Response:
        ctx = routes.context(request)
        started = time.perf_counter()
        try:
            response = await handler(request)
        except Problem as problem:
            response = _refuse(ctx, endpoint, problem, request)
        except TemporalUnavailable as exc:
            log.warning("%s: Temporal unavailable: %s", endpoint, exc)
            response = _refuse(ctx, endpoint, Problem(
                503, "temporal-unavailable", "Temporal did not accept the events; nothing was "
                "lost, retry the same delivery later", headers={"Retry-After": str(RETRY_AFTER_S)}),
                request)
        except Exception:  # a bug of ours: said so in the same format, and logged in full
            log.exception("%s: unexpected error", endpoint)
            response = _refuse(ctx, endpoint, Problem(
                500, "internal-error", "the service failed on this request; it is logged"), request)
        ctx.metrics.requests.labels(endpoint, str(response.status_code)).inc()
        ctx.metrics.request_latency.labels(endpoint).observe(time.perf_counter() - started)
        return response

    return run


def _refuse(ctx: IngestContext, endpoint: str, problem: Problem, request: Request) -> Response:
    ctx.metrics.rejections.labels(endpoint, problem.reason).inc()
    return problem.response(request.url.path)


async def _http_problem(request: Request, exc: Exception) -> Response:
    """Unknown paths and wrong methods answer in the same problem format."""
    assert isinstance(exc, HTTPException)
    reason = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    return Problem(exc.status_code, reason, str(exc.detail), headers=dict(exc.headers or {})
                   ).response(request.url.path)


ENDPOINTS: list[tuple[str, str, Handler]] = [
    ("/v1/events", "POST", routes.product_events),
    ("/v1/webhooks/segment", "POST", routes.segment_webhook),
    ("/v1/webhooks/hubspot", "POST", routes.hubspot_webhook),
    ("/v1/webhooks/salesforce", "POST", routes.salesforce_webhook),
    ("/healthz", "GET", routes.healthz),
    ("/metrics", "GET", routes.metrics),
]


async def _openapi(request: Request) -> Response:
    return JSONResponse(openapi_document())


def create_app(settings: Settings) -> Starlette:
    ctx = IngestContext.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await ctx.delivery.close()

    app = Starlette(
        routes=[Route(path, instrumented(path, handler), methods=[method])
                for path, method, handler in ENDPOINTS]
        + [Route("/openapi.json", _openapi, methods=["GET"])],
        exception_handlers={HTTPException: _http_problem},
        lifespan=lifespan,
    )
    # "/v1/events/" would otherwise answer 307 to "/v1/events": a sender that does not follow a
    # redirect with its POST body loses the events; a 404 problem says what is wrong.
    app.router.redirect_slashes = False
    app.state.ingest = ctx
    return app
