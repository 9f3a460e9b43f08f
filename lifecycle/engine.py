"""The decision engine: playbook + state + one event -> new state + effects. Pure, no I/O.

Workflows call `decide` for every signal, update and timer; everything here is
deterministic given its arguments, so it is unit-tested without Temporal and
replays identically.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from config.playbook import Playbook, StageKind, Transition
from lifecycle import effects as fx
from lifecycle.events import COMMAND_VERBS, TIMER_KINDS, EventKind, LeadEvent, normalize_email
from lifecycle.routing import route_on_entry
from lifecycle.scoring import signal_items, total_score
from lifecycle.sla import on_sla_breach, sla_effects
from lifecycle.state import (
    MAX_SCORE_ITEMS,
    FollowUp,
    LeadState,
    StageChange,
)

# Event properties that are parameters of a command, not attributes of the lead.
COMMAND_PARAMS = frozenset({"reason", "until", "path", "stage", "owner", "source"})
MAX_SCORE_CHAIN = 5


class Decision(BaseModel):
    state: LeadState
    effects: list[fx.Effect] = Field(default_factory=list)
    rejection: str | None = None
    duplicate: bool = False

    @property
    def accepted(self) -> bool:
        return self.rejection is None and not self.duplicate


def new_lead(
    pb: Playbook, email: str, now: datetime, fields: dict[str, str] | None = None,
    source: str | None = None, imported_stage: str | None = None,
) -> Decision:
    """A lead entering the playbook's initial stage, or the stage a backfill imported."""
    email = normalize_email(email, strict=False)  # workflow code: see normalize_email
    stage = imported_stage or pb.initial_stage
    pb.stage(stage)  # an unknown imported stage is a KeyError, caught by the caller
    state = LeadState(
        email=email, playbook=pb.name, stage=stage, entered_stage_at=now,
        fields=dict(fields or {}), source=source, account_domain=email.split("@", 1)[1],
        history=[StageChange(from_stage=None, to_stage=stage, at=now,
                             cause="imported" if imported_stage else "created", event_id="created")],
    )
    state.score = total_score(pb.scoring, state.fields, [], now)
    effects: list[fx.Effect] = [fx.SyncStage(stage=state.stage, previous_stage=None,
                                             cause=state.history[0].cause)]
    if imported_stage is None:  # an imported lead keeps the owner it has in the CRM
        effects += route_on_entry(pb, state)
    effects += sla_effects(pb, state, None, now)
    return Decision(state=state, effects=effects)


def decide(pb: Playbook, state: LeadState, event: LeadEvent, now: datetime) -> Decision:
    if state.has_seen(event.event_id):
        return Decision(state=state, duplicate=True)
    new = state.model_copy(deep=True)
    new.remember(event.event_id, now)
    new.events_applied += 1
    if event.kind in TIMER_KINDS:
        return Decision(state=new, effects=_on_timer(pb, new, event, now))
    _absorb(pb, new, event, now)
    target, rejection = _target(pb, new, event)
    if rejection:
        return Decision(state=state, rejection=rejection)
    effects: list[fx.Effect] = []
    if target is not None:
        effects += _move(pb, new, event, target, now)
    elif _resnooze(pb, new, event):
        effects += _arm_follow_up(pb, new, event, now)
    else:
        effects += sla_effects(pb, new, event, now)
    effects += _score_moves(pb, new, event, now)
    return Decision(state=new, effects=effects)


def _absorb(pb: Playbook, state: LeadState, event: LeadEvent, now: datetime) -> None:
    """Fields, touches and score: what every non-timer event adds, moving or not."""
    for key, value in event.properties.items():
        if key not in COMMAND_PARAMS:
            state.fields[key] = value
    if state.source is None and event.properties.get("source"):
        state.source = event.properties["source"]
    state.touches[state.stage] = state.touches.get(state.stage, 0) + 1
    state.score_items = [*state.score_items, *signal_items(pb.scoring, event)][-MAX_SCORE_ITEMS:]
    state.score = total_score(pb.scoring, state.fields, state.score_items, now)


