"""Merging two leads (a CRM merge or conversion): the survivor keeps one timeline.

The survivor keeps its stage and its own field values; it gains the merged-away lead's
history, score evidence, touches, seen event ids and any timer it lacks. Nothing is dropped.
"""

from __future__ import annotations

from datetime import datetime

from config.playbook import Playbook
from lifecycle.scoring import total_score
from lifecycle.state import MAX_SCORE_ITEMS, LeadState, StageChange


def absorb(pb: Playbook, survivor: LeadState, merged: LeadState, now: datetime) -> LeadState:
    new = survivor.model_copy(deep=True)
    marked = [c.model_copy(update={"cause": f"{c.cause} (from {merged.email})"}) for c in merged.history]
    new.history = sorted([*new.history, *marked], key=lambda c: c.at)
    new.history.append(StageChange(from_stage=survivor.stage, to_stage=survivor.stage, at=now,
                                   cause="merged", event_id=f"merge:{merged.email}",
                                   reason=f"absorbed {merged.email}"))
    known = {i.event_id for i in new.score_items if i.event_id}
    extra = [i for i in merged.score_items if not i.event_id or i.event_id not in known]
    new.score_items = sorted([*new.score_items, *extra], key=lambda i: i.at)[-MAX_SCORE_ITEMS:]
    for key, value in merged.fields.items():
        new.fields.setdefault(key, value)
    for stage, count in merged.touches.items():
        new.touches[stage] = new.touches.get(stage, 0) + count
    new.seen = new.seen_window(now).merged(merged.seen_window(now), now)
    new.seen_event_ids = []
    new.sla_outcomes = sorted([*new.sla_outcomes, *merged.sla_outcomes], key=lambda o: o.at)
    new.follow_up = new.follow_up or merged.follow_up
    if new.sla is None and merged.sla is not None and merged.sla.stage == new.stage:
        new.sla = merged.sla
    new.source = new.source or merged.source
    new.owner = new.owner or merged.owner
    new.score = total_score(pb.scoring, new.fields, new.score_items, now)
    return new
