"""What a decision asks the outside world to do. Workflows turn these into activities and timers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field


class SyncStage(BaseModel):
    type: Literal["sync_stage"] = "sync_stage"
    stage: str
    previous_stage: str | None
    cause: str
    reason: str | None = None  # why: a disqualification or loss reason, a reopen's reason


class NotifyOwner(BaseModel):
    type: Literal["notify_owner"] = "notify_owner"
    subject: str
    body: str
    escalate: bool = False  # to the team manager, not only the owner


class EmitAnalytics(BaseModel):
    type: Literal["emit_analytics"] = "emit_analytics"
    event: str
    properties: dict[str, str] = Field(default_factory=dict)


class ArmSla(BaseModel):
    type: Literal["arm_sla"] = "arm_sla"
    stage: str
    due_at: datetime


class CancelSla(BaseModel):
    type: Literal["cancel_sla"] = "cancel_sla"
    outcome: Literal["met", "left", "paused"]


class RouteLead(BaseModel):
    """Ask the team's router for an owner (a new one, excluding `exclude`, on reassignment)."""

    type: Literal["route_lead"] = "route_lead"
    team: str
    role: str
    reassign: bool = False
    exclude: list[str] = Field(default_factory=list)


class ArmFollowUp(BaseModel):
    type: Literal["arm_follow_up"] = "arm_follow_up"
    due_at: datetime


class CancelFollowUp(BaseModel):
    type: Literal["cancel_follow_up"] = "cancel_follow_up"


class RequestAcceptance(BaseModel):
    """The stage's new owner is asked to accept the lead by `due_at` (recorded in the ledger)."""

    type: Literal["request_acceptance"] = "request_acceptance"
    stage: str
    due_at: datetime


Effect = Annotated[
    SyncStage | NotifyOwner | EmitAnalytics | ArmSla | CancelSla | ArmFollowUp | CancelFollowUp
    | RouteLead | RequestAcceptance,
    Field(discriminator="type"),
]
