"""Pure rules of issue 19's playbook management: a lead joining another playbook's motion
(`to_playbook:`), a lead migrated to a new version, and reports reading stages through renames."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from config.playbook import Playbook
from ledger import facts as k
from ledger.facts import Fact, facts_for
from ledger.report import ReportFilters, compute_report
from lifecycle import effects as fx
from lifecycle.engine import decide, new_lead
from lifecycle.ledger_entry import entry_for
from lifecycle.migration import MigrationRefused, migrate
from lifecycle.motion import decide_with_motions
from tests.support.lifecycle_helpers import T0, event
from tests.support.playbook_dirs import TRIAL_BOOKS_DEMO, demo_v1, demo_v2, stock

H = timedelta(hours=1)


@pytest.fixture
def trial() -> Playbook:
    content = stock("trial_led")
    content["transitions"].append(TRIAL_BOOKS_DEMO)
    return Playbook.model_validate(content)


def test_a_trial_that_books_a_demo_joins_the_demo_led_motion(trial, demo_led):
    lead = new_lead(trial, "ada@acme.io", T0, {"company_size": "5000"}).state
    lead = decide(trial, lead, event("activated", T0 + H), T0 + H).state
    lead = decide(trial, lead, event("demo_requested", T0 + 2 * H), T0 + 2 * H).state
    assert lead.stage == "Product Qualified" and lead.sla is not None  # first outreach within 4h
    decision = decide_with_motions(trial, lead, event("demo_scheduled", T0 + 3 * H),
                                   T0 + 3 * H, {"demo_led": demo_led})
    s = decision.state
    assert (s.playbook, s.stage) == ("demo_led", "Demo Scheduled")
    last = s.history[-1]
    assert (last.from_stage, last.to_stage, last.cause, last.playbook) == (
        "Product Qualified", "Demo Scheduled", "demo_scheduled", "demo_led")
    assert [o.outcome for o in s.sla_outcomes] == ["left"]  # trial_led's PQL clock settles there
    # demo_led's own routing picks the AE team (5000 people: enterprise) for its owner role
    assert fx.RouteLead(team="ae-enterprise", role="ae") in decision.effects
    assert fx.SyncStage(stage="Demo Scheduled", previous_stage="Product Qualified",
                        cause="demo_scheduled") in decision.effects
    # the ledger records the move as a stage fact and the switch as a `joined` fact
    entry = entry_for("lead:ada@acme.io", 5, "decision", lead, s, T0 + 3 * H,
                      event("demo_scheduled", T0 + 3 * H), decision.effects,
                      detail="joined playbook demo_led from trial_led")
    found = {f.kind: f for f in facts_for(entry, None)}
    assert found[k.STAGE].to_stage == "Demo Scheduled" and found[k.STAGE].playbook == "demo_led"
    assert (found[k.JOINED].from_stage, found[k.JOINED].detail) == (
        "Product Qualified", "joined playbook demo_led from trial_led")
    # without the target loaded (or before the patch), the command is refused as before
    refused = decide_with_motions(trial, lead, event("demo_scheduled", T0 + 3 * H), T0 + 3 * H, {})
    assert refused.rejection and "cannot schedule demo" in refused.rejection


def test_migrating_a_lead_renames_its_stage_and_keeps_its_history():
    v1, v2 = Playbook.model_validate(demo_v1()), Playbook.model_validate(demo_v2())
    lead = new_lead(v1, "ada@acme.io", T0).state
    lead = decide(v1, lead, event("demo_requested", T0 + H), T0 + H).state
    lead = decide(v1, lead, event("confirm_sql", T0 + 2 * H, use_case="x", timeline="Q3"), T0 + 2 * H).state
    lead = decide(v1, lead, event("demo_scheduled", T0 + 3 * H), T0 + 3 * H).state
    assert lead.stage == "Demo Scheduled"
    decision, detail = migrate(v1, v2, lead, T0 + 4 * H)
    s = decision.state
    assert s.stage == "Discovery Scheduled"
    assert [c.to_stage for c in s.history] == ["New Lead", "MQL", "SQL", "Demo Scheduled",
                                               "Discovery Scheduled"]
    assert (s.history[-1].cause, s.history[-1].playbook) == ("migration", "demo_led")
    assert detail == "migrated playbook demo_led v1 -> v2: 'Demo Scheduled' -> 'Discovery Scheduled'"
    assert decision.effects == [fx.SyncStage(stage="Discovery Scheduled", previous_stage="Demo Scheduled",
                                             cause="migration")]
    # the renamed stage's events go on under v2's transitions
    after = decide(v2, s, event("discovery_completed", T0 + 5 * H, stakeholders="cfo"), T0 + 5 * H).state
    assert after.stage == "In Evaluation"
    with pytest.raises(MigrationRefused, match="already runs demo_led v2"):
        migrate(v2, v2, s, T0)


def test_a_migration_that_would_orphan_the_lead_is_refused():
    v1 = Playbook.model_validate(demo_v1())
    v3 = Playbook.model_validate({**demo_v2(), "version": "v3", "migrations": [{"from": "v1", "stages": {}}],
                                  "changelog": []})
    lead = new_lead(v1, "ada@acme.io", T0).state
    lead = lead.model_copy(update={"stage": "Demo Scheduled"})
    with pytest.raises(MigrationRefused, match="drops stage 'Demo Scheduled' of v1 .* without a mapping"):
        migrate(v1, v3, lead, T0)


def _stage(lead: str, seq: int, to: str, at: datetime, before: str | None = None) -> Fact:
    return Fact(lead_id=lead, seq=seq, idx=0, kind=k.STAGE, at=at, email=lead, playbook="demo_led",
                stage=to, from_stage=before, to_stage=to, cause="created" if before is None else "x")


def test_reports_read_stage_names_through_renames():
    day = datetime(2026, 1, 5, tzinfo=UTC)
    facts = [
        # a lead of v1 that entered 'Demo Scheduled', was migrated, then went on
        _stage("a", 1, "SQL", day), _stage("a", 2, "Demo Scheduled", day + H, "SQL"),
        Fact(lead_id="a", seq=3, idx=0, kind=k.MIGRATED, at=day + 2 * H, email="a", playbook="demo_led",
             stage="Discovery Scheduled", from_stage="Demo Scheduled", to_stage="Discovery Scheduled"),
        _stage("a", 4, "In Evaluation", day + 5 * H, "Discovery Scheduled"),
        # a lead that entered the stage under its new name
        _stage("b", 1, "SQL", day), _stage("b", 2, "Discovery Scheduled", day + H, "SQL"),
    ]
    filters = ReportFilters(since=day, until=day + timedelta(days=1))
    report = compute_report(facts, filters, renames={"demo_led": {"Demo Scheduled": "Discovery Scheduled"}})
    entered = {s.stage: s.entered for s in report.stages}
    assert entered == {"SQL": 2, "Discovery Scheduled": 2, "In Evaluation": 1}
    conv = {(c.from_stage, c.to_stage): c.leads for c in report.conversions}
    assert conv == {("SQL", "Discovery Scheduled"): 2, ("Discovery Scheduled", "In Evaluation"): 1}
    stay = next(s for s in report.stages if s.stage == "Discovery Scheduled")
    assert stay.time_in_stage_hours == [4.0]  # one stay across the migration, not two
    # without the renames (a later version dropped them), the migration fact still joins the stay
    plain = compute_report(facts, filters)
    assert {s.stage: s.entered for s in plain.stages}["Discovery Scheduled"] == 2
