"""The engine routes on stage entry, runs SLAs on business hours, pauses them while waiting on
the customer, and reassigns after the second breach."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from lifecycle import effects as fx
from lifecycle.engine import decide, new_lead
from lifecycle.routing import Person, assign
from tests.support.lifecycle_helpers import Lead, event

NY = ZoneInfo("America/New_York")
FRIDAY_4PM = datetime(2026, 11, 20, 16, tzinfo=NY)


def test_new_high_touch_lead_is_routed_and_due_in_four_business_hours(high_touch):
    d = new_lead(high_touch, "cio@acme.io", FRIDAY_4PM)
    routes = [e for e in d.effects if isinstance(e, fx.RouteLead)]
    assert routes == [fx.RouteLead(team="enterprise-east", role="sdr")]
    assert d.state.team == "enterprise-east" and d.state.manager == "mia.manager@example.com"
    assert d.state.sla is not None and d.state.sla.business_hours
    assert d.state.sla.due_at == datetime(2026, 11, 23, 12, tzinfo=NY)


def test_routing_follows_the_rules_and_only_when_the_team_changes(demo_led):
    lead = Lead(demo_led, "ada@acme.io", region="emea")
    d = lead.send("demo_requested")
    assert d.state.stage == "MQL"
    assert [e for e in d.effects if isinstance(e, fx.RouteLead)] == [
        fx.RouteLead(team="sdr-emea", role="sdr")]
    lead.state = assign(lead.state, "sdr-emea", Person(email="eva.sdr@example.com", hubspot_id="7"), None)
    d = lead.send("confirm_sql", use_case="forecast", timeline="Q1")
    assert [e for e in d.effects if isinstance(e, fx.RouteLead)] == [
        fx.RouteLead(team="ae-americas", role="ae")]
    d = lead.send("demo_scheduled")
    assert not any(isinstance(e, fx.RouteLead) for e in d.effects)  # same team: keeps its AE


def test_a_waiting_stage_pauses_the_clock_and_the_return_resumes_it(high_touch):
    lead = Lead(high_touch, "cio@acme.io")
    lead.send("confirm_sql", use_case="x", budget="1M", timeline="Q1")
    started = lead.state.sla
    assert started is not None and started.stage == "Qualified by Sales"
    d = lead.send("wait_on_customer", after=timedelta(days=1))
    assert d.state.stage == "Waiting on Customer" and d.state.sla is None
    assert fx.CancelSla(outcome="paused") in d.effects
    assert d.state.paused_sla is not None and d.state.paused_sla.remaining == timedelta(days=2)
    d = lead.send("email_reply", after=timedelta(days=10))
    assert d.state.stage == "Qualified by Sales" and d.state.paused_sla is None
    assert d.state.sla is not None and d.state.sla.due_at == lead.now + timedelta(days=2)
    assert d.state.sla.started_at == started.started_at
    d = lead.send("demo_scheduled", after=timedelta(hours=5))
    met = d.state.sla_outcomes[-1]
    assert met.outcome == "met"
    assert met.time_to_action == timedelta(days=1, hours=5)  # the paused 10 days excluded


def test_leaving_the_waiting_stage_elsewhere_settles_the_paused_clock(high_touch):
    lead = Lead(high_touch, "cio@acme.io")
    lead.send("confirm_sql", use_case="x", budget="1M", timeline="Q1")
    lead.send("wait_on_customer")
    d = lead.send("disqualify", reason="budget")
    assert d.state.paused_sla is None and d.state.sla_outcomes[-1].outcome == "left"


def test_second_breach_escalates_and_reassigns(high_touch):
    lead = Lead(high_touch, "cio@acme.io")
    lead.state = assign(lead.state, "enterprise-east", Person(email="ana.sdr@example.com"), None)
    first = lead.state.sla
    assert first is not None
    d = lead.fire("sla_breached", first.due_at)
    assert not any(isinstance(e, fx.RouteLead) for e in d.effects)
    second = d.state.sla
    assert second is not None and second.due_at > first.due_at
    d = decide(high_touch, d.state, event("sla_breached", second.due_at), second.due_at)
    kinds = [type(e).__name__ for e in d.effects]
    assert kinds == ["NotifyOwner", "NotifyOwner", "RouteLead", "NotifyOwner", "CancelSla"]
    assert d.effects[1].escalate  # type: ignore[union-attr]
    assert d.effects[2] == fx.RouteLead(team="enterprise-east", role="sdr", reassign=True,
                                        exclude=["ana.sdr@example.com"])
    assert [o.outcome for o in d.state.sla_outcomes] == ["breached", "breached"]
    assert d.state.sla_outcomes[0].owner == "ana.sdr@example.com"
