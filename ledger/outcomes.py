"""Score against outcomes (issue 19): which leads reached an opportunity and closed won, by the
score band, fit grade, channel and campaign they had before that. Pure, from ledger facts.

Definitions: a lead counts once, if it has any fact in the period. Its *score band* is the band
of the highest score it had before it first reached an opportunity stage (or ever, if it never
did); its *fit grade* the last grade recorded by then ("(none)" for playbooks without grades:);
*channel* is the lead's source, *campaign* its campaign. *Opportunity*: it entered one of the
opportunity stages by the end of the period; *won*: it entered a won stage by then.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from pydantic import BaseModel

from ledger import facts as k
from ledger.facts import Fact

NONE = "(none)"
BANDS = ((80, "80+"), (60, "60-79"), (40, "40-59"), (20, "20-39"), (0, "0-19"))
DIMENSIONS = ("score_band", "fit_grade", "channel", "campaign")


class OutcomeRow(BaseModel):
    dimension: str  # score_band | fit_grade | channel | campaign
    value: str
    leads: int
    opportunities: int
    won: int
    opportunity_rate: float
    won_rate: float


def band(score: int) -> str:
    return next(name for floor, name in BANDS if score >= floor)


def outcomes(facts: Iterable[Fact], since, until, opportunity_stages: set[str],  # type: ignore[no-untyped-def]
             won_stages: set[str]) -> list[OutcomeRow]:
    by_lead: dict[str, list[Fact]] = defaultdict(list)
    for fact in facts:
        if fact.at < until:
            by_lead[fact.lead_id].append(fact)
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for lead_facts in by_lead.values():
        if not any(since <= f.at < until for f in lead_facts):
            continue
        lead_facts.sort(key=lambda f: (f.seq, f.idx))
        keys, opportunity, won = _lead(lead_facts, opportunity_stages, won_stages)
        for key in keys:
            row = counts[key]
            row[0] += 1
            row[1] += opportunity
            row[2] += won
    order = {d: i for i, d in enumerate(DIMENSIONS)}
    return [OutcomeRow(dimension=d, value=v, leads=n, opportunities=o, won=w,
                       opportunity_rate=round(o / n, 4), won_rate=round(w / n, 4))
            for (d, v), (n, o, w) in sorted(counts.items(), key=lambda kv: (order[kv[0][0]], kv[0][1]))]


def _lead(lead_facts: list[Fact], opportunity_stages: set[str], won_stages: set[str]):  # type: ignore[no-untyped-def]
    entered = [f for f in lead_facts if f.kind == k.STAGE and f.to_stage]
    opened = next((f for f in entered if f.to_stage in opportunity_stages), None)
    won = any(f.to_stage in won_stages for f in entered)
    before = [f for f in lead_facts if opened is None or (f.seq, f.idx) <= (opened.seq, opened.idx)]
    score = max((f.score_after for f in before if f.score_after is not None), default=0)
    grade = next((f.fit_grade for f in reversed(before) if f.fit_grade), NONE)
    keys = [("score_band", band(score)), ("fit_grade", grade),
            ("channel", next((f.channel for f in lead_facts if f.channel), NONE)),
            ("campaign", next((f.campaign for f in lead_facts if f.campaign), NONE))]
    return keys, int(opened is not None or won), int(won)
