"""Switching motion: a playbook transition with `to_playbook:` moves a lead into another playbook
(a trial that books a demo joins the demo-led motion). Pure, like the engine it wraps.

The lead's SLA in the stage it leaves settles under the playbook it leaves; the stage it enters,
its SLA, routing and owner task come from the playbook it joins. The move is one entry in the
lead's history whose `playbook` names the playbook joined.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from config.playbook import Playbook, Transition
from lifecycle.engine import Decision, _absorb, _move, _score_moves, _score_ok, decide
from lifecycle.events import COMMAND_VERBS, TIMER_KINDS, LeadEvent
from lifecycle.scoring import total_score
from lifecycle.sla import sla_effects
from lifecycle.state import LeadState

JOINED_PREFIX = "joined playbook "  # the ledger detail of a switch (ledger/facts.py reads it)


def motion_transition(pb: Playbook, state: LeadState, event: LeadEvent,
                      targets: Mapping[str, Playbook]) -> Transition | None:
    """The first `to_playbook` transition this event takes from the lead's stage, when the
    playbook it names is loaded and has the stage; None otherwise."""
    if event.kind in TIMER_KINDS or state.closure is not None or state.has_seen(event.event_id):
        return None
    caused_at = state.stage_caused_at
    if event.kind not in COMMAND_VERBS and caused_at is not None and event.occurred_at < caused_at:
        return None  # a fact older than the decision that put the lead here
    for t in pb.transitions:
        target = targets.get(t.to_playbook or "")
        if target is None or t.to not in {s.name for s in target.stages}:
            continue
        if event.kind in t.when and state.stage in pb.sources_of(t) and _score_ok(pb, state, t):
            missing = [f for f in target.stage(t.to).required_fields if not state.fields.get(f)
                       and not event.properties.get(f)]
            return None if missing else t
    return None


def decide_with_motions(pb: Playbook, state: LeadState, event: LeadEvent, now: datetime,
                        targets: Mapping[str, Playbook], *, legacy: bool = False,
                        bounded_fields: bool = True) -> Decision:
    """`decide`, unless the event takes a `to_playbook` transition: then the lead joins it."""
    t = motion_transition(pb, state, event, targets) if targets else None
    if t is None:
        return decide(pb, state, event, now, legacy=legacy, bounded_fields=bounded_fields)
    return join(pb, targets[t.to_playbook or ""], state, event, t.to, now)


def join(old: Playbook, new_pb: Playbook, state: LeadState, event: LeadEvent, stage: str,
         now: datetime) -> Decision:
    """The lead leaves `old` and enters `stage` of `new_pb`."""
    new = state.model_copy(deep=True)
    new.remember(event.event_id, now)
    new.events_applied += 1
    _absorb(old, new, event, now)
    effects = sla_effects(old, new, event, now, leaving=True)  # met or left, by the old rules
    new.paused_sla = None  # a clock held by a waiting stage of the old playbook ends there
    new.playbook = new_pb.name
    new.team = None  # the new motion routes by its own teams
    new.score = total_score(new_pb.scoring, new.fields, new.score_items, now)
    effects += _move(new_pb, new, event, stage, now)
    new.history[-1].playbook = new_pb.name
    effects += _score_moves(new_pb, new, event, now)
    return Decision(state=new, effects=effects)
