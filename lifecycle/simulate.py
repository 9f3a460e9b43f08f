"""Simulating a playbook before rollout: replay each lead's recorded events through the current
and the new playbook with the pure engine (no Temporal, no vendors) and compare where each ends.

A replay starts the lead as `new_lead` does, applies its events in time order, and fires its own
SLA and follow-up timers at their due times (up to the next event, then up to `until`), as the
workflow would. What differs per lead: the end stage (the current one read through the new
version's renames), the path of transitions, the teams routing picks (owners come from a team's
router, outside the engine, so a simulation compares the team and role), and SLA outcomes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, Field

from config.playbook import Playbook
from lifecycle import effects as fx
from lifecycle.engine import new_lead
from lifecycle.events import EventKind, LeadEvent
from lifecycle.motion import decide_with_motions
from lifecycle.state import LeadState

MAX_TIMERS = 50  # timers fired between two events (an SLA re-arms once; a follow-up fires once)


class SampleLead(BaseModel):
    """One line of a `--leads SAMPLE.jsonl` file: a lead and its recorded events, in any order."""

    email: str
    playbook: str | None = None  # the playbook it runs today (else the deployment's selection)
    source: str | None = None
    fields: dict[str, str] = Field(default_factory=dict)
    created_at: datetime
    events: list[LeadEvent] = Field(default_factory=list)


@dataclass
class Run:
    """Where one lead ends under one playbook, and what happened on the way."""

    playbook: str
    stage: str
    path: list[str]  # stages entered, in order, the first included
    owners: list[str]  # team/role routing picked on each assignment
    sla: Counter[str] = field(default_factory=Counter)  # "Stage: breached" -> times
    refused: int = 0  # commands the playbook refused


@dataclass
class LeadComparison:
    email: str
    current: Run
    new: Run
    renames: Mapping[str, str]

    def read(self, stage: str) -> str:
        return self.renames.get(stage, stage)

    @property
    def end_differs(self) -> bool:
        return self.read(self.current.stage) != self.new.stage

    @property
    def path_differs(self) -> bool:
        return [self.read(s) for s in self.current.path] != self.new.path

    @property
    def owners_differ(self) -> bool:
        return self.current.owners != self.new.owners

    @property
    def sla_differs(self) -> bool:
        return _read_sla(self.current.sla, self.renames) != self.new.sla

    @property
    def differs(self) -> bool:
        return self.end_differs or self.path_differs or self.owners_differ or self.sla_differs


@dataclass
class Comparison:
    leads: list[LeadComparison]
    current_name: str
    new_name: str

    @property
    def changed(self) -> list[LeadComparison]:
        return [c for c in self.leads if c.differs]

    def moves(self) -> Counter[tuple[str, str]]:
        """(end under current, end under new) for leads whose end stage differs."""
        return Counter((c.read(c.current.stage), c.new.stage) for c in self.leads if c.end_differs)

    def funnel(self) -> list[tuple[str, int, int]]:
        """Per stage: leads that entered it under the current and under the new playbook."""
        current = Counter(s for c in self.leads for s in {c.read(x) for x in c.current.path})
        new = Counter(s for c in self.leads for s in set(c.new.path))
        order = list(dict.fromkeys([s for c in self.leads for s in c.new.path]
                                   + [c.read(s) for c in self.leads for s in c.current.path]))
        return [(s, current[s], new[s]) for s in order]

    def sla_totals(self) -> tuple[Counter[str], Counter[str]]:
        """SLA outcomes (met, breached, left, open) over all leads: current, new."""
        def total(runs: list[Run]) -> Counter[str]:
            out: Counter[str] = Counter()
            for run in runs:
                for key, n in run.sla.items():
                    out[key.rsplit(": ", 1)[1]] += n
            return out
        return total([c.current for c in self.leads]), total([c.new for c in self.leads])


def replay(pb: Playbook, lead: SampleLead, until: datetime,
           targets: Mapping[str, Playbook] | None = None) -> Run:
    """The lead's events through `pb` (and the playbooks its to_playbook transitions join)."""
    decision = new_lead(pb, lead.email, lead.created_at, lead.fields, lead.source)
    state, run = decision.state, Run(pb.name, "", [decision.state.stage], [])
    _collect(run, decision.effects)
    current = pb
    for event in sorted(lead.events, key=lambda e: e.occurred_at):
        state, current = _fire_timers(current, state, event.occurred_at, run, targets or {})
        state, current = _apply(current, state, event, event.occurred_at, run, targets or {})
    state, current = _fire_timers(current, state, until, run, targets or {})
    if state.sla is not None:
        run.sla[f"{state.sla.stage}: open"] += 1
    for outcome in state.sla_outcomes:
        run.sla[f"{outcome.stage}: {outcome.outcome}"] += 1
    run.stage, run.playbook = state.stage, current.name
    return run


