"""Handoff acceptance figures from ledger facts, worked out by hand (pure; no database)."""

from __future__ import annotations

from datetime import UTC, datetime

from ledger import facts as k
from ledger.facts import Fact
from ledger.handoffs import handoff_figures, rejection_reasons

T = datetime(2026, 3, 2, 9, tzinfo=UTC)


def fact(kind: str, channel: str | None, reason: str | None = None, campaign: str | None = None) -> Fact:
    return Fact(lead_id="lead:x@acme.io", seq=1, idx=0, kind=kind, at=T, email="x@acme.io",
                playbook="demo_led", channel=channel, campaign=campaign, reason=reason)


def test_acceptance_rate_counts_answers_and_overdue_handoffs_stay_apart():
    period = [fact(k.HANDOFF, "ads"), fact(k.HANDOFF, "ads"), fact(k.HANDOFF, "ads"),
              fact(k.HANDOFF_ACCEPTED, "ads"), fact(k.HANDOFF_REJECTED, "ads", "not_a_fit"),
              fact(k.HANDOFF_OVERDUE, "ads"), fact(k.HANDOFF_REJECTED, "ads", "not_a_fit"),
              fact(k.HANDOFF, None), fact(k.HANDOFF_REJECTED, None, "bad_timing"), fact(k.STAGE, "ads")]
    rows = [(r.channel, r.requested, r.accepted, r.rejected, r.overdue, r.acceptance_rate)
            for r in handoff_figures(period)]
    assert rows == [("(none)", 1, 0, 1, 0, 0.0), ("ads", 3, 1, 2, 1, 0.3333)]
    assert [(r.reason, r.channel, r.count) for r in rejection_reasons(period)] == [
        ("not_a_fit", "ads", 2), ("bad_timing", "(none)", 1)]
