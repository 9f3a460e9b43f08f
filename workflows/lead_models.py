"""Inputs and outputs of LeadWorkflow, as an operator types them into the Temporal UI."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from config.playbook import Playbook
from lifecycle import effects as fx
from lifecycle.events import EventKind, LeadEvent, normalize_email
from lifecycle.state import LeadState


class LeadInput(BaseModel):
    """Start a lead: `{"email": "ada@acme.io", "playbook_name": "demo_led"}` is enough."""

    email: str
    playbook_name: str = "demo_led"
    fields: dict[str, str] = Field(default_factory=dict)
    source: str | None = None
    # A backfill starts a lead in the stage it found in the CRM (marked imported), and names
    # the vendors it already wrote that stage to, so the lead does not sync them one by one.
    initial_stage: str | None = None
    synced: dict[str, str] = Field(default_factory=dict)
    # Set by continue-as-new (or a client that pins a playbook version); operators leave them out.
    playbook: Playbook | None = None
    state: LeadState | None = None
    fingerprints: dict[str, str] = Field(default_factory=dict)
    ledger_seq: int = 0
    # Work the previous run had not done yet: a sync to check, effects waiting for routing,
    # and per vendor the owner tasks / analytics waiting for that vendor's record.
    sync_pending: bool = False
    pending_effects: list[fx.Effect] = Field(default_factory=list)
    held_effects: dict[str, list[fx.Effect]] = Field(default_factory=dict)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return normalize_email(value)


class LeadCommand(BaseModel):
    """A person's command: `{"kind": "confirm_sql", "properties": {"use_case": "..."}}`."""

    kind: EventKind
    properties: dict[str, str] = Field(default_factory=dict)
    actor: str = ""
    event_id: str | None = None


class MergeRequest(BaseModel):
    """This lead was merged into another in a CRM: hand the timeline over and close."""

    survivor_email: str
    actor: str = ""

    @field_validator("survivor_email")
    @classmethod
    def _email(cls, value: str) -> str:
        return normalize_email(value)


class AbsorbRequest(BaseModel):
    merged_id: str
    merged_state: LeadState


class ForwardEvents(BaseModel):
    """Signals that reached a lead while it closed for a merge, for the survivor, in order."""

    survivor_email: str
    playbook_name: str
    items: list[LeadEvent | AbsorbRequest]


class DeleteRequest(BaseModel):
    reason: str
    actor: str = ""


class LeadClosed(BaseModel):
    """How a lead workflow ended: merged into another lead, or deleted in the CRM."""

    email: str
    outcome: str
    stage: str
    survivor_email: str | None = None  # set when merged: later events for `email` go there


class LeadView(BaseModel):
    email: str
    stage: str
    score: int
    owner: str | None
    sla_due_at: datetime | None
    follow_up_at: datetime | None
    sync_errors: dict[str, str]
    team: str | None = None

    @classmethod
    def of(cls, s: LeadState) -> LeadView:
        return cls(email=s.email, stage=s.stage, score=s.score, owner=s.owner,
                   sla_due_at=s.sla.due_at if s.sla else None,
                   follow_up_at=s.follow_up.due_at if s.follow_up else None,
                   sync_errors=dict(s.sync_errors), team=s.team)
