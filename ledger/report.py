"""Funnel figures from ledger facts: pure, so every number is unit-tested by hand.

Definitions (what a revenue team reads off the report):
- a *visit* is a lead's stay in a stage, from the fact that moved it in to the next one; visits
  of an imported (backfilled) stage are history leadflow did not see and count nowhere below;
- *entered*: visits that began in the period; *conversion* S -> T: of those visits of S, the
  share whose next stage was T (whenever that happened, up to the end of the period);
- *time in stage*: visits that began and ended in the period; median and p90 (nearest rank);
- *SLA*: clocks started in the period; met (the expected action before any breach), breached
  (at least once), left (the lead moved on otherwise); time to first action = start to the
  expected action, breached or not;
- *reasons*: disqualifications and losses in the period, by channel;
- *touches*: events (facts and commands) the lead got while in a stage, in the period;
- *accounts*: the account funnel of ledger/account_funnel.py (with a playbook that has
  `account_stages`).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field

from config.playbook import Playbook
from ledger import facts as k
from ledger.account_funnel import AccountFunnel, account_funnel
from ledger.facts import Fact
from ledger.handoffs import HandoffFigures, RejectionReason, handoff_figures, rejection_reasons

NO_CHANNEL = "(none)"


class ReportFilters(BaseModel):
    since: datetime
    until: datetime
    playbook: str | None = None
    channel: str | None = None
    campaign: str | None = None
    team: str | None = None


class StageFigures(BaseModel):
    stage: str
    entered: int
    imported: int  # visits of a backfilled stage: shown, never counted in conversion
    time_in_stage_hours: list[float] = Field(default_factory=list)
    median_hours: float | None = None
    p90_hours: float | None = None
    touches: int = 0
    touched_leads: int = 0
    touches_per_lead: float | None = None


class Conversion(BaseModel):
    from_stage: str
    to_stage: str
    leads: int
    rate: float


class SlaFigures(BaseModel):
    stage: str
    started: int
    met: int
    breached: int
    left: int
    open: int
    met_rate: float | None
    breached_rate: float | None
    first_action_median_hours: float | None
    first_action_p90_hours: float | None


class ReasonCount(BaseModel):
    outcome: str  # disqualified | lost
    reason: str
    channel: str
    count: int


class Report(BaseModel):
    filters: ReportFilters
    leads: int
    stages: list[StageFigures]
    conversions: list[Conversion]
    sla: list[SlaFigures]
    reasons: list[ReasonCount]
    # Handoff acceptance (ledger/handoffs.py): by channel and campaign, and rejection reasons.
    handoffs: list[HandoffFigures] = Field(default_factory=list)
    rejections: list[RejectionReason] = Field(default_factory=list)
    accounts: AccountFunnel | None = None

    def reason_totals(self, outcome: str) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for r in self.reasons:
            if r.outcome == outcome:
                totals[r.reason] += r.count
        return dict(totals.most_common())


@dataclass
class Visit:
    lead_id: str
    stage: str
    entered_at: datetime
    imported: bool
    left_at: datetime | None = None
    next_stage: str | None = None


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least `share` of values at or below."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def compute_report(facts: Iterable[Fact], filters: ReportFilters,
                   stage_order: list[str] | None = None,
                   renames: dict[str, dict[str, str]] | None = None,
                   playbook: Playbook | None = None) -> Report:
    """`renames`: per playbook, old stage name -> today's (its versions' migrations), so a stage
    renamed or merged keeps its history under its new name. `playbook`: its account rules give
    the account funnel."""
    by_lead: dict[str, list[Fact]] = defaultdict(list)
    for fact in facts:
        by_lead[fact.lead_id].append(_renamed(fact, renames) if renames else fact)
    leads = {lead: sorted(fs, key=lambda f: (f.seq, f.idx)) for lead, fs in by_lead.items()
             if _matches(fs, filters)}
    period = [f for fs in leads.values() for f in fs if filters.since <= f.at < filters.until]
    visits = [v for fs in leads.values() for v in _visits(fs)]
    in_period = [v for v in visits if filters.since <= v.entered_at < filters.until]
    stages = _stage_figures(in_period, period, filters)
    order = _order(stage_order, [s.stage for s in stages])
    stages.sort(key=lambda s: order(s.stage))
    conversions = _conversions(in_period, filters)
    conversions.sort(key=lambda c: (order(c.from_stage), order(c.to_stage)))
    sla = sorted(_sla_figures(leads.values(), filters), key=lambda s: order(s.stage))
    accounts = account_funnel(leads.values(), playbook, filters.since, filters.until) \
        if playbook is not None and playbook.account_stages else None
    return Report(filters=filters, leads=len({f.lead_id for f in period}), stages=stages,
                  conversions=conversions, sla=sla, reasons=_reasons(period),
                  handoffs=handoff_figures(period), rejections=rejection_reasons(period),
                  accounts=accounts)


def _matches(facts: list[Fact], filters: ReportFilters) -> bool:
    """A lead's playbook, channel, campaign and team are the last values the ledger recorded."""
    for field in ("playbook", "channel", "campaign", "team"):
        wanted = getattr(filters, field)
        if wanted is None:
            continue
        known = [getattr(f, field) for f in facts if getattr(f, field) is not None]
        if not known or known[-1] != wanted:
            return False
    return True


def _renamed(fact: Fact, renames: dict[str, dict[str, str]]) -> Fact:
    names = renames.get(fact.playbook)
    if not names:
        return fact
    return dataclasses.replace(fact, **{f: names.get(v, v) for f in ("stage", "from_stage", "to_stage")
                                        if (v := getattr(fact, f)) is not None})


