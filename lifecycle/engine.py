"""The decision engine: playbook + state + one event -> new state + effects. Pure, no I/O.

Workflows call `decide` for every signal, update and timer; everything here is
deterministic given its arguments, so it is unit-tested without Temporal and
replays identically. `legacy=True` keeps the rules leads ran on before issue 13 (re-entry only
while a follow-up is set, CRM moves without reasons, no closed leads, accounts from any email
domain): a workflow replaying such a lead's history passes it.

Issue 19's richer rules (conditions and `else:` targets, `after:` recycling, the ICP gate, fit
grades, handoff acceptance, frameworks) act only through the playbook keys that name them, so a
playbook without those keys decides exactly as before.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from config.playbook import NurturePath, Playbook, StageKind, Transition
from lifecycle import effects as fx
from lifecycle.accounts import EMAIL_TYPE_FIELD, account_domain, email_type
from lifecycle.closure import closed_refusal
from lifecycle.events import COMMAND_VERBS, TIMER_KINDS, EventKind, LeadEvent, normalize_email
from lifecycle.field_sync import apply_crm_fields
from lifecycle.fields import keep as keep_fields
from lifecycle.frameworks import expand
from lifecycle.qualification import conditions_hold, gate_blocks, gate_refusal, lead_values, qualify
from lifecycle.reasons import crm_reason
from lifecycle.routing import route_on_entry
from lifecycle.rule_timers import (
    handoff_refusal,
    on_acceptance_due,
    refresh_stage_timer,
    reject_target,
    request_handoff,
    timed_transition,
)
from lifecycle.scoring import fit_items, signal_items, total_score
from lifecycle.sla import on_sla_breach, sla_effects
from lifecycle.state import (
    MAX_SCORE_ITEMS,
    FieldStamp,
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
    detail: str = ""  # for the ledger: what a CRM's field change did
    rewrite: list[str] = Field(default_factory=list)  # systems whose fields leadflow writes over

    @property
    def accepted(self) -> bool:
        return self.rejection is None and not self.duplicate


def new_lead(
    pb: Playbook, email: str, now: datetime, fields: dict[str, str] | None = None,
    source: str | None = None, imported_stage: str | None = None, *, legacy: bool = False,
) -> Decision:
    """A lead entering the playbook's initial stage, or the stage a backfill imported.

    A personal address (gmail.com, ...) belongs to no account; `email_type` says which it is."""
    email = normalize_email(email, strict=False)  # workflow code: see normalize_email
    stage = imported_stage or pb.initial_stage
    pb.stage(stage)  # an unknown imported stage is a KeyError, caught by the caller
    fields = dict(fields or {})
    if not legacy:
        fields.setdefault(EMAIL_TYPE_FIELD, email_type(email))
    state = LeadState(
        email=email, playbook=pb.name, stage=stage, entered_stage_at=now, fields=fields,
        source=source, account_domain=email.split("@", 1)[1] if legacy else account_domain(email),
        history=[StageChange(from_stage=None, to_stage=stage, at=now,
                             cause="imported" if imported_stage else "created", event_id="created")],
    )
    state.score = total_score(pb.scoring, state.fields, [], now)
    qualify(pb, state, now)
    refresh_stage_timer(pb, state)
    effects: list[fx.Effect] = [fx.SyncStage(stage=state.stage, previous_stage=None,
                                             cause=state.history[0].cause)]
    effects += request_handoff(pb, state, now)
    if imported_stage is None:  # an imported lead keeps the owner it has in the CRM
        effects += route_on_entry(pb, state)
    effects += sla_effects(pb, state, None, now)
    return Decision(state=state, effects=effects)


def decide(pb: Playbook, state: LeadState, event: LeadEvent, now: datetime, *,
           legacy: bool = False, bounded_fields: bool = True) -> Decision:
    """The lead after `event`. `bounded_fields=False` keeps every property name as a field, as
    leads did before lifecycle.fields bounded them (a workflow replaying such a run passes it)."""
    if state.has_seen(event.event_id):
        return Decision(state=state, duplicate=True)
    if state.closure is not None:
        return _closed(pb, state, event, now)
    new = state.working_copy()
    new.remember(event.event_id, now)
    new.events_applied += 1
    if event.kind in TIMER_KINDS:
        if not legacy:  # behavioural points decay between events too: a timer brings them up to date
            new.score = total_score(pb.scoring, new.fields, new.score_items, now)
        return Decision(state=new, effects=_on_timer(pb, new, event, now))
    if event.kind == EventKind.CRM_FIELDS_CHANGED:
        return _crm_fields(pb, state, new, event, now)
    _absorb(pb, new, event, now, bounded_fields)
    target, rejection = _target(pb, new, event, legacy)
    if rejection:
        return Decision(state=state, rejection=rejection)
    effects: list[fx.Effect] = []
    if target is not None:
        effects += _move(pb, new, event, target, now, legacy=legacy)
    elif _resnooze(pb, new, event):
        effects += _arm_follow_up(pb, new, event, now)
    else:
        if not legacy:
            _adopt_crm_reason(pb, new, event)
        if event.kind == EventKind.ACCEPT:
            new.handoff = None  # accepted: the owner keeps the lead
        effects += sla_effects(pb, new, event, now)
    effects += _score_moves(pb, new, event, now, legacy)
    refresh_stage_timer(pb, new)  # a touch pushes a time-based transition back
    return Decision(state=new, effects=effects)


def _crm_fields(pb: Playbook, state: LeadState, new: LeadState, event: LeadEvent,
                now: datetime) -> Decision:
    """Lead fields a CRM reports (lifecycle.field_sync): adopted ones re-score the lead and may
    re-route it or cross a score threshold; nothing adopted is no decision (an echo)."""
    system = event.properties.get("system", "")
    values = {k: v for k, v in event.properties.items() if k != "system"}
    change = apply_crm_fields(pb, new, system, values, event.occurred_at)
    rewrite = [system] if change.overwrite else []
    if not change.adopted:
        return Decision(state=state, duplicate=True, rewrite=rewrite)
    new.score = total_score(pb.scoring, new.fields, new.score_items, now)
    effects = route_on_entry(pb, new) + _score_moves(pb, new, event, now)
    before = {(i.reason, i.points) for i in fit_items(pb.scoring, state.fields, now)}
    after = {(i.reason, i.points) for i in fit_items(pb.scoring, new.fields, now)}
    fit = [f"fit {sign}{points:g} ({reason})"
           for sign, found in (("-", before - after), ("+", after - before))
           for reason, points in sorted(found)]
    detail = "; ".join([change.describe(system, event.actor), *fit])
    return Decision(state=new, effects=effects, rewrite=rewrite, detail=detail)


def decay(pb: Playbook, state: LeadState, now: datetime) -> Decision | None:
    """The lead's score brought down to `now` between events (its decay wake-up, see
    scoring.next_decay_at); None when the rounded score has not changed."""
    score = total_score(pb.scoring, state.fields, state.score_items, now)
    if score == state.score:
        return None
    return Decision(state=state.model_copy(update={"score": score}))


def _closed(pb: Playbook, state: LeadState, event: LeadEvent, now: datetime) -> Decision:
    """A deleted or merged-away lead acts on nothing but a person's deliberate reopen."""
    assert state.closure is not None
    refusal = closed_refusal(state.closure, event)
    if refusal:
        return Decision(state=state, rejection=refusal)
    new = state.working_copy()
    new.remember(event.event_id, now)
    new.events_applied += 1
    new.closure = None
    return Decision(state=new, effects=_move(pb, new, event, pb.initial_stage, now, cause="reopen"))


