"""Issue 19's richer rules through the pure engine: fit grades, the ICP gate, conditional and
time-based transitions, handoff acceptance and qualification frameworks."""

from __future__ import annotations

from datetime import timedelta

import pytest

from config.playbook import Playbook
from config.playbook_loader import load_playbook
from lifecycle import effects as fx
from lifecycle.frameworks import completeness
from lifecycle.qualification import icp_status
from tests.support.lifecycle_helpers import Lead
from tests.support.rules_playbook import rules_playbook, rules_raw, write_playbook

GRADE_A = {"company_size": "300", "industry": "software", "role": "vp"}  # 15 + 10 + 10 = 35
FOUNDER_OF_FIVE = {"company_size": "5", "role": "founder"}  # 10 fit points: grade C, fails the ICP


@pytest.fixture(scope="module")
def rules(tmp_path_factory) -> Playbook:
    return rules_playbook(tmp_path_factory.mktemp("rules"))


def sql_lead(pb: Playbook, **fields: str) -> Lead:
    lead = Lead(pb, **{**GRADE_A, **fields})
    lead.send("demo_requested")
    lead.send("confirm_sql", use_case="forecasting", timeline="Q3")
    assert lead.state.stage == "SQL"
    return lead


def test_fit_grade_follows_the_fit_score_thresholds(rules):
    assert Lead(rules, **GRADE_A).state.fit_grade == "A"
    assert Lead(rules, company_size="300", industry="software").state.fit_grade == "B"  # 25
    assert Lead(rules, **FOUNDER_OF_FIVE).state.fit_grade == "C"
    assert Lead(rules).state.fit_grade == "D"


def test_a_grade_rule_wins_over_the_thresholds(tmp_path):
    raw = rules_raw()
    raw["grades"]["rules"] = [{"grade": "A", "if": {"industry": ["fintech"]}}]
    pb = load_playbook(write_playbook(raw, tmp_path))
    assert Lead(pb, industry="FinTech").state.fit_grade == "A"


def test_icp_passes_fails_or_is_unknown_with_its_reasons(rules):
    assert icp_status(rules, {"company_size": "300"}) == ("pass", [])
    assert icp_status(rules, {}) == ("unknown", ["company_size unknown"])
    assert icp_status(rules, {"company_size": "5"}) == ("fail", ["company_size = 5 (at least 20)"])


def test_a_below_icp_founders_demo_request_goes_to_nurture(rules):
    lead = Lead(rules, **FOUNDER_OF_FIVE)
    lead.send("demo_requested")
    assert lead.state.stage == "Nurture"
    assert lead.state.follow_up is not None  # nurtured on the first path, follow-up armed


def test_a_grade_a_demo_request_becomes_an_mql(rules):
    lead = Lead(rules, **GRADE_A)
    lead.send("demo_requested")
    assert lead.state.stage == "MQL"


def test_stock_demo_led_keeps_moving_any_demo_request_to_mql(demo_led):
    lead = Lead(demo_led, **FOUNDER_OF_FIVE)
    lead.send("demo_requested")
    assert lead.state.stage == "MQL" and lead.state.fit_grade is None and lead.state.icp is None


def test_a_lead_failing_the_icp_cannot_be_confirmed_sql(rules):
    lead = Lead(rules, **GRADE_A)
    lead.send("demo_requested")
    lead.send("other", company_size="8")
    refused = lead.send("confirm_sql", use_case="forecasting", timeline="Q3")
    assert refused.rejection == ("cannot confirm SQL: the lead fails the ICP gate of 'SQL' "
                                 "(company_size = 8 (at least 20))")
    assert lead.state.stage == "MQL"


def test_a_score_crossing_into_a_gated_stage_goes_to_fail_to(tmp_path):
    raw = rules_raw()
    raw["icp"]["gate"] = ["MQL"]
    pb = load_playbook(write_playbook(raw, tmp_path))
    lead = Lead(pb, company_size="5", industry="software", role="vp")  # fails the ICP
    lead.send("pricing_visit")
    lead.send("email_reply")
    lead.send("meeting_attended")  # 20 fit + 15 + 35 engagement capped 30: crosses 60
    assert lead.state.stage == "Nurture"
    assert lead.state.history[-1].cause == "score_threshold"


def test_thirty_days_in_mql_without_a_touch_recycle_to_nurture(rules):
    lead = Lead(rules, **GRADE_A)
    lead.send("demo_requested")
    entered = lead.state.entered_stage_at
    assert lead.state.stage_timer.due_at == entered + timedelta(days=30)
    assert lead.fire("stage_timeout", entered + timedelta(days=29)).effects == []  # early: stale
    lead.fire("stage_timeout", entered + timedelta(days=30))
    assert lead.state.stage == "Nurture"
    assert lead.state.history[-1].cause == "stage_timeout"
    assert lead.state.stage_timer is None  # Nurture has no time-based transition