def _visits(facts: list[Fact]) -> list[Visit]:
    visits: list[Visit] = []
    for fact in facts:
        if fact.kind == k.MIGRATED and visits and fact.to_stage:
            visits[-1].stage = fact.to_stage  # the same stay, under the new version's name
            continue
        if fact.kind != k.STAGE or fact.to_stage is None:
            continue
        if visits:
            visits[-1].left_at, visits[-1].next_stage = fact.at, fact.to_stage
        visits.append(Visit(fact.lead_id, fact.to_stage, fact.at, fact.imported))
    return visits


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def _stage_figures(visits: list[Visit], period: list[Fact], filters: ReportFilters) -> list[StageFigures]:
    figures: dict[str, StageFigures] = {}

    def row(stage: str) -> StageFigures:
        return figures.setdefault(stage, StageFigures(stage=stage, entered=0, imported=0))

    for v in visits:
        fig = row(v.stage)
        if v.imported:
            fig.imported += 1
            continue
        fig.entered += 1
        if v.left_at is not None and v.left_at < filters.until:
            fig.time_in_stage_hours.append(round(_hours(v.entered_at, v.left_at), 4))
    touches = [f for f in period if f.kind == k.TOUCH and f.stage]
    for stage, group in _group(touches, lambda f: f.stage).items():
        fig = row(stage)
        fig.touches, fig.touched_leads = len(group), len({f.lead_id for f in group})
        fig.touches_per_lead = round(fig.touches / fig.touched_leads, 2)
    for fig in figures.values():
        values = fig.time_in_stage_hours
        fig.time_in_stage_hours = sorted(values)
        fig.median_hours = round(statistics.median(values), 2) if values else None
        p90 = percentile(values, 0.9)
        fig.p90_hours = None if p90 is None else round(p90, 2)
    return list(figures.values())


def _conversions(visits: list[Visit], filters: ReportFilters) -> list[Conversion]:
    counted = [v for v in visits if not v.imported]
    entered = Counter(v.stage for v in counted)
    moved = Counter((v.stage, v.next_stage) for v in counted
                    if v.next_stage is not None and v.left_at is not None and v.left_at < filters.until)
    return [Conversion(from_stage=a, to_stage=b, leads=n, rate=round(n / entered[a], 4))
            for (a, b), n in moved.items()]


def _sla_figures(leads: Iterable[list[Fact]], filters: ReportFilters) -> list[SlaFigures]:
    clocks: dict[tuple[str, str, datetime], list[Fact]] = {}
    for facts in leads:
        for f in facts:
            started = f.sla_started_at
            if f.kind == k.SLA_START and started and filters.since <= started < filters.until:
                clocks[(f.lead_id, f.stage or "", started)] = []
        for f in facts:
            if f.kind not in (k.SLA_MET, k.SLA_BREACHED, k.SLA_LEFT) or f.sla_started_at is None:
                continue
            key = (f.lead_id, f.stage or "", f.sla_started_at)
            if key in clocks and f.at < filters.until:
                clocks[key].append(f)
    by_stage: dict[str, list[tuple[datetime, list[Fact]]]] = defaultdict(list)
    for (_, stage, started), outcomes in clocks.items():
        by_stage[stage].append((started, sorted(outcomes, key=lambda f: f.at)))
    return [_sla_row(stage, rows) for stage, rows in by_stage.items()]


def _sla_row(stage: str, clocks: list[tuple[datetime, list[Fact]]]) -> SlaFigures:
    met = breached = left = still_open = 0
    first_action: list[float] = []
    for started, outcomes in clocks:
        kinds = [f.kind for f in outcomes]
        if k.SLA_BREACHED in kinds:
            breached += 1
        elif kinds and kinds[0] == k.SLA_MET:
            met += 1
        elif kinds:
            left += 1
        else:
            still_open += 1
        done = next((f for f in outcomes if f.kind == k.SLA_MET), None)
        if done is not None:
            first_action.append(_hours(started, done.at))
    resolved = met + breached + left
    med = round(statistics.median(first_action), 2) if first_action else None
    p90 = percentile(first_action, 0.9)
    return SlaFigures(
        stage=stage, started=len(clocks), met=met, breached=breached, left=left, open=still_open,
        met_rate=round(met / resolved, 4) if resolved else None,
        breached_rate=round(breached / resolved, 4) if resolved else None,
        first_action_median_hours=med, first_action_p90_hours=None if p90 is None else round(p90, 2))


def _reasons(period: list[Fact]) -> list[ReasonCount]:
    """Disqualifications and losses, made in leadflow or in a CRM, by reason and channel."""
    counts: Counter[tuple[str, str, str]] = Counter(
        (outcome, f.reason or "(none)", f.channel or NO_CHANNEL)
        for f in period if (outcome := k.outcome_of(f)) is not None)
    return [ReasonCount(outcome=o, reason=r, channel=c, count=n)
            for (o, r, c), n in sorted(counts.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1:]))]


def _group(facts: list[Fact], key) -> dict[str, list[Fact]]:  # type: ignore[no-untyped-def]
    groups: dict[str, list[Fact]] = defaultdict(list)
    for f in facts:
        groups[key(f)].append(f)
    return groups


def _order(stage_order: list[str] | None, seen: list[str]):  # type: ignore[no-untyped-def]
    known = {name: i for i, name in enumerate(stage_order or [])}
    return lambda stage: (known.get(stage, len(known)), stage)
