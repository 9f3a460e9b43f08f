"""Handoff acceptance figures (issue 19) from ledger facts: pure, unit-tested by hand.

Definitions: a *handoff* is a stage's request that its new owner accept the lead, counted when
asked in the period; *accepted* and *rejected* are the owners' answers in the period; the
*acceptance rate* is accepted / (accepted + rejected); *overdue*: handoffs whose acceptance time
ran out unanswered. Rows are by the lead's channel (its source) and campaign; rejection reasons
by reason, channel and campaign.
"""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel

from ledger import facts as k
from ledger.facts import Fact

NONE = "(none)"


class HandoffFigures(BaseModel):
    channel: str
    campaign: str
    requested: int
    accepted: int
    rejected: int
    overdue: int
    acceptance_rate: float | None


class RejectionReason(BaseModel):
    reason: str
    channel: str
    campaign: str
    count: int


def handoff_figures(period: list[Fact]) -> list[HandoffFigures]:
    counts: Counter[tuple[str, str, str]] = Counter(
        (f.channel or NONE, f.campaign or NONE, f.kind) for f in period
        if f.kind in (k.HANDOFF, k.HANDOFF_ACCEPTED, k.HANDOFF_REJECTED, k.HANDOFF_OVERDUE))
    rows = []
    for channel, campaign in sorted({(c, m) for c, m, _ in counts}):
        n = {kind: counts[(channel, campaign, kind)] for kind in
             (k.HANDOFF, k.HANDOFF_ACCEPTED, k.HANDOFF_REJECTED, k.HANDOFF_OVERDUE)}
        answered = n[k.HANDOFF_ACCEPTED] + n[k.HANDOFF_REJECTED]
        rows.append(HandoffFigures(
            channel=channel, campaign=campaign, requested=n[k.HANDOFF], accepted=n[k.HANDOFF_ACCEPTED],
            rejected=n[k.HANDOFF_REJECTED], overdue=n[k.HANDOFF_OVERDUE],
            acceptance_rate=round(n[k.HANDOFF_ACCEPTED] / answered, 4) if answered else None))
    return rows


def rejection_reasons(period: list[Fact]) -> list[RejectionReason]:
    counts: Counter[tuple[str, str, str]] = Counter(
        (f.reason or NONE, f.channel or NONE, f.campaign or NONE)
        for f in period if f.kind == k.HANDOFF_REJECTED)
    return [RejectionReason(reason=r, channel=c, campaign=m, count=n)
            for (r, c, m), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
