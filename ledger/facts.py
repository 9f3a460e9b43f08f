"""From a workflow's ledger entries to facts: one per stage move, touch, threshold crossing, SLA
start or outcome, owner change, sync outcome and merge. Pure, so the rules are unit-tested."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from config.playbook import Playbook, StageKind
from config.playbook_loader import PlaybookError, stock_playbook
from lifecycle import effects as fx
from lifecycle.events import TIMER_KINDS, EventKind
from lifecycle.ledger_entry import LedgerEntry
from lifecycle.migration import MIGRATED_PREFIX
from lifecycle.motion import JOINED_PREFIX
from lifecycle.scoring import signal_items

# Fact kinds, as stored in the `kind` column.
STAGE, TOUCH, SCORE, OWNER = "stage", "touch", "score", "owner"
SLA_START, SLA_MET, SLA_BREACHED, SLA_LEFT = "sla_start", "sla_met", "sla_breached", "sla_left"
SYNC_ERROR, SYNC_OK, MERGED, CLOSED = "sync_error", "sync_ok", "merged", "closed"
# A migration to another version of the playbook (stage renamed or merged: not a move), and a
# lead joining another playbook's motion (beside its stage fact).
MIGRATED, JOINED = "migrated", "joined"
# Issue 19's handoff acceptance: asked, accepted, rejected (with its reason), overdue.
HANDOFF, HANDOFF_ACCEPTED, HANDOFF_REJECTED, HANDOFF_OVERDUE = (
    "handoff", "handoff_accepted", "handoff_rejected", "handoff_overdue")
FIELD = "field"  # a CRM's lead-field values adopted (firmographics): source, change, fit points
ABSORBED_PREFIX = "absorbed "
CLOSING_PREFIXES = ("merged into ", "deleted: ")  # how LeadWorkflow records its end


@dataclass
class Fact:
    lead_id: str
    seq: int
    idx: int
    kind: str
    at: datetime
    email: str
    playbook: str
    account_domain: str | None = None
    channel: str | None = None
    campaign: str | None = None
    team: str | None = None
    owner: str | None = None
    previous_owner: str | None = None
    stage: str | None = None
    from_stage: str | None = None
    to_stage: str | None = None
    cause: str | None = None
    event_id: str | None = None
    event_kind: str | None = None
    actor: str | None = None
    reason: str | None = None
    score_before: int | None = None
    score_after: int | None = None
    imported: bool = False
    sla_started_at: datetime | None = None
    sla_due_at: datetime | None = None
    vendor: str | None = None
    detail: str | None = None
    fit_grade: str | None = None  # the lead's fit grade when the fact happened (issue 19)

    def as_row(self) -> dict[str, object]:
        return dataclasses.asdict(self)


FACT_COLUMNS = [f.name for f in dataclasses.fields(Fact)]


def _playbook(name: str) -> Playbook | None:
    try:
        return stock_playbook(name)
    except PlaybookError:
        return None


def facts_for(entry: LedgerEntry, previous_owner: str | None) -> list[Fact]:
    """The facts one ledger entry records; `previous_owner` is the owner at the entry before."""
    base = _base(entry)
    found: list[dict[str, object]] = []
    if entry.kind == "created":
        found.append(dict(kind=STAGE, stage=entry.stage_after, to_stage=entry.stage_after,
                          cause="imported" if entry.imported else "created",
                          imported=entry.imported, score_after=entry.score_after))
        found += _handoffs_asked(entry)  # a lead created in a stage that needs acceptance
    elif entry.kind in ("sync_error", "sync_ok"):
        found.append(dict(kind=entry.kind, stage=entry.stage_after, vendor=entry.vendor,
                          detail=entry.detail))
    elif entry.detail.startswith(ABSORBED_PREFIX):
        found.append(dict(kind=MERGED, stage=entry.stage_after, reason=entry.detail,
                          detail=entry.detail.removeprefix(ABSORBED_PREFIX)))
    elif entry.event is None and entry.detail.startswith(CLOSING_PREFIXES):
        found.append(dict(kind=CLOSED, stage=entry.stage_after, reason=entry.detail))
    elif entry.event is None and entry.detail.startswith(MIGRATED_PREFIX):
        found.append(dict(kind=MIGRATED, stage=entry.stage_after, from_stage=entry.stage_before,
                          to_stage=entry.stage_after, cause="migration", detail=entry.detail))
    else:
        found += _decision_facts(entry)
        if entry.detail.startswith(JOINED_PREFIX):
            found.append(dict(kind=JOINED, stage=entry.stage_after, from_stage=entry.stage_before,
                              to_stage=entry.stage_after, detail=entry.detail))
    if not entry.detail.startswith(ABSORBED_PREFIX):  # absorbed outcomes belong to the merged lead
        found += _sla_facts(entry)
    if entry.owner != previous_owner:
        found.append(dict(kind=OWNER, stage=entry.stage_after, previous_owner=previous_owner))
    return [Fact(**{**base, **f, "idx": i}) for i, f in enumerate(found)]  # type: ignore[arg-type]


def _base(entry: LedgerEntry) -> dict[str, object]:
    event = entry.event
    return dict(
        lead_id=entry.lead_id, seq=entry.seq, at=entry.at, email=entry.email,
        playbook=entry.playbook, account_domain=entry.account_domain, channel=entry.source,
        campaign=entry.campaign, team=entry.team, owner=entry.owner,
        event_id=event.event_id if event else None,
        event_kind=event.kind.value if event else None, actor=(event.actor or None) if event else None,
        fit_grade=entry.fit_grade,
    )


def _decision_facts(entry: LedgerEntry) -> list[dict[str, object]]:
    event = entry.event
    found: list[dict[str, object]] = []
    reasons = _score_reasons(entry)
    if event is not None and event.kind == EventKind.CRM_FIELDS_CHANGED:  # no touch: a correction
        found.append(dict(kind=FIELD, stage=entry.stage_before, score_before=entry.score_before,
                          score_after=entry.score_after, vendor=event.properties.get("system"),
                          detail=entry.detail or None))
    elif event is not None and event.kind not in TIMER_KINDS:
        found.append(dict(kind=TOUCH, stage=entry.stage_before, score_before=entry.score_before,
                          score_after=entry.score_after, reason=reasons, detail=event.name or None))
    for crossed in _crossings(entry):
        found.append(dict(kind=SCORE, stage=entry.stage_before, score_before=entry.score_before,
                          score_after=entry.score_after, cause=crossed, reason=reasons))
    outcome_reason = None
    if event is not None and event.kind in (EventKind.DISQUALIFY, EventKind.LOST):
        outcome_reason = event.properties.get("reason")
    found += _handoff_answers(entry)
    for move in entry.effects:
        if isinstance(move, fx.SyncStage):  # entries before issue 13 carry no reason on the move
            found.append(dict(kind=STAGE, stage=move.stage, from_stage=move.previous_stage,
                              to_stage=move.stage, cause=move.cause,
                              reason=move.reason or outcome_reason))
    return found + _handoffs_asked(entry)


def _handoffs_asked(entry: LedgerEntry) -> list[dict[str, object]]:
    return [dict(kind=HANDOFF, stage=e.stage, sla_started_at=entry.at, sla_due_at=e.due_at)
            for e in entry.effects if isinstance(e, fx.RequestAcceptance)]


def _handoff_answers(entry: LedgerEntry) -> list[dict[str, object]]:
    """An owner's accept or reject (only accepted commands reach the ledger), or a handoff
    whose acceptance ran out (the timer's entry carries the manager's task)."""
    event = entry.event
    if event is None:
        return []
    if event.kind == EventKind.ACCEPT:
        return [dict(kind=HANDOFF_ACCEPTED, stage=entry.stage_before)]
    if event.kind == EventKind.REJECT:
        return [dict(kind=HANDOFF_REJECTED, stage=entry.stage_before,
                     reason=event.properties.get("reason"))]
    if event.kind == EventKind.ACCEPTANCE_DUE and entry.effects:
        return [dict(kind=HANDOFF_OVERDUE, stage=entry.stage_before)]
    return []


def _sla_facts(entry: LedgerEntry) -> list[dict[str, object]]:
    entered = {e.stage for e in entry.effects if isinstance(e, fx.SyncStage)}
    found: list[dict[str, object]] = [
        dict(kind=f"sla_{o.outcome}", stage=o.stage, at=o.at, sla_started_at=o.started_at)
        for o in entry.sla_outcomes]
    for effect in entry.effects:
        # An SLA starts when its stage is entered; other arms are re-arms after a breach or expedites.
        if isinstance(effect, fx.ArmSla) and (entry.kind == "created" or effect.stage in entered):
            found.append(dict(kind=SLA_START, stage=effect.stage, sla_started_at=entry.at,
                              sla_due_at=effect.due_at, imported=entry.imported))
    return found


def _score_reasons(entry: LedgerEntry) -> str | None:
    pb = _playbook(entry.playbook)
    if entry.event is None or pb is None:
        return None
    items = signal_items(pb.scoring, entry.event)
    return "; ".join(f"{i.category} +{i.points:g} ({i.reason})" for i in items) or None


OUTCOMES = {StageKind.DISQUALIFIED: "disqualified", StageKind.LOST: "lost"}
OUTCOME_CAUSES = {"disqualify": "disqualified", "lost": "lost"}


def outcome_of(fact: Fact) -> str | None:
    """'disqualified' or 'lost' for a stage fact that ended a lead so: a person's command in
    leadflow, or a stage a person set in a CRM (known by the playbook's stage kind)."""
    if fact.kind != STAGE:
        return None
    if fact.cause in OUTCOME_CAUSES:
        return OUTCOME_CAUSES[fact.cause]
    pb = _playbook(fact.playbook)
    if fact.cause != "crm_stage_changed" or pb is None or fact.to_stage is None:
        return None
    kind = next((s.kind for s in pb.stages if s.name == fact.to_stage), None)
    return OUTCOMES.get(kind) if kind else None


def _crossings(entry: LedgerEntry) -> list[str]:
    """The score thresholds this entry crossed, each by the rule of the lead's stage that sets it:
    a total-score rule (its min_score, else the MQL threshold) by the total, either way; a rule
    counting some categories only (PQL: product) when its move happened."""
    pb = _playbook(entry.playbook)
    if pb is None or entry.stage_before is None:
        return []
    rules = [t for t in pb.transitions
             if "score_threshold" in t.when and entry.stage_before in pb.sources_of(t)]
    found = []
    for threshold in sorted({pb.scoring.mql_threshold if t.min_score is None else t.min_score
                             for t in rules if not t.score_categories}):
        if (entry.score_before >= threshold) != (entry.score_after >= threshold):
            found.append(f"crossed {threshold} {'up' if entry.score_after >= threshold else 'down'}")
    moved = {e.stage for e in entry.effects if isinstance(e, fx.SyncStage) and e.cause == "score_threshold"}
    for t in rules:
        if t.score_categories and t.to in moved:
            found.append(f"crossed {t.min_score} up ({', '.join(t.score_categories)})")
    return found
