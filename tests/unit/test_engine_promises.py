"""The playbook's promises in the pure engine (issue 13): nurture re-entry after the follow-up,
facts are never commands, personal mail has no account, CRM reasons, closed leads, and the
rules a replaying older lead keeps (`legacy=True`)."""

from datetime import timedelta

import pytest

from lifecycle import effects as fx
from lifecycle.accounts import account_domain, email_type
from lifecycle.closure import close, closed_refusal, notice
from lifecycle.engine import decide, new_lead
from lifecycle.events import EventKind, LeadEvent, as_fact
from lifecycle.mapping import to_kind
from lifecycle.reasons import crm_reason, vendor_value
from tests.support.lifecycle_helpers import T0, Lead, event
from workflows.vendor_snapshot import fingerprint, snapshot

FIT = {"company_size": "200", "industry": "software", "role": "vp"}


def snoozed(pb, path: str = "not_now") -> Lead:
    lead = Lead(pb, **FIT)
    lead.send("snooze", path=path)
    due = lead.state.follow_up.due_at
    lead.fire("follow_up_due", due)
    assert lead.state.follow_up is None and lead.state.stage == "Nurture"
    return lead


# -- 1. nurture re-entry ------------------------------------------------------------------------

@pytest.mark.parametrize(("playbook", "trigger", "re_entry"), [
    ("demo_led", "pricing_visit", "MQL"),
    ("trial_led", "activated", "Product Qualified"),
    ("high_touch", "meeting_attended", "New Lead"),
])
def test_a_nurtured_lead_re_enters_after_its_follow_up_fired(playbook, trigger, re_entry, request):
    pb = request.getfixturevalue(playbook)
    lead = snoozed(pb, pb.nurture_paths[0].name)
    lead.send(trigger, after=timedelta(days=1))
    assert lead.state.stage == re_entry
    assert lead.state.nurture_path is None


def test_the_follow_up_notifies_and_keeps_the_path(demo_led):
    lead = Lead(demo_led, **FIT)
    lead.send("snooze", path="too_early")
    d = lead.fire("follow_up_due", lead.state.follow_up.due_at)
    assert [e.type for e in d.effects] == ["notify_owner", "emit_analytics"]
    assert lead.state.nurture_path == "too_early"
    lead.send("pricing_visit")  # not a trigger of too_early
    assert lead.state.stage == "Nurture"
    lead.send("demo_requested")
    assert lead.state.stage == "MQL"


def test_reopen_from_nurture_goes_to_the_paths_re_entry_stage(demo_led):
    lead = snoozed(demo_led)
    lead.send("reopen", reason="asked again")
    assert lead.state.stage == "MQL"
    assert (lead.state.history[-1].cause, lead.state.history[-1].reason) == ("reopen", "asked again")


def test_legacy_rules_keep_the_door_closed_after_the_follow_up(demo_led):
    lead = snoozed(demo_led)
    now = lead.now + timedelta(days=1)
    d = decide(demo_led, lead.state, event("pricing_visit", now), now, legacy=True)
    assert d.state.stage == "Nurture"


# -- 2. facts and commands -------------------------------------------------------------------------

def test_event_names_never_map_to_commands_timers_or_crm_changes(demo_led):
    for name in ("confirm_sql", "disqualify", "won", "lost", "reopen", "snooze", "contacted",
                 "follow_up_due", "crm_stage_changed"):
        assert to_kind(demo_led, name) == EventKind.OTHER, name
    assert to_kind(demo_led, "Demo Requested") == EventKind.DEMO_REQUESTED
    assert to_kind(demo_led, "pricing_visit") == EventKind.PRICING_VISIT


def test_a_fact_named_like_a_command_is_a_touch():
    forged = LeadEvent(event_id="x", kind=EventKind.CONFIRM_SQL, occurred_at=T0, actor="ceo")
    fact = as_fact(forged)
    assert (fact.kind, fact.name) == (EventKind.OTHER, "confirm_sql")
    real = LeadEvent(event_id="y", kind=EventKind.ACTIVATED, occurred_at=T0)
    assert as_fact(real) is real


# -- 3. accounts --------------------------------------------------------------------------------------

