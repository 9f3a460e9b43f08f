"""The events a lead's lifecycle reacts to: facts from systems and commands from people."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from email_validator import EmailNotValidError, validate_email
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
    # issue 19: a stage's new owner accepts or rejects the handoff; a rep captures fields
    ACCEPT = "accept"
    REJECT = "reject"
    CAPTURE = "capture"
    # a person changed the stage in a CRM
    CRM_STAGE_CHANGED = "crm_stage_changed"
    # a person (or another system) changed lead fields in a CRM: `system` + lead fields by name
    CRM_FIELDS_CHANGED = "crm_fields_changed"
    # fired by the lead's own durable timers
    SLA_BREACHED = "sla_breached"
    FOLLOW_UP_DUE = "follow_up_due"
    STAGE_TIMEOUT = "stage_timeout"  # a time-based transition (`after:`) came due
    ACCEPTANCE_DUE = "acceptance_due"  # a handoff was not accepted in time
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
    EventKind.ACCEPT: "accept",
    EventKind.REJECT: "reject",
    EventKind.CAPTURE: "capture",
}

TIMER_KINDS = frozenset({EventKind.SLA_BREACHED, EventKind.FOLLOW_UP_DUE, EventKind.STAGE_TIMEOUT,
                         EventKind.ACCEPTANCE_DUE})
# A lead's own fact, not a person's: the kinds a system may report.
FACT_KINDS = frozenset(EventKind) - COMMAND_VERBS.keys() - TIMER_KINDS

# Salesforce's Lead.Email holds at most 80 characters (DESIGN.md 4): a longer email could never sync.
MAX_EMAIL_LENGTH = 80
# One event, serialised, at most Segment's own per-event limit (32 KB): hundreds can queue for
# one lead and still stay far below Temporal's 2 MB payload and workflow-task limits.
MAX_EVENT_BYTES = 32 * 1024

_LEGACY_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(email: str, *, strict: bool = True) -> str:
    """A lead's identity: its email in one normal form, or ValueError when it is no email.

    Surrounding spaces are trimmed; what remains must be a plain address (email-validator:
    ASCII local part, no quotes, no control, invisible or bidi characters anywhere, a domain
    with a dot) of at most MAX_EMAIL_LENGTH characters; the domain is NFC-normalised and the
    whole address lower-cased. Workflow code passes strict=False: leads started before this
    rule must keep replaying, so it only checks the shape it always did.
    """
    if not strict:
        cleaned = email.strip().lower()
        if not _LEGACY_EMAIL.match(cleaned):
            raise ValueError(f"not an email address: {email!r}")
        return cleaned
    try:
        valid = validate_email(email.strip(" "), check_deliverability=False, allow_smtputf8=False,
                               allow_quoted_local=False, allow_domain_literal=False)
    except EmailNotValidError as exc:
        raise ValueError(f"not an email address: {exc}") from None
    normal = valid.normalized.lower()
    if len(normal) > MAX_EMAIL_LENGTH:
        raise ValueError(f"not an email address leadflow can sync: {len(normal)} characters; "
                         f"at most {MAX_EMAIL_LENGTH} characters (Salesforce's Lead.Email limit)")
    return normal


def check_event_size(event: LeadEvent) -> None:
    """ValueError when the event, serialised as it travels to Temporal, exceeds MAX_EVENT_BYTES."""
    size = len(event.model_dump_json().encode())
    if size > MAX_EVENT_BYTES:
        raise ValueError(f"the event is {size} bytes as sent to the lead; the limit is "
                         f"{MAX_EVENT_BYTES} bytes (fewer or shorter properties)")


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
