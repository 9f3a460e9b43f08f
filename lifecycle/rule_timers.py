"""Time-based transitions and handoff acceptance (issue 19): the due times are state, like the
SLA and follow-up clocks, so the lead workflow's one timer loop fires them.

`after: 30d` on a transition moves a lead that sat that long in its stage without a touch (any
fact or command resets the clock). A stage with `acceptance:` asks its new owner to accept the
lead within the given time; `accept` settles it, `reject --prop reason=...` recycles the lead to
`reject_to` with the reason, and an unanswered handoff escalates to the team manager once.
"""

from __future__ import annotations

from datetime import datetime

from config.playbook import Playbook, Transition
from lifecycle import effects as fx
from lifecycle.events import EventKind, LeadEvent
from lifecycle.state import Handoff, LeadState, StageTimer


def timed_transition(pb: Playbook, stage: str) -> Transition | None:
    """The soonest `after:` transition out of `stage`."""
    timed = [t for t in pb.transitions if t.after is not None and stage in pb.sources_of(t)]
    return min(timed, key=lambda t: t.after, default=None)  # type: ignore[arg-type, return-value]


def refresh_stage_timer(pb: Playbook, state: LeadState) -> None:
    """Arms (or pushes back) the stage's time-based transition from its entry or last touch."""
    t = timed_transition(pb, state.stage)
    if t is None or t.after is None:
        state.stage_timer = None
        return
    since = max(state.entered_stage_at, state.last_touch_at or state.entered_stage_at)
    state.stage_timer = StageTimer(due_at=since + t.after, to=t.to)


def request_handoff(pb: Playbook, state: LeadState, now: datetime) -> list[fx.Effect]:
    """On entering a stage: a new handoff when it needs acceptance, else none pending."""
    acceptance = pb.stage(state.stage).acceptance
    if acceptance is None:
        state.handoff = None
        return []
    state.handoff = Handoff(stage=state.stage, requested_at=now, due_at=now + acceptance.within)
    return [fx.RequestAcceptance(stage=state.stage, due_at=state.handoff.due_at)]


def handoff_refusal(pb: Playbook, state: LeadState, event: LeadEvent) -> str | None:
    """Why `accept` / `reject` cannot apply now (None: it can)."""
    verb = event.kind.value
    if state.handoff is None or state.handoff.stage != state.stage:
        return f"cannot {verb}: no handoff is waiting for acceptance in {state.stage!r}"
    actor = event.actor.strip().lower()
    # A person named by email must be the owner; a tool's actor ("cli", "ui") names nobody.
    if "@" in actor and state.owner and actor != state.owner.lower():
        return f"cannot {verb}: only the lead's owner {state.owner} can {verb} this handoff"
    if event.kind == EventKind.REJECT:
        acceptance = pb.stage(state.stage).acceptance
        assert acceptance is not None
        reason = event.properties.get("reason", "")
        if not reason:
            return "cannot reject: a reason is required (--prop reason=...)"
        if acceptance.reasons and reason not in acceptance.reasons:
            return f"cannot reject: unknown reason {reason!r}; known reasons: {', '.join(acceptance.reasons)}"
    return None


def reject_target(pb: Playbook, state: LeadState) -> str:
    acceptance = pb.stage(state.stage).acceptance
    assert acceptance is not None
    return acceptance.reject_to


def on_acceptance_due(state: LeadState, now: datetime) -> list[fx.Effect]:
    """An unanswered handoff: the manager hears of it once; the handoff stays open."""
    handoff = state.handoff
    if handoff is None or handoff.breached or handoff.due_at > now:
        return []  # stale: accepted, rejected, moved on, or already escalated
    handoff.breached = True
    subject = f"Handoff not accepted: {state.email} in {handoff.stage}"
    body = (f"Lead: {state.email}\nStage: {handoff.stage} since {handoff.requested_at.isoformat()}\n"
            f"Acceptance was due {handoff.due_at.isoformat()}\nOwner: {state.owner or 'none'}")
    return [fx.NotifyOwner(subject=subject, body=body, escalate=True),
            fx.EmitAnalytics(event="Lead Handoff Overdue", properties={"stage": handoff.stage})]


def rule_clocks(state: LeadState) -> list[tuple[datetime, EventKind]]:
    """The due times of issue 19's timers, for the workflow's timer loop."""
    clocks = []
    if state.stage_timer is not None:
        clocks.append((state.stage_timer.due_at, EventKind.STAGE_TIMEOUT))
    if state.handoff is not None and not state.handoff.breached:
        clocks.append((state.handoff.due_at, EventKind.ACCEPTANCE_DUE))
    return clocks
