"""The endpoints: authenticate, read, translate, deliver. Each returns 202 or raises a Problem."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from config.vendors import Vendor
from ingest import auth
from ingest.actions import Plan, Signal
from ingest.body import parse_json, read_body
from ingest.context import RETRY_AFTER_S, IngestContext
from ingest.hubspot_lookup import HubSpotUnavailable
from ingest.models import Accepted
from ingest.problems import Problem
from ingest.sources import hubspot, product, salesforce, segment
from ingest.sources.common import oversized


def context(request: Request) -> IngestContext:
    ctx: IngestContext = request.app.state.ingest
    return ctx


async def accept(ctx: IngestContext, plan: Plan, source: str) -> Response:
    oversized([(a.pointer, a.event) for a in plan.actions if isinstance(a, Signal)])
    plan = await ctx.delivery.screen(plan)
    closed = await ctx.delivery.deliver(plan.actions, source)
    if plan.skipped:
        ctx.metrics.actions.labels(source, "skipped").inc(len(plan.skipped))
    body = Accepted(accepted=len(plan.actions) - len(closed), skipped=[*plan.skipped, *closed])
    return JSONResponse(body.model_dump(mode="json"), status_code=202)


async def product_events(request: Request) -> Response:
    ctx = context(request)
    auth.require_bearer(request, ctx.settings.ingest_token)
    data = parse_json(await read_body(request))
    return await accept(ctx, product.plan(ctx.playbook, data), "product")


async def segment_webhook(request: Request) -> Response:
    """Segment signs only the first event of a batched delivery: a batch must also carry the
    bearer token (a custom header set in the destination) to vouch for the rest."""
    ctx = context(request)
    key, signature = auth.segment_signature(request, ctx.settings.segment_webhook_secret)
    raw = await read_body(request)
    data = parse_json(raw)
    if not auth.segment_signs(key, signature, raw):
        auth.verify_segment_first_event(key, signature, segment.first_of(data))
    items = segment.messages(data)
    if len(items) > 1 and not auth.bearer_ok(request, ctx.settings.ingest_token):
        raise auth.unauthorized(
            "unsigned-batch", "Segment signs only the first event of a batch: a batched delivery "
            "must also send Authorization: Bearer <LEADFLOW_INGEST_TOKEN> (or set batch size 1)")
    return await accept(ctx, segment.plan(ctx.playbook, items), Vendor.SEGMENT)


async def hubspot_webhook(request: Request) -> Response:
    ctx = context(request)
    raw = await read_body(request)
    auth.verify_hubspot(request, raw, ctx.settings.hubspot_client_secret, ctx.settings.public_url)
    events = hubspot.parse(parse_json(raw))
    try:
        emails = await ctx.hubspot.emails(hubspot.lookups(events))
    except HubSpotUnavailable as exc:
        raise Problem(503, "hubspot-unavailable", f"cannot read contacts from HubSpot: {exc}",
                      headers={"Retry-After": str(RETRY_AFTER_S)}) from None
    # A GDPR-deleted contact is gone from HubSpot: whose it was, leadflow kept when it synced it.
    erased = [ev.objectId for ev in events if ev.subscriptionType == hubspot.PRIVACY_DELETION
              and emails.get((ev.objectId, True)) is None]
    kept = await ctx.delivery.recorded_emails(Vendor.HUBSPOT, erased)
    plan = hubspot.plan(ctx.playbook, events, lambda oid, archived: emails.get((oid, archived))
                        or (kept.get(oid) if archived else None))
    return await accept(ctx, plan, Vendor.HUBSPOT)


async def salesforce_webhook(request: Request) -> Response:
    ctx = context(request)
    raw = await read_body(request)
    auth.verify_salesforce(request, raw, ctx.settings.salesforce_webhook_secret)
    return await accept(ctx, salesforce.plan(ctx.playbook, parse_json(raw)), Vendor.SALESFORCE)


async def healthz(request: Request) -> Response:
    if await context(request).delivery.healthy():
        return JSONResponse({"status": "ok", "temporal": "reachable"})
    raise Problem(503, "temporal-unavailable", "Temporal is not reachable",
                  headers={"Retry-After": str(RETRY_AFTER_S)})


async def metrics(request: Request) -> Response:
    body, content_type = context(request).metrics.exposition()
    return Response(body, media_type=content_type)