def test_a_closed_lead_runs_no_recycle_or_handoff_clock(rules):
    from lifecycle.closure import close
    from lifecycle.rule_timers import rule_clocks

    lead = sql_lead(rules)
    assert [kind.value for _, kind in rule_clocks(lead.state)] == ["acceptance_due"]
    mql = Lead(rules, **GRADE_A)
    mql.send("demo_requested")
    assert [kind.value for _, kind in rule_clocks(mql.state)] == ["stage_timeout"]
    for state in (lead.state, mql.state):
        assert rule_clocks(close(state, "deleted", mql.now, "deleted in HubSpot")) == []


def test_a_touch_pushes_the_recycle_back(rules):
    lead = Lead(rules, **GRADE_A)
    lead.send("demo_requested")
    lead.send("email_reply", after=timedelta(days=20))
    assert lead.state.stage_timer.due_at == lead.now + timedelta(days=30)
    lead.fire("stage_timeout", lead.now + timedelta(days=11))  # the old due time: stale
    assert lead.state.stage == "MQL"


def test_sql_asks_its_owner_to_accept_and_the_owner_accepts(rules):
    lead = sql_lead(rules)
    handoff = lead.state.handoff
    assert handoff.stage == "SQL" and handoff.due_at == lead.now + timedelta(hours=4)
    lead.send("accept")
    assert lead.state.handoff is None and lead.state.stage == "SQL"
    assert lead.send("accept").rejection == "cannot accept: no handoff is waiting for acceptance in 'SQL'"


def test_only_the_owner_accepts_a_handoff(rules):
    from lifecycle.engine import decide
    from tests.support.lifecycle_helpers import event

    lead = sql_lead(rules)
    lead.state.owner = "bo.ae@example.com"
    other = event("accept", lead.now).model_copy(update={"actor": "kim.ae@example.com"})
    assert decide(rules, lead.state, other, lead.now).rejection == (
        "cannot accept: only the lead's owner bo.ae@example.com can accept this handoff")
    from_cli = event("accept", lead.now).model_copy(update={"actor": "cli"})  # names nobody
    assert decide(rules, lead.state, from_cli, lead.now).accepted


def test_a_rejected_handoff_recycles_to_mql_with_the_reason(rules):
    lead = sql_lead(rules)
    assert lead.send("reject").rejection == "cannot reject: a reason is required (--prop reason=...)"
    assert lead.send("reject", reason="meh").rejection.startswith("cannot reject: unknown reason 'meh'")
    lead.send("reject", reason="bad_timing")
    last = lead.state.history[-1]
    assert (last.from_stage, last.to_stage, last.cause, last.reason) == ("SQL", "MQL", "reject",
                                                                         "bad_timing")
    assert lead.state.handoff is None


def test_an_unanswered_handoff_escalates_to_the_manager_once(rules):
    lead = sql_lead(rules)
    due = lead.state.handoff.due_at
    d = lead.fire("acceptance_due", due)
    assert [type(e) for e in d.effects] == [fx.NotifyOwner, fx.EmitAnalytics]
    assert d.effects[0].escalate and lead.state.handoff.breached
    assert lead.fire("acceptance_due", due + timedelta(hours=1)).effects == []
    lead.send("accept")  # still possible after the breach
    assert lead.state.handoff is None


def test_bant_is_required_before_in_evaluation_and_captured_field_by_field(rules):
    lead = sql_lead(rules)
    lead.send("accept")
    lead.send("demo_scheduled")
    refused = lead.send("discovery_completed", stakeholders="cfo")
    assert refused.rejection == "cannot complete discovery: missing budget, authority, need"
    assert lead.send("capture").rejection.startswith("cannot capture: name at least one field")
    lead.send("capture", budget="50k", authority="cfo")
    assert completeness(["bant"], lead.state.fields)[0].missing == ["need"]
    lead.send("capture", need="forecast accuracy")
    assert completeness(["bant"], lead.state.fields)[0].share == "4/4"
    lead.send("discovery_completed", stakeholders="cfo")
    assert lead.state.stage == "In Evaluation"


def test_grade_a_leads_are_routed_to_the_enterprise_aes(rules):
    lead = sql_lead(rules)
    assert lead.state.team == "ae-enterprise"
    small = sql_lead(rules, industry="retail")  # 25 fit points: grade B
    assert small.state.team == "ae-americas"