def _absorb(pb: Playbook, state: LeadState, event: LeadEvent, now: datetime,
            bounded_fields: bool = True) -> None:
    """Fields, touches and score: what every non-timer event adds, moving or not."""
    properties = {k: v for k, v in event.properties.items() if k not in COMMAND_PARAMS}
    changed = [k for k, v in properties.items() if state.fields.get(k) != v]
    if bounded_fields:
        state.dropped_fields += keep_fields(pb, state.fields, properties)
    else:
        state.fields.update(properties)
    for key in changed:
        if key in state.fields:  # kept: stamped (two_way_latest compares these times)
            state.field_stamps[key] = FieldStamp(at=event.occurred_at, source=event.actor)
    if state.source is None and event.properties.get("source"):
        state.source = event.properties["source"]
    state.touches[state.stage] = state.touches.get(state.stage, 0) + 1
    state.last_touch_at = now
    state.score_items = [*state.score_items, *signal_items(pb.scoring, event)][-MAX_SCORE_ITEMS:]
    state.score = total_score(pb.scoring, state.fields, state.score_items, now)
    qualify(pb, state, now)


def _target(pb: Playbook, state: LeadState, event: LeadEvent,
            legacy: bool = False) -> tuple[str | None, str | None]:
    """Where this event moves the lead (or None), or why a command is refused."""
    is_command = event.kind in COMMAND_VERBS
    # A fact that happened before the lead entered its stage must not undo a newer decision.
    caused_at = state.stage_caused_at
    if not is_command and caused_at is not None and event.occurred_at < caused_at:
        return None, None
    refusal = _check_parameters(pb, state, event)
    if refusal:
        return None, refusal if is_command else None
    if event.kind in (EventKind.ACCEPT, EventKind.CAPTURE):
        return None, None  # they settle a handoff or record fields; they move nothing
    if event.kind == EventKind.REJECT:
        return reject_target(pb, state), None
    target = _re_entry(pb, state, event, legacy) or _matching(pb, state, event)
    if target is not None and gate_blocks(pb, state, target):
        if is_command:
            return None, gate_refusal(pb, state, COMMAND_VERBS[event.kind], target)
        target = _gate_diversion(pb, state)
    if target is None:
        return None, _refusal(pb, state, event) if is_command else None
    missing = _missing_fields(pb, state, target)
    if missing:
        verb = COMMAND_VERBS.get(event.kind, f"move to {target}")
        return None, f"cannot {verb}: missing {', '.join(missing)}" if is_command else None
    return target, None


