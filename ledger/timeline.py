"""`leadflow explain`: one lead's whole timeline from the ledger, merged leads included."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import Engine

from ledger import facts as k
from ledger.facts import Fact
from ledger.store import lead_facts
from lifecycle.events import lead_workflow_id


class TimelineItem(BaseModel):
    at: datetime
    lead: str  # the email whose workflow recorded it (a merged lead's own facts keep theirs)
    kind: str
    text: str
    imported: bool = False


class Timeline(BaseModel):
    email: str
    stage: str | None
    owner: str | None
    channel: str | None
    campaign: str | None
    playbook: str | None
    merged_from: list[str]
    items: list[TimelineItem]


def lead_timeline(engine: Engine, email: str) -> Timeline | None:
    """The lead's facts and, for every lead merged into it, theirs; None if the ledger has none."""
    own = lead_facts(engine, lead_workflow_id(email))
    if not own:
        return None
    facts, merged, pending = list(own), [], [f.detail for f in own if f.kind == k.MERGED]
    while pending:
        lead_id = pending.pop(0)
        if not lead_id or lead_id in merged:
            continue
        merged.append(lead_id)
        theirs = lead_facts(engine, lead_id)
        facts += theirs
        pending += [f.detail for f in theirs if f.kind == k.MERGED]
    facts.sort(key=lambda f: (f.at, f.lead_id != own[0].lead_id, f.seq, f.idx))
    last = own[-1]
    stages = [f.to_stage for f in own if f.kind == k.STAGE]
    return Timeline(
        email=last.email, stage=stages[-1] if stages else None, owner=last.owner,
        channel=_last(own, "channel"), campaign=_last(own, "campaign"), playbook=last.playbook,
        merged_from=[m.removeprefix("lead:") for m in merged],
        items=[TimelineItem(at=f.at, lead=f.email, kind=f.kind, text=describe(f), imported=f.imported)
               for f in facts])


def _last(facts: list[Fact], field: str) -> str | None:
    return next((getattr(f, field) for f in reversed(facts) if getattr(f, field)), None)


def describe(f: Fact) -> str:
    """One fact in words, as a rep would say it."""
    if f.kind == k.STAGE:
        why = f" ({f.cause}{': ' + f.reason if f.reason else ''})" if f.cause else ""
        moved = f"{f.from_stage} -> {f.to_stage}" if f.from_stage else f"entered {f.to_stage}"
        score = f", score {f.score_after}" if f.from_stage is None and f.score_after else ""
        return moved + why + score + (" [imported]" if f.imported else "")
    if f.kind == k.TOUCH:
        points = f"score {f.score_before} -> {f.score_after}"
        return f"{f.event_kind} in {f.stage}: {points}" + (f" ({f.reason})" if f.reason else "")
    if f.kind == k.FIELD:
        return f"{f.detail} (score {f.score_before} -> {f.score_after})"
    if f.kind == k.SCORE:
        why = f" ({f.reason})" if f.reason else ""
        return f"score {f.score_before} -> {f.score_after}, {f.cause}{why}"
    if f.kind == k.SLA_START:
        return f"SLA started in {f.stage}, due {_time(f.sla_due_at)}"
    if f.kind in (k.SLA_MET, k.SLA_BREACHED, k.SLA_LEFT):
        outcome = f.kind.removeprefix("sla_")
        return f"SLA {outcome} in {f.stage} (started {_time(f.sla_started_at)})"
    if f.kind == k.OWNER:
        return f"owner {f.previous_owner or '(none)'} -> {f.owner or '(none)'}"
    if f.kind == k.SYNC_ERROR:
        return f"sync to {f.vendor} failed: {f.detail}"
    if f.kind == k.SYNC_OK:
        return f"sync to {f.vendor} recovered"
    if f.kind == k.MERGED:
        return f"absorbed {(f.detail or '').removeprefix('lead:')}"
    return f.reason or f.kind


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def render_timeline(t: Timeline) -> str:
    head = [f"{t.email}: {t.stage or '?'} (playbook {t.playbook}, owner {t.owner or '-'}, "
            f"channel {t.channel or '-'}, campaign {t.campaign or '-'})"]
    if t.merged_from:
        head.append(f"merged from: {', '.join(t.merged_from)}")
    width = max((len(i.kind) for i in t.items), default=5)
    lines = [f"{_time(i.at)}  {i.kind:<{width}}  {i.text}"
             + (f"  [from {i.lead}]" if i.lead != t.email else "") for i in t.items]
    return "\n".join([*head, "", *lines])
