"""Template A (demo-led) through the pure decision engine."""

from datetime import timedelta

from lifecycle import effects as fx
from lifecycle.engine import decide
from tests.support.lifecycle_helpers import Lead, event

FIT = {"company_size": "200", "industry": "software", "role": "vp"}  # 35 fit points
BUSINESS = 5  # fit points for ada@acme.io's business email (the intake field email_type)


def test_happy_path_new_to_opportunity(demo_led):
    lead = Lead(demo_led, **FIT)
    assert lead.state.stage == "New Lead" and lead.state.score == 35 + BUSINESS
    lead.send("pricing_visit")  # +15 intent -> 55, below 60
    assert lead.state.stage == "New Lead"
    d = lead.send("email_reply")  # +15 engagement -> 70 >= 60: scoring moves it to MQL
    assert lead.state.stage == "MQL"
    assert lead.state.history[-1].cause == "score_threshold"
    assert any(isinstance(e, fx.ArmSla) for e in d.effects)

    refused = lead.send("confirm_sql", use_case="forecasting")
    assert refused.rejection == "cannot confirm SQL: missing timeline"
    assert lead.state.stage == "MQL"

    lead.send("confirm_sql", use_case="forecasting", timeline="Q3")
    lead.send("demo_scheduled")
    lead.send("discovery_completed", stakeholders="cfo, vp sales")
    lead.send("opportunity_created")
    assert lead.stages == ["New Lead", "MQL", "SQL", "Demo Scheduled", "In Evaluation",
                           "Opportunity Created"]
    assert [o.outcome for o in lead.state.sla_outcomes] == ["met", "met"]


def test_score_is_explained_point_by_point(demo_led):
    lead = Lead(demo_led)
    lead.send("pricing_visit")
    lead.send("content_download")
    reasons = [(i.category, i.points, i.reason) for i in lead.state.score_items]
    assert reasons == [("intent", 15, "pricing_visit"), ("engagement", 5, "content_download")]
    assert lead.state.score == 20 + BUSINESS


def test_email_opens_never_qualify(demo_led):
    lead = Lead(demo_led, **FIT)
    for _ in range(50):
        lead.send("email_open")
    assert lead.state.stage == "New Lead" and lead.state.score == 35 + BUSINESS
    assert lead.state.touches["New Lead"] == 50


def test_scoring_never_confirms_sql(demo_led):
    lead = Lead(demo_led, **FIT)
    for _ in range(6):
        lead.send("demo_requested")
        lead.send("meeting_attended")
    assert lead.state.stage == "MQL"


def test_behavioural_points_decay(demo_led):
    lead = Lead(demo_led)
    lead.send("pricing_visit")
    assert lead.state.score == 15 + BUSINESS
    lead.send("content_download", after=timedelta(days=60))  # two half-lives later
    assert lead.state.score == round(15 / 4 + 5) + BUSINESS


def test_disqualify_needs_a_known_reason(demo_led):
    lead = Lead(demo_led)
    assert lead.send("disqualify").rejection.startswith("cannot disqualify: a reason is required")
    refused = lead.send("disqualify", reason="bored")
    assert "unknown reason 'bored'" in refused.rejection and "budget" in refused.rejection
    assert lead.state.stage == "New Lead"
    lead.send("disqualify", reason="student_research")
    assert lead.state.stage == "Disqualified"
    assert lead.state.disqualification_reason == "student_research"
    assert lead.state.history[-1].reason == "student_research"