def _target(pb: Playbook, state: LeadState, event: LeadEvent) -> tuple[str | None, str | None]:
    """Where this event moves the lead (or None), or why a command is refused."""
    is_command = event.kind in COMMAND_VERBS
    # A fact that happened before the lead entered its stage must not undo a newer decision.
    caused_at = state.stage_caused_at
    if not is_command and caused_at is not None and event.occurred_at < caused_at:
        return None, None
    refusal = _check_parameters(pb, state, event)
    if refusal:
        return None, refusal if is_command else None
    target = _re_entry(pb, state, event) or _matching(pb, state, event)
    if target is None:
        return None, _refusal(pb, state, event) if is_command else None
    missing = [f for f in pb.stage(target).required_fields if not state.fields.get(f)]
    if missing:
        verb = COMMAND_VERBS.get(event.kind, f"move to {target}")
        return None, f"cannot {verb}: missing {', '.join(missing)}" if is_command else None
    return target, None


def _check_parameters(pb: Playbook, state: LeadState, event: LeadEvent) -> str | None:
    reason = event.properties.get("reason", "")
    if event.kind == EventKind.DISQUALIFY and reason not in pb.disqualification_reasons:
        return _reason_refusal("disqualify", reason, pb.disqualification_reasons)
    if event.kind == EventKind.LOST and pb.loss_reasons and reason not in pb.loss_reasons:
        return _reason_refusal("mark lost", reason, pb.loss_reasons)
    if event.kind == EventKind.SNOOZE:
        return _check_snooze(pb, event)
    return None


def _reason_refusal(verb: str, reason: str, known: list[str]) -> str:
    given = f"unknown reason {reason!r}" if reason else "a reason is required"
    return f"cannot {verb}: {given}; known reasons: {', '.join(known)}"


def _check_snooze(pb: Playbook, event: LeadEvent) -> str | None:
    if not pb.nurture_paths:
        return "cannot snooze: this playbook has no nurture paths"
    path = event.properties.get("path", pb.nurture_paths[0].name)
    if path not in {p.name for p in pb.nurture_paths}:
        known = ", ".join(p.name for p in pb.nurture_paths)
        return f"cannot snooze: unknown nurture path {path!r}; known: {known}"
    until = event.properties.get("until")
    if until:
        try:
            when = datetime.fromisoformat(until)
        except ValueError:
            return f"cannot snooze: 'until' is not a date: {until!r}"
        if when.tzinfo is not None and when <= event.occurred_at:
            return "cannot snooze: 'until' must be in the future"
    return None


def _re_entry(pb: Playbook, state: LeadState, event: LeadEvent) -> str | None:
    if pb.stage(state.stage).kind != StageKind.NURTURE or state.follow_up is None:
        return None
    path = pb.nurture_path(state.follow_up.path)
    return path.re_entry_stage if event.kind in path.re_entry_on else None


def _matching(pb: Playbook, state: LeadState, event: LeadEvent) -> str | None:
    if event.kind == EventKind.CRM_STAGE_CHANGED:
        return _crm_target(pb, state, event)
    for t in pb.transitions:
        if event.kind in t.when and state.stage in pb.sources_of(t) and _score_ok(pb, state, t):
            return t.to
    return None


def _crm_target(pb: Playbook, state: LeadState, event: LeadEvent) -> str | None:
    """A person's stage change in a CRM: adopted when the playbook allows it, or when that CRM wins."""
    wanted = event.properties.get("stage")
    if wanted is None or wanted == state.stage or wanted not in {s.name for s in pb.stages}:
        return None
    allowed = {t.to for t in pb.transitions if state.stage in pb.sources_of(t)}
    system = event.properties.get("system", "")
    crm_wins = pb.conflict_policy.get(system) == "crm_wins"  # type: ignore[call-overload]
    return wanted if wanted in allowed or crm_wins else None


def _score_ok(pb: Playbook, state: LeadState, t: Transition) -> bool:
    if t.min_score is None:
        return True
    score = total_score(pb.scoring, state.fields, state.score_items, state.entered_stage_at,
                        t.score_categories) if t.score_categories else state.score
    return score >= t.min_score


def _resnooze(pb: Playbook, state: LeadState, event: LeadEvent) -> bool:
    """Snoozing a lead already in nurture moves its follow-up date and path, not its stage."""
    return event.kind == EventKind.SNOOZE and pb.stage(state.stage).kind == StageKind.NURTURE


def _refusal(pb: Playbook, state: LeadState, event: LeadEvent) -> str | None:
    sla = pb.stage(state.stage).sla
    if (sla and event.kind in sla.expect) or _resnooze(pb, state, event):
        return None  # an expected action that does not move the lead (a logged call) is fine
    sources = sorted({s for t in pb.transitions if event.kind in t.when for s in pb.sources_of(t)})
    verb = COMMAND_VERBS[event.kind]
    where = f"only from {', '.join(sources)}" if sources else "not in this playbook"
    return f"cannot {verb}: lead is in {state.stage!r}; allowed {where}"


