"""POST /v1/events: a product backend's batch, named in its own words, mapped by the playbook."""

from __future__ import annotations

from typing import Any

from config.playbook import Playbook
from ingest.actions import Plan, Signal
from ingest.models import EventBatch, as_text
from ingest.sources.common import batch_of, validate
from lifecycle.events import LeadEvent
from lifecycle.mapping import to_kind


def plan(pb: Playbook, data: Any) -> Plan:
    batch_of(data, "events", "events")
    batch = validate(EventBatch, data)
    out = Plan()
    for i, item in enumerate(batch.events):
        # A fact is the product's word: who the product says did it is kept as that, never as
        # a person acting in leadflow (people act through commands).
        actor = f"product:{item.actor}" if item.actor else "product"
        event = LeadEvent(event_id=item.event_id, kind=to_kind(pb, item.name), name=item.name,
                          occurred_at=item.occurred_at, actor=actor,
                          properties=as_text(item.properties))
        out.actions.append(Signal(item.email, event, f"#/events/{i}"))
    return out