def test_nurture_follow_up_and_re_entry(demo_led):
    lead = Lead(demo_led, **FIT)
    lead.send("demo_requested")
    assert lead.state.stage == "MQL"
    d = lead.send("snooze", path="not_now")
    assert lead.state.stage == "Nurture"
    follow_up = next(e for e in d.effects if isinstance(e, fx.ArmFollowUp))
    assert follow_up.due_at == lead.now + timedelta(days=90)
    assert lead.state.follow_up.path == "not_now"
    assert any(isinstance(e, fx.CancelSla) and e.outcome == "left" for e in d.effects)

    d = lead.fire("follow_up_due", follow_up.due_at)
    assert lead.state.follow_up is None and lead.state.stage == "Nurture"
    assert any(isinstance(e, fx.NotifyOwner) for e in d.effects)

    d = lead.send("snooze", path="too_early", until="2027-01-01T00:00:00+00:00")
    assert lead.state.stage == "Nurture" and [e.type for e in d.effects] == ["arm_follow_up"]
    assert lead.state.follow_up.due_at.isoformat() == "2027-01-01T00:00:00+00:00"
    d = lead.send("demo_requested", after=timedelta(days=3))
    assert lead.state.stage == "MQL" and lead.state.follow_up is None
    assert any(isinstance(e, fx.CancelFollowUp) for e in d.effects)
    assert lead.stages[-2:] == ["Nurture", "MQL"]


def test_closed_lost_re_enters_on_pricing_visit(demo_led):
    lead = Lead(demo_led)
    lead.send("demo_requested")
    lead.send("confirm_sql", use_case="x", timeline="y")
    assert lead.send("lost").rejection.startswith("cannot mark lost: a reason is required")
    lead.send("lost", reason="timing")
    assert lead.state.stage == "Closed Lost" and lead.state.loss_reason == "timing"
    lead.send("pricing_visit", after=timedelta(days=100))
    assert lead.state.stage == "MQL"


def test_duplicate_event_counts_once(demo_led):
    lead = Lead(demo_led)
    lead.send("pricing_visit", event_id="evt-1")
    again = lead.send("pricing_visit", event_id="evt-1")
    assert again.duplicate and again.effects == []
    assert lead.state.score == 15 + BUSINESS and lead.state.touches == {"New Lead": 1}


def test_out_of_order_fact_does_not_undo_a_newer_decision(demo_led):
    lead = Lead(demo_led)
    lead.send("demo_requested")
    lead.send("snooze")
    # A demo request that happened an hour before the snooze, delivered late.
    late = event("demo_requested", lead.now - timedelta(hours=1))
    d = decide(demo_led, lead.state, late, lead.now + timedelta(minutes=1))
    assert d.state.stage == "Nurture"
    assert d.state.score > lead.state.score  # it still counts as intent


def test_illegal_command_is_refused_with_a_readable_message(demo_led):
    lead = Lead(demo_led)
    refused = lead.send("demo_scheduled")
    assert refused.rejection == "cannot schedule demo: lead is in 'New Lead'; allowed only from SQL"
    assert lead.state.events_applied == 0


def test_sla_expedited_by_demo_request(demo_led):
    lead = Lead(demo_led, **FIT)
    lead.send("pricing_visit")
    lead.send("email_reply")
    assert lead.state.stage == "MQL"
    due = lead.state.sla.due_at
    d = lead.send("demo_requested", after=timedelta(minutes=10))
    assert lead.state.sla.due_at == lead.now + timedelta(hours=1) < due
    assert [e.type for e in d.effects] == ["arm_sla"]


def test_sla_breach_notifies_and_second_breach_escalates(demo_led):
    lead = Lead(demo_led)
    lead.send("demo_requested")
    lead.send("confirm_sql", use_case="x", timeline="y")
    first_due = lead.state.sla.due_at
    early = lead.fire("sla_breached", first_due - timedelta(minutes=1))
    assert early.effects == []  # a stale or early timer does nothing
    d = lead.fire("sla_breached", first_due)
    assert [type(e).__name__ for e in d.effects] == ["NotifyOwner", "NotifyOwner", "ArmSla"]
    assert d.effects[1].escalate  # SQL's SLA notifies the manager too
    d = lead.fire("sla_breached", lead.state.sla.due_at)
    assert lead.state.sla is None
    assert [o.outcome for o in lead.state.sla_outcomes] == ["met", "breached", "breached"]