def _missing_fields(pb: Playbook, state: LeadState, stage: str) -> list[str]:
    return [f for f in expand(pb.stage(stage).required_fields) if not state.fields.get(f)]


def _destination(state: LeadState, t: Transition) -> str | None:
    """A transition's target when its `if:` holds, else its `else:` target (or none)."""
    if not t.if_ or conditions_hold(t.if_, lead_values(state)):
        return t.to
    return t.else_


def _gate_diversion(pb: Playbook, state: LeadState) -> str | None:
    """Where a fact or a score sends a lead the ICP gate stops: `fail_to`, or nowhere (it waits)."""
    assert pb.icp is not None
    return pb.icp.fail_to if pb.icp.fail_to != state.stage else None


def _check_parameters(pb: Playbook, state: LeadState, event: LeadEvent) -> str | None:
    reason = event.properties.get("reason", "")
    if event.kind == EventKind.DISQUALIFY and reason not in pb.disqualification_reasons:
        return _reason_refusal("disqualify", reason, pb.disqualification_reasons)
    if event.kind == EventKind.LOST and pb.loss_reasons and reason not in pb.loss_reasons:
        return _reason_refusal("mark lost", reason, pb.loss_reasons)
    if event.kind == EventKind.SNOOZE:
        return _check_snooze(pb, event)
    if event.kind in (EventKind.ACCEPT, EventKind.REJECT):
        return handoff_refusal(pb, state, event)
    if event.kind == EventKind.CAPTURE and not set(event.properties) - COMMAND_PARAMS:
        return "cannot capture: name at least one field (--prop economic_buyer=...)"
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


def _re_entry(pb: Playbook, state: LeadState, event: LeadEvent, legacy: bool = False) -> str | None:
    """A nurtured lead comes back to its path's re-entry stage on the path's triggers, or when a
    person reopens it, whether or not its follow-up date has passed."""
    if pb.stage(state.stage).kind != StageKind.NURTURE:
        return None
    if legacy:
        if state.follow_up is None:
            return None
        path = pb.nurture_path(state.follow_up.path)
        return path.re_entry_stage if event.kind in path.re_entry_on else None
    found = _nurture_path(pb, state)
    if found is None:
        return None
    re_enters = event.kind in found.re_entry_on or event.kind == EventKind.REOPEN
    return found.re_entry_stage if re_enters else None


def _nurture_path(pb: Playbook, state: LeadState) -> NurturePath | None:
    """The path a nurtured lead is on: its follow-up's, the one it entered on, else the first."""
    for name in (state.follow_up.path if state.follow_up else None, state.nurture_path):
        for path in pb.nurture_paths:
            if path.name == name:
                return path
    return pb.nurture_paths[0] if pb.nurture_paths else None


