"""Templates B (trial-led) and C (high-touch)."""

from lifecycle import effects as fx
from tests.support.lifecycle_helpers import Lead


def test_trial_led_product_events_reach_pql(trial_led):
    lead = Lead(trial_led, "dev@startup.io")
    assert lead.state.stage == "New Trial Signup"
    lead.send("activated")
    assert lead.state.stage == "Trial Activated"
    lead.send("pricing_visit")  # intent does not count towards the product score
    lead.send("teammate_invited")
    assert lead.state.stage == "Trial Activated"
    d = lead.send("feature_used")  # product: 20 + 20 + 10 = 50
    assert lead.state.stage == "Product Qualified"
    assert lead.state.history[-1].cause == "score_threshold"
    assert any(isinstance(e, fx.ArmSla) for e in d.effects)
    assert any(isinstance(e, fx.NotifyOwner) for e in d.effects)  # an SDR owns PQLs
    lead.send("contacted")
    assert lead.state.stage == "Sales Outreach"
    assert lead.state.sla_outcomes[-1].outcome == "met"


def test_trial_led_out_of_order_product_events_still_qualify(trial_led):
    lead = Lead(trial_led, "dev@startup.io")
    lead.send("teammate_invited")
    lead.send("feature_used")
    lead.send("activated")
    assert lead.state.stage == "Product Qualified"


def test_high_touch_needs_a_person_and_all_fields(high_touch):
    lead = Lead(high_touch, "cio@bigco.com", company_size="5000", role="cio")
    for _ in range(10):
        lead.send("demo_requested")
    assert lead.state.stage == "New Lead"
    refused = lead.send("confirm_sql", use_case="risk")
    assert refused.rejection == "cannot confirm SQL: missing budget, timeline"
    lead.send("confirm_sql", use_case="risk", budget="500k", timeline="FY27")
    lead.send("demo_scheduled")
    lead.send("discovery_completed")
    lead.send("stakeholders_mapped", stakeholders="ciso, cfo")
    lead.send("workshop_completed")
    lead.send("proposal_sent")
    lead.send("opportunity_created")
    lead.send("won")
    assert lead.state.stage == "Closed Won"
    assert len(lead.stages) == 9


def test_high_touch_nurture_re_entry(high_touch):
    lead = Lead(high_touch, "cio@bigco.com")
    lead.send("snooze")
    assert lead.state.follow_up.path == "next_budget_cycle"
    lead.send("meeting_attended")
    assert lead.state.stage == "New Lead"
