"""POST /v1/webhooks/segment: track events forwarded by Segment's Webhook destination.

Only `track` messages move leads (their `event` goes through the playbook's event map);
leadflow's own analytics events coming back through Segment are skipped, so they never
loop. The lead is the first email found in properties, traits, context.traits or userId.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from config.playbook import Playbook
from connectors.segment import STAGE_CHANGED
from ingest.actions import Plan, Signal
from ingest.models import SegmentMessage, as_text
from ingest.problems import Problem, invalid
from ingest.sources.common import batch_of, validate
from lifecycle.events import LeadEvent, normalize_email
from lifecycle.mapping import to_kind

OWN_EVENTS = frozenset({STAGE_CHANGED, "Lead SLA Breached", "Lead Follow-up Due"})


def messages(data: Any) -> list[Any]:
    """A delivery is one message (an object) or a batch (an array of them)."""
    if isinstance(data, dict):
        return [data]
    items = batch_of(data, None, "messages")
    if not isinstance(data, list) or not items:
        raise Problem(422, "invalid-fields", "expected a Segment message object or a non-empty array")
    return items


def first_of(data: Any) -> Any:
    """The event a batched delivery's signature covers (None when there is no batch)."""
    return data[0] if isinstance(data, list) and data else None


def plan(pb: Playbook, items: list[Any]) -> Plan:
    out, errors = Plan(), []
    for i, item in enumerate(items):
        prefix = f"#/{i}" if len(items) > 1 else "#"
        msg = validate(SegmentMessage, item, prefix)
        if msg.type != "track" or not msg.event:
            out.skip(msg.messageId, f"{msg.type} messages carry no lead event; only track does")
            continue
        if msg.event in OWN_EVENTS:
            out.skip(msg.messageId, f"{msg.event!r} is leadflow's own analytics event")
            continue
        email, where = _email(msg)
        if email is None:
            out.skip(msg.messageId, "no email in properties, traits, context.traits or userId")
            continue
        try:
            email = normalize_email(email)
        except ValueError as exc:
            errors.append({"pointer": f"{prefix}/{where}", "detail": str(exc)})
            continue
        at = msg.timestamp or msg.originalTimestamp or datetime.now(UTC)
        event = LeadEvent(event_id=f"segment:{msg.messageId}", kind=to_kind(pb, msg.event),
                          name=msg.event, occurred_at=at, actor="segment",
                          properties=as_text(msg.properties))
        out.actions.append(Signal(email, event, prefix))
    if errors:
        raise invalid(errors)
    return out


def _email(msg: SegmentMessage) -> tuple[str | None, str]:
    context_traits = msg.context.get("traits")
    for where, source in (("properties", msg.properties), ("traits", msg.traits),
                          ("context/traits", context_traits if isinstance(context_traits, dict) else {})):
        value = source.get("email")
        if isinstance(value, str) and value:
            return value, f"{where}/email"
    if msg.userId and "@" in msg.userId:
        return msg.userId, "userId"
    return None, ""
