"""The report's arithmetic on a handful of hand-written facts, every figure worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ledger.facts import Fact
from ledger.report import ReportFilters, compute_report, percentile

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
ORDER = ["New Lead", "MQL", "SQL", "Demo Scheduled", "Disqualified"]


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


class Facts:
    def __init__(self) -> None:
        self.items: list[Fact] = []

    def add(self, lead: str, kind: str, at: datetime, channel: str = "ads", **kw: object) -> None:
        seq = sum(1 for f in self.items if f.lead_id == lead) + 1
        self.items.append(Fact(lead_id=f"lead:{lead}", seq=seq, idx=0, kind=kind, at=at, email=lead,
                               playbook="demo_led", channel=channel, **kw))  # type: ignore[arg-type]

    def move(self, lead: str, at: datetime, to: str, frm: str | None = None, **kw: object) -> None:
        self.add(lead, "stage", at, stage=to, to_stage=to, from_stage=frm, **kw)


@pytest.fixture
def facts() -> list[Fact]:
    f = Facts()
    f.move("a", h(0), "New Lead")
    f.add("a", "touch", h(1), stage="New Lead")
    f.move("a", h(1), "MQL", "New Lead", cause="demo_requested")
    f.add("a", "sla_start", h(1), stage="MQL", sla_started_at=h(1))
    f.add("a", "sla_met", h(3), stage="MQL", sla_started_at=h(1))
    f.add("a", "touch", h(5), stage="MQL")
    f.move("a", h(5), "SQL", "MQL", cause="confirm_sql")
    f.move("b", h(0), "New Lead", channel="webinar")
    f.add("b", "touch", h(3), stage="New Lead", channel="webinar")
    f.move("b", h(3), "MQL", "New Lead", channel="webinar")
    f.add("b", "sla_start", h(3), stage="MQL", sla_started_at=h(3), channel="webinar")
    f.add("b", "touch", h(4), stage="MQL", channel="webinar")
    f.move("b", h(4), "Disqualified", "MQL", cause="disqualify", reason="budget", channel="webinar")
    f.add("b", "sla_left", h(4), stage="MQL", sla_started_at=h(3), channel="webinar")
    f.move("c", h(0), "SQL", imported=True, cause="imported")  # a backfill: history not seen
    f.move("c", h(10), "Demo Scheduled", "SQL", cause="demo_scheduled")
    f.move("d", h(-48), "New Lead")  # entered before the period
    f.move("d", h(2), "MQL", "New Lead")
    f.add("d", "sla_start", h(2), stage="MQL", sla_started_at=h(2))
    f.add("d", "sla_breached", h(26), stage="MQL", sla_started_at=h(2))
    f.add("d", "sla_met", h(30), stage="MQL", sla_started_at=h(2))
    return f.items


def test_percentile_is_nearest_rank():
    assert percentile([5.0, 1.0, 3.0], 0.9) == 5.0
    assert percentile(list(map(float, range(1, 11))), 0.9) == 9.0
    assert percentile([], 0.9) is None


def test_figures_match_the_hand_computation(facts):
    r = compute_report(facts, ReportFilters(since=h(0), until=h(48)), ORDER)
    assert r.leads == 4
    stages = {s.stage: s for s in r.stages}
    assert [s.stage for s in r.stages] == ORDER
    assert {n: (s.entered, s.imported) for n, s in stages.items()} == {
        "New Lead": (2, 0), "MQL": (3, 0), "SQL": (1, 1), "Demo Scheduled": (1, 0), "Disqualified": (1, 0)}
    assert stages["New Lead"].time_in_stage_hours == [1.0, 3.0]
    assert (stages["New Lead"].median_hours, stages["New Lead"].p90_hours) == (2.0, 3.0)
    assert (stages["MQL"].median_hours, stages["MQL"].p90_hours) == (2.5, 4.0)  # d is still in MQL
    assert stages["SQL"].time_in_stage_hours == []  # the imported SQL visit is not measured
    assert (stages["MQL"].touches, stages["MQL"].touched_leads, stages["MQL"].touches_per_lead) == (2, 2, 1.0)
    assert {(c.from_stage, c.to_stage): (c.leads, c.rate) for c in r.conversions} == {
        ("New Lead", "MQL"): (2, 1.0), ("MQL", "SQL"): (1, 0.3333), ("MQL", "Disqualified"): (1, 0.3333)}
    [mql] = r.sla
    assert (mql.started, mql.met, mql.breached, mql.left, mql.open) == (3, 1, 1, 1, 0)
    assert (mql.met_rate, mql.breached_rate) == (0.3333, 0.3333)
    assert (mql.first_action_median_hours, mql.first_action_p90_hours) == (15.0, 28.0)
    assert [(x.outcome, x.reason, x.channel, x.count) for x in r.reasons] == [
        ("disqualified", "budget", "webinar", 1)]


def test_the_period_end_cuts_visits_and_outcomes(facts):
    r = compute_report(facts, ReportFilters(since=h(0), until=h(4.5)), ORDER)
    stages = {s.stage: s for s in r.stages}
    assert "SQL" not in {c.to_stage for c in r.conversions}  # a moved on at 5h
    assert stages["MQL"].time_in_stage_hours == [1.0]  # only b left MQL before 4.5h
    [mql] = r.sla
    assert (mql.met, mql.left, mql.open) == (1, 1, 1)


def test_filters_pick_leads_by_their_channel(facts):
    r = compute_report(facts, ReportFilters(since=h(0), until=h(48), channel="webinar"), ORDER)
    assert r.leads == 1
    assert {s.stage: s.entered for s in r.stages} == {"New Lead": 1, "MQL": 1, "Disqualified": 1}
    none = compute_report(facts, ReportFilters(since=h(0), until=h(48), campaign="spring"), ORDER)
    assert none.leads == 0 and none.stages == []


def test_disqualifications_and_losses_made_in_a_crm_count_with_their_reasons(facts):
    f = Facts()
    f.items = list(facts)
    f.move("e", h(1), "New Lead", channel="webinar")
    f.move("e", h(2), "Disqualified", "New Lead", cause="crm_stage_changed", reason="budget",
           channel="webinar")
    f.move("g", h(1), "Closed Lost", "SQL", cause="crm_stage_changed", reason="other:went dark")
    f.move("i", h(1), "MQL", "New Lead", cause="crm_stage_changed")  # not an outcome
    r = compute_report(f.items, ReportFilters(since=h(0), until=h(48)), ORDER)
    assert [(x.outcome, x.reason, x.channel, x.count) for x in r.reasons] == [
        ("disqualified", "budget", "webinar", 2), ("lost", "other:went dark", "ads", 1)]
