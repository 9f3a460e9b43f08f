"""What a lead workflow hands the ledger after each decision or sync: one entry per happening.

The ledger (issue: stage ledger and reporting) turns entries into rows (stage transitions, score
threshold crossings, SLA start/met/breach, owner changes, sync errors). `(lead_id, seq)` is unique
and increases across continue-as-new, so a retried write records each entry once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from lifecycle import effects as fx
from lifecycle.events import LeadEvent
from lifecycle.state import LeadState, SlaOutcome


class LedgerEntry(BaseModel):
    lead_id: str  # the workflow id, lead:<email>
    seq: int
    kind: Literal["created", "decision", "sync_error", "sync_ok"]
    at: datetime
    email: str
    account_domain: str | None
    playbook: str
    source: str | None  # channel
    campaign: str | None
    owner: str | None
    team: str | None = None
    stage_before: str | None
    stage_after: str
    score_before: int
    score_after: int
    imported: bool = False  # the stage came from a backfill, not from an event leadflow saw
    event: LeadEvent | None = None
    effects: list[fx.Effect] = Field(default_factory=list)
    sla_outcomes: list[SlaOutcome] = Field(default_factory=list)  # new in this entry
    sla_started: datetime | None = None  # an SLA clock armed by this entry
    sla_due: datetime | None = None
    vendor: str | None = None  # for sync entries
    detail: str = ""  # sync error message, rejection, ...
    fit_grade: str | None = None  # the lead's fit grade after this entry (issue 19)


class LedgerBatch(BaseModel):
    entries: list[LedgerEntry]


def entry_for(
    lead_id: str, seq: int, kind: str, before: LeadState | None, after: LeadState, at: datetime,
    event: LeadEvent | None = None, effects: list[fx.Effect] | None = None, imported: bool = False,
    vendor: str | None = None, detail: str = "",
) -> LedgerEntry:
    """The ledger entry for one decision or sync outcome (pure: the workflow calls it)."""
    outcomes = after.sla_outcomes[len(before.sla_outcomes):] if before else list(after.sla_outcomes)
    armed = next((e for e in effects or [] if isinstance(e, fx.ArmSla)), None)
    return LedgerEntry(
        lead_id=lead_id, seq=seq, kind=kind, at=at, email=after.email,  # type: ignore[arg-type]
        account_domain=after.account_domain, playbook=after.playbook, source=after.source,
        campaign=after.fields.get("campaign") or after.fields.get("utm_campaign"), owner=after.owner,
        team=after.team,
        stage_before=before.stage if before else None, stage_after=after.stage,
        score_before=before.score if before else 0, score_after=after.score, imported=imported,
        event=event, effects=list(effects or []), sla_outcomes=outcomes,
        sla_started=at if armed and (before is None or before.sla is None) else None,
        sla_due=armed.due_at if armed else None, vendor=vendor, detail=detail,
        fit_grade=after.fit_grade,
    )
