"""Closed leads stay closed: a lead deleted in a CRM or merged into another acts on nothing more.

The closure is part of the lead's state, kept by its workflow, which stays open as a tombstone
(a running workflow outlives Temporal's retention of closed ones): a later fact is refused (ingest
answers it as `skipped`), a merged-away lead's facts belong to the survivor, and only a person's
deliberate `reopen` with a reason brings a deleted lead back, recorded in its history.
"""

from __future__ import annotations

from datetime import datetime

from lifecycle.events import COMMAND_VERBS, EventKind, LeadEvent
from lifecycle.state import Closure, LeadState


def close(state: LeadState, how: str, at: datetime, reason: str, actor: str = "",
          survivor: str | None = None) -> LeadState:
    """The state of a lead that was just deleted or merged away: no clock runs any more."""
    new = state.model_copy(deep=True)
    new.closure = Closure(how=how, at=at, reason=reason, actor=actor,  # type: ignore[arg-type]
                          survivor=survivor)
    new.sla = new.follow_up = new.paused_sla = None
    new.stage_timer, new.handoff = None, None  # issue 19's clocks stop too
    return new


def notice(closure: Closure) -> str:
    """What a sender is told about an event for a closed lead."""
    day = f"{closure.at:%Y-%m-%d}"
    if closure.how == "merged":
        return f"lead was merged into {closure.survivor} on {day}"
    what = closure.reason if closure.reason.lower().startswith("deleted") else f"deleted ({closure.reason})"
    return f"lead was {what} on {day}"


def closed_refusal(closure: Closure, event: LeadEvent) -> str | None:
    """Why a closed lead does not act on `event`; None for a deliberate reopen with a reason."""
    if event.kind != EventKind.REOPEN:
        if event.kind in COMMAND_VERBS:
            return f"cannot {COMMAND_VERBS[event.kind]}: {notice(closure)}; reopen it first"
        return notice(closure)
    if closure.how == "merged":
        return f"cannot reopen: {notice(closure)}; work on the surviving lead"
    if not event.properties.get("reason", "").strip():
        return f"cannot reopen: {notice(closure)}; say why with a reason"
    return None