def _score_moves(pb: Playbook, state: LeadState, event: LeadEvent, now: datetime) -> list[fx.Effect]:
    """Scoring alone may move a lead (New -> MQL, Activated -> PQL); follow chains a few steps."""
    effects: list[fx.Effect] = []
    for _ in range(MAX_SCORE_CHAIN):
        target = next(
            (t.to for t in pb.transitions
             if "score_threshold" in t.when and state.stage in pb.sources_of(t)
             and _threshold_met(pb, state, t, now)),
            None,
        )
        if target is None or target == state.stage:
            break
        effects += _move(pb, state, event, target, now, cause="score_threshold")
    return effects


def _threshold_met(pb: Playbook, state: LeadState, t: Transition, now: datetime) -> bool:
    threshold = t.min_score if t.min_score is not None else pb.scoring.mql_threshold
    score = total_score(pb.scoring, state.fields, state.score_items, now, t.score_categories)
    return score >= threshold


def _move(
    pb: Playbook, state: LeadState, event: LeadEvent, target: str, now: datetime,
    cause: str | None = None,
) -> list[fx.Effect]:
    previous, cause = state.stage, cause or event.kind.value
    effects = sla_effects(pb, state, event, now, leaving=True, target=target)
    if state.follow_up is not None:
        state.follow_up = None
        effects.append(fx.CancelFollowUp())
    reason = event.properties.get("reason") if event.kind in (EventKind.DISQUALIFY, EventKind.LOST) else None
    state.history.append(StageChange(from_stage=previous, to_stage=target, at=now, cause=cause,
                                     event_id=event.event_id, actor=event.actor, reason=reason))
    state.stage, state.entered_stage_at = target, now
    state.stage_caused_at = event.occurred_at
    state.disqualification_reason = reason if event.kind == EventKind.DISQUALIFY else None
    state.loss_reason = reason if event.kind == EventKind.LOST else None
    effects += _enter(pb, state, event, now)
    # Syncing a stage also emits Segment's "Lead Stage Changed"; no separate analytics effect.
    effects.append(fx.SyncStage(stage=target, previous_stage=previous, cause=cause))
    return effects


def _enter(pb: Playbook, state: LeadState, event: LeadEvent, now: datetime) -> list[fx.Effect]:
    stage = pb.stage(state.stage)
    effects = route_on_entry(pb, state)  # first: a business-hours SLA runs on the team's calendar
    effects += sla_effects(pb, state, None, now)
    if stage.kind == StageKind.NURTURE:
        effects += _arm_follow_up(pb, state, event, now)
    if stage.owner_role in ("sdr", "ae", "cs"):
        effects.append(fx.NotifyOwner(subject=f"{state.email} is now {stage.name}",
                                      body=_context(state, stage.entry_rule)))
    return effects


def _arm_follow_up(pb: Playbook, state: LeadState, event: LeadEvent, now: datetime) -> list[fx.Effect]:
    path = pb.nurture_path(event.properties.get("path", pb.nurture_paths[0].name)) \
        if pb.nurture_paths else None
    if path is None:
        return []
    until = event.properties.get("until")
    due = _as_aware(datetime.fromisoformat(until), now) if until else now + path.follow_up_after
    state.follow_up = FollowUp(due_at=due, path=path.name)
    return [fx.ArmFollowUp(due_at=due)]


def _as_aware(value: datetime, like: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=like.tzinfo)


def _on_timer(pb: Playbook, state: LeadState, event: LeadEvent, now: datetime) -> list[fx.Effect]:
    if event.kind == EventKind.SLA_BREACHED:
        return on_sla_breach(pb, state, now)
    if state.follow_up is None or state.follow_up.due_at > now:
        return []  # a stale timer: the follow-up was cancelled or moved
    path = state.follow_up.path
    state.follow_up = None
    return [
        fx.NotifyOwner(subject=f"Follow up with {state.email} ({path})", body=_context(state, "")),
        fx.EmitAnalytics(event="Lead Follow-up Due", properties={"path": path, "stage": state.stage}),
    ]


def _context(state: LeadState, rule: str) -> str:
    lines = [f"Lead: {state.email}", f"Stage: {state.stage}", f"Score: {state.score}"]
    if rule:
        lines.append(f"Entry rule: {rule}")
    lines += [f"{k}: {v}" for k, v in sorted(state.fields.items())]
    return "\n".join(lines)