@pytest.mark.parametrize("email", ["ada@gmail.com", "b@outlook.com", "c@yahoo.co.uk", "d@icloud.com",
                                   "e@proton.me", "f@qq.com", "G@GMail.com"])
def test_personal_mail_has_no_account(email):
    assert email_type(email) == "personal" and account_domain(email) is None


def test_a_company_domain_is_the_account(demo_led):
    assert email_type("ada@acme.io") == "business" and account_domain("ada@acme.io") == "acme.io"
    lead = new_lead(demo_led, "ada@gmail.com", T0).state
    assert (lead.account_domain, lead.fields["email_type"]) == (None, "personal")
    legacy = new_lead(demo_led, "ada@gmail.com", T0, legacy=True).state
    assert legacy.account_domain == "gmail.com" and "email_type" not in legacy.fields


# -- 4. reasons ------------------------------------------------------------------------------------------

def test_crm_reasons_become_codes_or_other():
    known = ["budget", "competitor_chosen"]
    assert crm_reason(known, "budget") == "budget"
    assert crm_reason(known, "Competitor chosen") == "competitor_chosen"
    assert crm_reason(["student_research"], "Student / Research") == "student_research"
    assert crm_reason(known, " Too pricey ") == "other:Too pricey"
    assert crm_reason(known, "other:Too pricey") == "other:Too pricey"  # our own write, read back
    assert crm_reason(known, "") is None and crm_reason(known, None) is None
    assert vendor_value("other:Too pricey") == "Too pricey" and vendor_value("budget") == "budget"


def crm(stage: str | None = None, reason: str | None = None, system: str = "salesforce") -> dict:
    props = {"system": system}
    if stage:
        props["stage"] = stage
    if reason:
        props["reason"] = reason
    return props


def test_a_crm_disqualification_keeps_the_crm_reason(demo_led):
    lead = Lead(demo_led)
    lead.send("demo_requested")
    lead.send("crm_stage_changed", **crm("Disqualified", "Budget"))
    assert lead.state.stage == "Disqualified" and lead.state.disqualification_reason == "budget"
    assert lead.state.history[-1].reason == "budget"


def test_a_crm_loss_keeps_its_reason_as_other_when_unknown(demo_led):
    lead = Lead(demo_led)
    lead.send("demo_requested")
    lead.send("confirm_sql", use_case="x", timeline="y")
    lead.send("crm_stage_changed", **crm("Closed Lost", "went dark"))
    assert lead.state.stage == "Closed Lost" and lead.state.loss_reason == "other:went dark"
    assert lead.state.disqualification_reason is None


def test_a_reason_set_after_the_stage_fills_it_and_a_blank_never_erases_it(demo_led):
    lead = Lead(demo_led)
    lead.send("demo_requested")
    lead.send("crm_stage_changed", **crm("Disqualified", system="hubspot"))
    assert lead.state.disqualification_reason is None
    lead.send("crm_stage_changed", **crm(reason="spam", system="hubspot"))
    assert lead.state.disqualification_reason == "spam"
    lead.send("crm_stage_changed", **crm("Disqualified", system="hubspot"))
    assert lead.state.disqualification_reason == "spam"


def test_legacy_crm_moves_carry_no_reason(demo_led):
    lead = Lead(demo_led)
    lead.send("demo_requested")
    now = lead.now + timedelta(minutes=5)
    d = decide(demo_led, lead.state, event("crm_stage_changed", now, **crm("Disqualified", "budget")),
               now, legacy=True)
    assert d.state.stage == "Disqualified" and d.state.disqualification_reason is None


# -- 5. closed leads ------------------------------------------------------------------------------------

def test_a_deleted_lead_acts_on_nothing_until_a_person_reopens_it(demo_led):
    lead = Lead(demo_led)
    lead.send("demo_requested")
    lead.state = close(lead.state, "deleted", lead.now, "deleted in Salesforce", "sam@acme.io")
    assert lead.state.sla is None
    assert lead.send("pricing_visit").rejection == "lead was deleted in Salesforce on 2026-03-02"
    assert lead.send("confirm_sql", use_case="x", timeline="y").rejection == (
        "cannot confirm SQL: lead was deleted in Salesforce on 2026-03-02; reopen it first")
    assert lead.send("reopen").rejection == (
        "cannot reopen: lead was deleted in Salesforce on 2026-03-02; say why with a reason")
    d = lead.send("reopen", reason="deleted by mistake")
    assert d.accepted and lead.state.closure is None and lead.state.stage == "New Lead"
    assert (lead.state.history[-1].cause, lead.state.history[-1].reason) == ("reopen", "deleted by mistake")
    assert any(isinstance(e, fx.SyncStage) for e in d.effects)


