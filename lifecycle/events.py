"""The events a lead's lifecycle reacts to: facts from systems and commands from people."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field, field_validator


class EventKind(StrEnum):
    # product
    TRIAL_SIGNUP = "trial_signup"
    ACTIVATED = "activated"
    TEAMMATE_INVITED = "teammate_invited"
    FEATURE_USED = "feature_used"
    # marketing
    FORM_SUBMITTED = "form_submitted"
    DEMO_REQUESTED = "demo_requested"
    PRICING_VISIT = "pricing_visit"
    INTEGRATIONS_VISIT = "integrations_visit"
    SECURITY_VISIT = "security_visit"
    CONTENT_DOWNLOAD = "content_download"
    EMAIL_OPEN = "email_open"
    EMAIL_REPLY = "email_reply"
    MEETING_ATTENDED = "meeting_attended"
    # sales commands
    CONTACTED = "contacted"
    CONFIRM_SQL = "confirm_sql"
    DEMO_SCHEDULED = "demo_scheduled"
    DISCOVERY_COMPLETED = "discovery_completed"
    STAKEHOLDERS_MAPPED = "stakeholders_mapped"
    WORKSHOP_COMPLETED = "workshop_completed"
    PROPOSAL_SENT = "proposal_sent"
    OPPORTUNITY_CREATED = "opportunity_created"
    WON = "won"
    LOST = "lost"
    DISQUALIFY = "disqualify"
    SNOOZE = "snooze"
    REOPEN = "reopen"
    WAIT_ON_CUSTOMER = "wait_on_customer"  # into a waiting stage that pauses the SLA clock
    # a person changed the stage in a CRM
    CRM_STAGE_CHANGED = "crm_stage_changed"
    # fired by the lead's own durable timers
    SLA_BREACHED = "sla_breached"
    FOLLOW_UP_DUE = "follow_up_due"
    # anything the playbook's event map does not know: recorded as a touch
    OTHER = "other"


# Verbs for messages a person reads ("cannot confirm SQL: missing use_case").
COMMAND_VERBS: dict[EventKind, str] = {
    EventKind.CONTACTED: "log contact",
    EventKind.CONFIRM_SQL: "confirm SQL",
    EventKind.DEMO_SCHEDULED: "schedule demo",
    EventKind.DISCOVERY_COMPLETED: "complete discovery",
    EventKind.STAKEHOLDERS_MAPPED: "map stakeholders",
    EventKind.WORKSHOP_COMPLETED: "complete workshop",
    EventKind.PROPOSAL_SENT: "send proposal",
    EventKind.OPPORTUNITY_CREATED: "create opportunity",
    EventKind.WON: "mark won",
    EventKind.LOST: "mark lost",
    EventKind.DISQUALIFY: "disqualify",
    EventKind.SNOOZE: "snooze",
    EventKind.REOPEN: "reopen",
    EventKind.WAIT_ON_CUSTOMER: "wait on customer",
}

TIMER_KINDS = frozenset({EventKind.SLA_BREACHED, EventKind.FOLLOW_UP_DUE})
# A lead's own fact, not a person's: the kinds a system may report.
FACT_KINDS = frozenset(EventKind) - COMMAND_VERBS.keys() - TIMER_KINDS

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(email: str) -> str:
    """Identity of a lead: the email trimmed and lower-cased. Raises ValueError when it is no email."""
    cleaned = email.strip().lower()
    if not _EMAIL.match(cleaned):
        raise ValueError(f"not an email address: {email!r}")
    return cleaned


def lead_workflow_id(email: str) -> str:
    return f"lead:{normalize_email(email)}"


class LeadEvent(BaseModel):
    """One fact or command about a lead. `event_id` makes redelivery harmless."""

    event_id: str = Field(min_length=1, max_length=200)
    kind: EventKind
    occurred_at: datetime
    name: str = ""  # the sender's own event name, kept for touches and reporting
    actor: str = ""  # who did it: a rep's email, "hubspot:user 123", "product"
    properties: dict[str, str] = Field(default_factory=dict)

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("occurred_at needs a time zone (e.g. 2026-01-01T09:00:00Z)")
        return value


def as_fact(event: LeadEvent) -> LeadEvent:
    """A fact as the lead records it: one named like a person's command is only a touch.

    Commands come from people through the command update (with its validator and the caller's
    identity); a system reporting "confirm_sql" must not confirm anything.
    """
    if event.kind in FACT_KINDS:
        return event
    return event.model_copy(update={"kind": EventKind.OTHER, "name": event.name or event.kind.value})
