"""A lead's state: compact enough to carry across continue-as-new for years."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from lifecycle.dedup import SeenEvents

# Bounds that keep the state compact; stage history is never trimmed (event ids: lifecycle.dedup).
MAX_SCORE_ITEMS = 200


class StageChange(BaseModel):
    from_stage: str | None
    to_stage: str
    at: datetime
    cause: str
    event_id: str
    actor: str = ""
    reason: str | None = None
    # Set when this change moved the lead into another playbook: by a `to_playbook` transition
    # (the playbook it joined) or a migration (the version it was migrated to).
    playbook: str | None = None


class ScoreItem(BaseModel):
    category: str
    points: float
    reason: str
    at: datetime
    event_id: str = ""


class SlaClock(BaseModel):
    stage: str
    started_at: datetime
    due_at: datetime
    expect: list[str]
    breaches: int = 0
    business_hours: bool = False  # due times count the owning team's working hours
    remaining: timedelta | None = None  # set while paused in a waiting stage
    paused_at: datetime | None = None
    paused_for: timedelta = timedelta(0)  # time spent paused, not counted as time to act


class SlaOutcome(BaseModel):
    stage: str
    started_at: datetime
    outcome: str  # met | breached | left
    at: datetime
    owner: str | None = None
    time_to_action: timedelta | None = None  # for met: from start to the first expected action
    business_hours: bool = False  # time_to_action counts working hours only


class FieldStamp(BaseModel):
    """When a lead field last changed and where the value came from (a system, or an actor)."""

    at: datetime
    source: str = ""


class FollowUp(BaseModel):
    due_at: datetime
    path: str


class Closure(BaseModel):
    """Why a lead no longer acts: deleted in a CRM, or merged into another lead (`survivor`)."""

    how: Literal["deleted", "merged"]
    at: datetime
    reason: str  # "deleted in Salesforce", "merged into lead:bob@acme.io"
    actor: str = ""
    survivor: str | None = None  # the surviving lead's email, for a merge


class StageTimer(BaseModel):
    """A time-based transition armed for the lead's stage: due `after` its entry or last touch."""

    due_at: datetime
    to: str


class Handoff(BaseModel):
    """A stage's new owner asked to accept the lead (issue 19): pending until accepted or
    rejected; `breached` once `due_at` passed without an answer."""

    stage: str
    requested_at: datetime
    due_at: datetime
    breached: bool = False


class LeadState(BaseModel):
    email: str
    playbook: str
    stage: str
    entered_stage_at: datetime
    # When the fact or command that moved the lead here happened (None for a new lead).
    stage_caused_at: datetime | None = None
    score: int = 0
    score_items: list[ScoreItem] = Field(default_factory=list)
    fields: dict[str, str] = Field(default_factory=dict)  # bounded: see lifecycle.fields
    dropped_fields: int = 0  # event properties not kept as fields (lifecycle.fields)
    # Per field: when it last changed and from where (two_way_latest compares these times).
    field_stamps: dict[str, FieldStamp] = Field(default_factory=dict)
    owner: str | None = None
    # Routing: the owning team, the owner's id in each CRM, and whom an escalation goes to.
    team: str | None = None
    owner_ids: dict[str, str] = Field(default_factory=dict)
    manager: str | None = None
    manager_ids: dict[str, str] = Field(default_factory=dict)
    source: str | None = None
    account_domain: str | None = None
    history: list[StageChange] = Field(default_factory=list)
    touches: dict[str, int] = Field(default_factory=dict)
    seen: SeenEvents = Field(default_factory=SeenEvents)  # event ids within the redelivery window
    # Event ids as states saved before the window held them (the last 1,000); they join `seen`,
    # as if first seen then, at the lead's next event.
    seen_event_ids: list[str] = Field(default_factory=list)
    sla: SlaClock | None = None
    sla_outcomes: list[SlaOutcome] = Field(default_factory=list)
    paused_sla: SlaClock | None = None  # the clock a waiting stage holds
    follow_up: FollowUp | None = None
    # The nurture path of a lead in nurture: it decides re-entry after the follow-up fired too.
    nurture_path: str | None = None
    snooze_reason: str | None = None  # why a person snoozed it (written out with the path)
    disqualification_reason: str | None = None
    loss_reason: str | None = None
    events_applied: int = 0
    sync_errors: dict[str, str] = Field(default_factory=dict)
    closure: Closure | None = None  # set once the lead is deleted or merged away
    # Issue 19's richer rules: fit grade and ICP status (None without grades:/icp:), the time-based
    # transition armed in this stage, the last touch that pushes it back, a pending handoff.
    fit_grade: str | None = None
    icp: str | None = None
    last_touch_at: datetime | None = None
    stage_timer: StageTimer | None = None
    handoff: Handoff | None = None

    @property
    def follow_up_date(self) -> date | None:
        return self.follow_up.due_at.date() if self.follow_up else None

    def has_seen(self, event_id: str) -> bool:
        return event_id in self.seen or event_id in self.seen_event_ids

    def seen_window(self, now: datetime) -> SeenEvents:
        """Every id this lead has seen within the window, the saved list included."""
        if not self.seen_event_ids:
            return self.seen
        return self.seen.merged(SeenEvents.of(self.seen_event_ids, now), now)

    def working_copy(self) -> LeadState:
        """A copy that a decision may change without touching this state, at a cost independent
        of how much history, evidence and seen ids the lead carries: containers a decision
        changes are copied one level, the small clocks it edits in place are copied, and what
        it only replaces or reads (history entries, score items, the packed seen window) is
        shared. A deep copy per event made a flood of queued events wedge the lead (issue 14)."""
        new = self.model_copy()
        for name in ("fields", "field_stamps", "touches", "owner_ids", "manager_ids", "sync_errors"):
            setattr(new, name, dict(getattr(self, name)))
        for name in ("history", "score_items", "sla_outcomes", "seen_event_ids"):
            setattr(new, name, list(getattr(self, name)))
        for name in ("sla", "paused_sla", "follow_up", "closure", "stage_timer", "handoff"):
            clock = getattr(self, name)
            setattr(new, name, clock.model_copy() if clock is not None else None)
        return new

    def remember(self, event_id: str, now: datetime) -> None:
        self.seen, self.seen_event_ids = self.seen_window(now).remember(event_id, now), []