def _matching(pb: Playbook, state: LeadState, event: LeadEvent) -> str | None:
    if event.kind == EventKind.CRM_STAGE_CHANGED:
        return _crm_target(pb, state, event)
    for t in pb.transitions:
        if t.to_playbook is not None:
            continue  # joining another playbook's motion: lifecycle/motion.py
        if event.kind in t.when and state.stage in pb.sources_of(t) and _score_ok(pb, state, t):
            target = _destination(state, t)
            if target is not None:
                return target
    return None


def _crm_target(pb: Playbook, state: LeadState, event: LeadEvent) -> str | None:
    """A person's stage change in a CRM: adopted when the playbook allows it, or when that CRM wins."""
    wanted = event.properties.get("stage")
    if wanted is None or wanted == state.stage or wanted not in {s.name for s in pb.stages}:
        return None
    allowed = {t.to for t in pb.transitions if state.stage in pb.sources_of(t) and t.to_playbook is None}
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


def _score_moves(pb: Playbook, state: LeadState, event: LeadEvent, now: datetime,
                 legacy: bool = False) -> list[fx.Effect]:
    """Scoring alone may move a lead (New -> MQL, Activated -> PQL); follow chains a few steps.

    Like a fact, a score crossing waits for the target stage's required fields (legacy rules
    moved without them)."""
    effects: list[fx.Effect] = []
    for _ in range(MAX_SCORE_CHAIN):
        target = next(
            (to for t in pb.transitions
             if "score_threshold" in t.when and state.stage in pb.sources_of(t)
             and _threshold_met(pb, state, t, now)
             and (to := _gated(pb, state, _destination(state, t))) is not None
             and (legacy or not _missing_fields(pb, state, to))),
            None,
        )
        if target is None or target == state.stage:
            break
        effects += _move(pb, state, event, target, now, cause="score_threshold", legacy=legacy)
    return effects


def _gated(pb: Playbook, state: LeadState, target: str | None) -> str | None:
    if target is not None and gate_blocks(pb, state, target):
        return _gate_diversion(pb, state)
    return target


def _threshold_met(pb: Playbook, state: LeadState, t: Transition, now: datetime) -> bool:
    threshold = t.min_score if t.min_score is not None else pb.scoring.mql_threshold
    if not t.score_categories:  # the whole score, which _absorb computed at this `now`
        return state.score >= threshold
    score = total_score(pb.scoring, state.fields, state.score_items, now, t.score_categories)
    return score >= threshold


def _move(
    pb: Playbook, state: LeadState, event: LeadEvent, target: str, now: datetime,
    cause: str | None = None, legacy: bool = False,
) -> list[fx.Effect]:
    previous, cause = state.stage, cause or event.kind.value
    effects = sla_effects(pb, state, event, now, leaving=True, target=target)
    if state.follow_up is not None:
        state.follow_up = None
        effects.append(fx.CancelFollowUp())
    state.nurture_path = state.snooze_reason = None
    if legacy:
        outcome = event.kind in (EventKind.DISQUALIFY, EventKind.LOST)
        reason = event.properties.get("reason") if outcome else None
        state.disqualification_reason = reason if event.kind == EventKind.DISQUALIFY else None
        state.loss_reason = reason if event.kind == EventKind.LOST else None
    else:
        kind = pb.stage(target).kind
        reason = _reason(pb, event, kind)
        state.disqualification_reason = reason if kind == StageKind.DISQUALIFIED else None
        state.loss_reason = reason if kind == StageKind.LOST else None
    state.history.append(StageChange(from_stage=previous, to_stage=target, at=now, cause=cause,
                                     event_id=event.event_id, actor=event.actor, reason=reason))
    state.stage, state.entered_stage_at = target, now
    state.stage_caused_at = event.occurred_at
    effects += _enter(pb, state, event, now)
    # Syncing a stage also emits Segment's "Lead Stage Changed"; no separate analytics effect.
    effects.append(fx.SyncStage(stage=target, previous_stage=previous, cause=cause, reason=reason))
    return effects


