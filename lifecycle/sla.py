"""Stage SLAs: the clock armed on entry, met by the expected action, breached by its timer."""

from __future__ import annotations

from datetime import datetime

from config.playbook import Playbook
from lifecycle import effects as fx
from lifecycle.events import LeadEvent
from lifecycle.sla_time import due, pause, resume, time_to_action
from lifecycle.state import LeadState, SlaClock, SlaOutcome

# After the first breach the clock runs once more; the second breach escalates and stops it.
MAX_BREACHES = 2


def sla_effects(
    pb: Playbook, state: LeadState, event: LeadEvent | None, now: datetime, leaving: bool = False,
    target: str | None = None,
) -> list[fx.Effect]:
    """Arm on entry (event None), meet or expedite on an event, settle when leaving the stage."""
    clock = state.sla
    if event is None and not leaving:
        return _arm(pb, state, now)
    if clock is None or event is None:
        return []
    if event.kind.value in clock.expect:
        return _settle(state, "met", now, pb)
    if leaving and target is not None and pb.stage(target).pauses_sla:
        return pause(pb, state, now)
    if leaving:
        return _settle(state, "left", now)
    return _expedite(pb, state, clock, event, now)


def on_sla_breach(pb: Playbook, state: LeadState, now: datetime) -> list[fx.Effect]:
    clock = state.sla
    if clock is None or clock.due_at > now:
        return []  # a stale timer: the SLA was met, left or moved
    sla = pb.stage(clock.stage).sla
    clock.breaches += 1
    state.sla_outcomes.append(SlaOutcome(stage=clock.stage, started_at=clock.started_at,
                                         outcome="breached", at=now, owner=state.owner,
                                         business_hours=clock.business_hours))
    overdue = sla.description if sla and sla.description else " or ".join(clock.expect)
    subject = f"SLA breached: {overdue} for {state.email} in {clock.stage}"
    actions = sla.on_breach if sla else ["notify_owner"]
    effects: list[fx.Effect] = []
    if "notify_owner" in actions:
        effects.append(fx.NotifyOwner(subject=subject, body=_body(state, clock)))
    if "notify_manager" in actions or clock.breaches >= MAX_BREACHES:
        effects.append(fx.NotifyOwner(subject=subject, body=_body(state, clock), escalate=True))
    if "emit_analytics" in actions:
        effects.append(fx.EmitAnalytics(event="Lead SLA Breached",
                                        properties={"stage": clock.stage,
                                                    "breaches": str(clock.breaches)}))
    if clock.breaches >= MAX_BREACHES or sla is None:
        state.sla = None
        return [*effects, *_reassign(pb, state, clock), fx.CancelSla(outcome="left")]
    clock.due_at = due(pb, state, now, sla.within, clock.business_hours)
    return [*effects, fx.ArmSla(stage=clock.stage, due_at=clock.due_at)]


def _arm(pb: Playbook, state: LeadState, now: datetime) -> list[fx.Effect]:
    stage = pb.stage(state.stage)
    sla, paused = stage.sla, state.paused_sla
    if stage.pauses_sla:
        return []  # a waiting stage holds the paused clock
    if paused is not None:
        if paused.stage == state.stage and sla is not None:
            return resume(pb, state, paused, now)
        state.paused_sla = None
        if not paused.breaches:
            state.sla_outcomes.append(SlaOutcome(stage=paused.stage, started_at=paused.started_at,
                                                 outcome="left", at=now, owner=state.owner))
    if sla is None:
        state.sla = None
        return []
    state.sla = SlaClock(stage=state.stage, started_at=now,
                         due_at=due(pb, state, now, sla.within, sla.business_hours),
                         expect=[k.value for k in sla.expect], business_hours=sla.business_hours)
    return [fx.ArmSla(stage=state.stage, due_at=state.sla.due_at)]


def _reassign(pb: Playbook, state: LeadState, clock: SlaClock) -> list[fx.Effect]:
    """The second breach takes the lead from its owner: the team's router picks the next one."""
    role = pb.stage(clock.stage).owner_role
    if pb.routing is None or state.team is None or role is None:
        return []
    return [fx.RouteLead(team=state.team, role=role, reassign=True,
                         exclude=[state.owner] if state.owner else []),
            fx.NotifyOwner(subject=f"Reassigned to you after two missed SLAs: {state.email}",
                           body=_body(state, clock))]


def _settle(state: LeadState, outcome: str, now: datetime, pb: Playbook | None = None) -> list[fx.Effect]:
    clock = state.sla
    assert clock is not None
    if not (outcome == "left" and clock.breaches):  # a breached clock already has its outcome
        took = time_to_action(pb, state, clock, now) if pb is not None else None
        state.sla_outcomes.append(SlaOutcome(stage=clock.stage, started_at=clock.started_at,
                                             outcome=outcome, at=now, owner=state.owner,
                                             time_to_action=took, business_hours=clock.business_hours))
    state.sla = None
    return [fx.CancelSla(outcome="met" if outcome == "met" else "left")]


def _expedite(
    pb: Playbook, state: LeadState, clock: SlaClock, event: LeadEvent, now: datetime
) -> list[fx.Effect]:
    sla = pb.stage(clock.stage).sla
    pull = sla.expedite.get(event.kind) if sla else None
    if pull is None or due(pb, state, now, pull, clock.business_hours) >= clock.due_at:
        return []
    clock.due_at = due(pb, state, now, pull, clock.business_hours)
    return [fx.ArmSla(stage=clock.stage, due_at=clock.due_at)]


def _body(state: LeadState, clock: SlaClock) -> str:
    return (f"Lead: {state.email}\nStage: {clock.stage} since {clock.started_at.isoformat()}\n"
            f"Expected: {', '.join(clock.expect)} by {clock.due_at.isoformat()}\n"
            f"Score: {state.score}\nBreaches so far: {clock.breaches}")