def _apply(pb: Playbook, state: LeadState, event: LeadEvent, now: datetime, run: Run,
           targets: Mapping[str, Playbook]) -> tuple[LeadState, Playbook]:
    decision = decide_with_motions(pb, state, event, now, targets)
    if decision.rejection:
        run.refused += 1
    if not decision.accepted:
        return state, pb
    _collect(run, decision.effects)
    new = decision.state
    return new, targets.get(new.playbook, pb) if new.playbook != pb.name else pb


def _fire_timers(pb: Playbook, state: LeadState, until: datetime, run: Run,
                 targets: Mapping[str, Playbook]) -> tuple[LeadState, Playbook]:
    for _ in range(MAX_TIMERS):
        clocks = [(c.due_at, k) for c, k in ((state.sla, EventKind.SLA_BREACHED),
                                              (state.follow_up, EventKind.FOLLOW_UP_DUE)) if c is not None]
        due = min(clocks, default=None)
        if due is None or due[0] > until:
            break
        at, kind = due
        event = LeadEvent(event_id=f"{kind.value}@{at.isoformat()}", kind=kind, occurred_at=at)
        before = state
        state, pb = _apply(pb, state, event, at, run, targets)
        if state is before:
            break
    return state, pb


def _collect(run: Run, effects: list[fx.Effect]) -> None:
    for effect in effects:
        if isinstance(effect, fx.SyncStage) and effect.previous_stage is not None:
            run.path.append(effect.stage)
        elif isinstance(effect, fx.RouteLead):
            run.owners.append(f"{effect.team}/{effect.role}" + (" (reassign)" if effect.reassign else ""))


def _read_sla(sla: Counter[str], renames: Mapping[str, str]) -> Counter[str]:
    out: Counter[str] = Counter()
    for key, n in sla.items():
        stage, outcome = key.rsplit(": ", 1)
        out[f"{renames.get(stage, stage)}: {outcome}"] += n
    return out


def compare(leads: list[tuple[SampleLead, Playbook]], new: Playbook, until: datetime,
            renames: Mapping[str, str] | None = None,
            targets: Mapping[str, Playbook] | None = None) -> Comparison:
    """Each lead under its current playbook and under `new`; `renames`: the new version's
    old -> new stage names, so a renamed stage is no difference."""
    targets = dict(targets or {})
    compared = []
    for lead, current in leads:
        compared.append(LeadComparison(
            email=lead.email, current=replay(current, lead, until, targets),
            new=replay(new, lead, until, {**targets, new.name: new}), renames=renames or {}))
    name = leads[0][1].name if leads else new.name
    return Comparison(compared, name, new.name)


def render_text(c: Comparison, show_all: bool = False) -> str:
    """Per lead (those that differ, or all) and in total, as plain text."""
    lines = []
    for lead in c.leads:
        if not (show_all or lead.differs):
            continue
        cur, new = lead.current, lead.new
        mark = "" if lead.differs else " (same)"
        lines.append(f"{lead.email}{mark}: ends {cur.stage!r} -> {new.stage!r}")
        if lead.path_differs:
            lines.append(f"  path now: {' > '.join(cur.path)}")
            lines.append(f"  path new: {' > '.join(new.path)}")
        if lead.owners_differ:
            lines.append(f"  owners: {', '.join(cur.owners) or '-'} -> {', '.join(new.owners) or '-'}")
        if lead.sla_differs:
            lines.append(f"  SLA: {_sla_text(_read_sla(cur.sla, lead.renames))} -> {_sla_text(new.sla)}")
    now, new_sla = c.sla_totals()
    lines += ["", f"{len(c.leads)} leads; {len(c.changed)} differ "
                  f"({sum(x.end_differs for x in c.leads)} end elsewhere, "
                  f"{sum(x.path_differs for x in c.leads)} take another path, "
                  f"{sum(x.owners_differ for x in c.leads)} get other teams, "
                  f"{sum(x.sla_differs for x in c.leads)} other SLA outcomes)"]
    for (a, b), n in sorted(c.moves().items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  {n:>4} end in {b!r} instead of {a!r}")
    lines.append(f"SLA outcomes: current {_sla_text(now)}; new {_sla_text(new_sla)}")
    lines += ["", f"{'stage':<28}{'current':>9}{'new':>9}{'change':>9}"]
    for stage, a, b in c.funnel():
        lines.append(f"{stage:<28}{a:>9}{b:>9}{b - a:>+9}")
    return "\n".join(lines) + "\n"


def _sla_text(sla: Counter[str]) -> str:
    return ", ".join(f"{k} x{n}" for k, n in sorted(sla.items())) or "none"