def _reason(pb: Playbook, event: LeadEvent, entering: StageKind) -> str | None:
    """Why a lead moved: a person's reason (disqualify, lost, reopen), or the CRM's reason field
    when a person disqualified or lost it there (an unknown value kept as `other:<value>`)."""
    given = event.properties.get("reason") or None
    if event.kind in (EventKind.DISQUALIFY, EventKind.LOST, EventKind.REOPEN, EventKind.REJECT):
        return given
    if event.kind == EventKind.CRM_STAGE_CHANGED and entering == StageKind.DISQUALIFIED:
        return crm_reason(pb.disqualification_reasons, given)
    if event.kind == EventKind.CRM_STAGE_CHANGED and entering == StageKind.LOST:
        return crm_reason(pb.loss_reasons, given)
    return None


def _adopt_crm_reason(pb: Playbook, state: LeadState, event: LeadEvent) -> None:
    """A reason a person set in the CRM after the stage (HubSpot reports each property apart):
    it fills or replaces the reason of a disqualified or lost lead; a blank never erases one."""
    if event.kind != EventKind.CRM_STAGE_CHANGED or not event.properties.get("reason"):
        return
    if event.properties.get("stage", state.stage) != state.stage:
        return
    kind = pb.stage(state.stage).kind
    reason = _reason(pb, event, kind)
    if reason and kind == StageKind.DISQUALIFIED:
        state.disqualification_reason = reason
    elif reason and kind == StageKind.LOST:
        state.loss_reason = reason


def brings_crm_reason(pb: Playbook, state: LeadState, event: LeadEvent) -> bool:
    """A CRM change naming a reason the lead does not have yet: news, even in the same stage."""
    if event.kind != EventKind.CRM_STAGE_CHANGED or not event.properties.get("reason"):
        return False
    reason = _reason(pb, event, pb.stage(state.stage).kind)
    return reason is not None and reason not in (state.disqualification_reason, state.loss_reason)


def _enter(pb: Playbook, state: LeadState, event: LeadEvent, now: datetime) -> list[fx.Effect]:
    stage = pb.stage(state.stage)
    effects = route_on_entry(pb, state)  # first: a business-hours SLA runs on the team's calendar
    effects += sla_effects(pb, state, None, now)
    refresh_stage_timer(pb, state)
    effects += request_handoff(pb, state, now)
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
    state.nurture_path = path.name
    state.snooze_reason = event.properties.get("reason") if event.kind == EventKind.SNOOZE else None
    return [fx.ArmFollowUp(due_at=due)]


def _as_aware(value: datetime, like: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=like.tzinfo)


def _on_timer(pb: Playbook, state: LeadState, event: LeadEvent, now: datetime) -> list[fx.Effect]:
    if event.kind == EventKind.SLA_BREACHED:
        return on_sla_breach(pb, state, now)
    if event.kind == EventKind.ACCEPTANCE_DUE:
        return on_acceptance_due(state, now)
    if event.kind == EventKind.STAGE_TIMEOUT:
        return _on_stage_timeout(pb, state, event, now)
    if state.follow_up is None or state.follow_up.due_at > now:
        return []  # a stale timer: the follow-up was cancelled or moved
    path = state.follow_up.path
    state.follow_up = None
    return [
        fx.NotifyOwner(subject=f"Follow up with {state.email} ({path})", body=_context(state, "")),
        fx.EmitAnalytics(event="Lead Follow-up Due", properties={"path": path, "stage": state.stage}),
    ]


def _on_stage_timeout(pb: Playbook, state: LeadState, event: LeadEvent, now: datetime) -> list[fx.Effect]:
    """A lead that sat in its stage without a touch for the transition's `after`: recycled."""
    timer, t = state.stage_timer, timed_transition(pb, state.stage)
    if timer is None or timer.due_at > now:
        return []  # stale: touched since, or moved on
    state.stage_timer = None  # a due timer never stays due: the workflow would fire it again
    if t is None:
        return []
    target = _gated(pb, state, _destination(state, t))
    if target is None or target == state.stage:
        return []
    return _move(pb, state, event, target, now, cause="stage_timeout")


def _context(state: LeadState, rule: str) -> str:
    lines = [f"Lead: {state.email}", f"Stage: {state.stage}", f"Score: {state.score}"]
    if rule:
        lines.append(f"Entry rule: {rule}")
    lines += [f"{k}: {v}" for k, v in sorted(state.fields.items())]
    return "\n".join(lines)