def test_a_merged_lead_cannot_be_reopened(demo_led):
    state = close(new_lead(demo_led, "a@acme.io", T0).state, "merged", T0,
                  "merged into lead:b@acme.io", survivor="b@acme.io")
    assert notice(state.closure) == "lead was merged into b@acme.io on 2026-03-02"
    reopen = event("reopen", T0, reason="oops")
    assert closed_refusal(state.closure, reopen) == (
        "cannot reopen: lead was merged into b@acme.io on 2026-03-02; work on the surviving lead")


# -- 6. required fields on score moves ------------------------------------------------------------

def test_a_score_crossing_waits_for_the_stages_required_fields(trial_led):
    lead = Lead(trial_led, "dev@startup.io")
    for kind in ("activated", "teammate_invited", "feature_used"):
        lead.send(kind)
    assert lead.state.stage == "Product Qualified"  # PQL needs no fields
    raw = trial_led.model_dump(mode="json", by_alias=True)
    for stage in raw["stages"]:
        if stage["name"] == "Product Qualified":
            stage["required_fields"] = ["company_size"]
    strict = type(trial_led).model_validate(raw)
    lead = Lead(strict, "dev@startup.io")
    for kind in ("activated", "teammate_invited", "feature_used"):
        lead.send(kind)
    assert lead.state.stage == "Trial Activated"  # crossed, but company_size is unknown
    now = lead.now + timedelta(minutes=5)
    legacy = decide(strict, lead.state, event("feature_used", now), now, legacy=True)
    assert legacy.state.stage == "Product Qualified"  # the old rule skipped the fields
    lead.send("content_download", company_size="80")  # the field arrives with any event
    assert lead.state.stage == "Product Qualified"
    assert lead.state.history[-1].cause == "score_threshold"


# -- 7. smaller ones ---------------------------------------------------------------------------------

def test_a_timer_brings_the_decayed_score_up_to_date(demo_led):
    lead = Lead(demo_led)
    lead.send("pricing_visit")
    assert lead.state.score == 15 + 5  # 5 fit points for a business email
    lead.send("snooze", path="not_now")
    lead.fire("follow_up_due", lead.state.follow_up.due_at)  # 90 days: three 30-day half-lives
    assert lead.state.score == 2 + 5  # 15 / 8, rounded; fit does not decay
    legacy = Lead(demo_led)
    legacy.send("pricing_visit")
    legacy.send("snooze", path="not_now")
    due = legacy.state.follow_up.due_at
    d = decide(demo_led, legacy.state, event("follow_up_due", due), due, legacy=True)
    assert d.state.score == 15 + 5


def test_snapshots_carry_the_salesforce_mapped_properties_and_keep_crm_reasons(demo_led):
    lead = Lead(demo_led, industry="software", country="US", city="Austin", state="TX", firstname="Ada")
    snap = snapshot(lead.state, "salesforce", None, demo_led)
    assert snap.properties == {"industry": "software", "country": "US", "city": "Austin",
                               "state": "TX", "firstname": "Ada"}
    assert snapshot(lead.state, "salesforce", None).properties == {"firstname": "Ada"}  # legacy
    lead.send("demo_requested")
    lead.send("crm_stage_changed", system="hubspot", stage="Disqualified")
    snap = snapshot(lead.state, "salesforce", None, demo_led)
    assert snap.keep_crm_reasons and snap.disqualification_reason is None
    lead.send("crm_stage_changed", system="hubspot", reason="Too pricey")
    snap = snapshot(lead.state, "salesforce", None, demo_led)
    assert (snap.keep_crm_reasons, snap.disqualification_reason) == (False, "Too pricey")
    old = snapshot(lead.state, "salesforce", None)
    assert fingerprint(old) == fingerprint(old.model_copy(update={"loss_reason": None}))
