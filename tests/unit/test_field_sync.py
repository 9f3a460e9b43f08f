"""Per-field sync rules (lifecycle.field_sync) and the playbook's `fields:` checks."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from config.playbook_loader import PLAYBOOK_DIR, PlaybookError, load_playbook
from lifecycle.engine import decide, new_lead
from lifecycle.events import EventKind, LeadEvent
from lifecycle.field_sync import (
    Outcome,
    Seen,
    apply_crm_fields,
    lead_values,
    read_names,
    resolve,
    vendor_values,
)

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
LATER = T0 + timedelta(hours=1)


@pytest.mark.parametrize(("direction", "ours", "theirs", "expected"), [
    ("leadflow_wins", "forecasting", "billing", Outcome.OVERWRITE),
    ("leadflow_wins", "", "billing", Outcome.IGNORE),
    ("crm_wins", "40", "500", Outcome.ADOPT),
    ("crm_wins", "40", "", Outcome.ADOPT),  # a blank wins too
    ("read_only", "40", "", Outcome.ADOPT),
    ("crm_wins_unless_blank", "40", "500", Outcome.ADOPT),
    ("crm_wins_unless_blank", "40", "", Outcome.OVERWRITE),  # the blank is filled again
    ("write_only", "40", "500", Outcome.IGNORE),
])
def test_each_direction_decides_a_crm_edit(direction, ours, theirs, expected):
    assert resolve(direction, Seen(ours, T0), Seen(theirs, LATER)) == expected


def test_two_way_latest_takes_the_later_change():
    assert resolve("two_way_latest", Seen("vp", T0), Seen("cto", LATER)) == Outcome.ADOPT
    assert resolve("two_way_latest", Seen("vp", LATER), Seen("cto", T0)) == Outcome.OVERWRITE
    assert resolve("two_way_latest", Seen("vp", None), Seen("cto", T0)) == Outcome.ADOPT


@pytest.mark.parametrize("direction", ["leadflow_wins", "crm_wins", "crm_wins_unless_blank",
                                       "two_way_latest", "read_only", "write_only"])
def test_an_echo_is_never_news(direction):
    """Equal to the lead's value, or to what leadflow last wrote there: ignored, so no loop."""
    assert resolve(direction, Seen("500", T0), Seen("500", LATER)) == Outcome.IGNORE
    assert resolve(direction, Seen("600", T0), Seen("500", LATER), echo_of="500") == Outcome.IGNORE


def test_apply_adopts_a_crm_wins_field_and_stamps_its_source(demo_led):
    lead = new_lead(demo_led, "ada@acme.io", T0, {"company_size": "40", "use_case": "forecasting"}).state
    change = apply_crm_fields(demo_led, lead, "salesforce",
                              {"company_size": "500", "use_case": "billing"}, LATER)
    assert change.adopted == {"company_size": ("40", "500")}
    assert change.overwrite  # use_case is leadflow_wins: written back over the rep's edit
    assert lead.fields["company_size"] == "500" and lead.fields["use_case"] == "forecasting"
    assert lead.field_stamps["company_size"].source == "salesforce"
    assert "company_size 40 -> 500 from salesforce by sam@acme.io" in change.describe(
        "salesforce", "sam@acme.io")


def test_a_crm_field_change_re_scores_and_is_recorded(demo_led):
    lead = new_lead(demo_led, "ada@acme.io", T0, {"company_size": "40"}).state
    event = LeadEvent(event_id="sf:1", kind=EventKind.CRM_FIELDS_CHANGED, occurred_at=LATER,
                      actor="sam@acme.io", properties={"system": "salesforce", "company_size": "500"})
    decision = decide(demo_led, lead, event, LATER)
    assert decision.accepted
    assert decision.state.score == lead.score + 15  # company_size >= 50: 15 fit points
    assert "company_size 40 -> 500 from salesforce" in decision.detail
    assert decision.state.touches == lead.touches  # a rep's correction is no touch
    again = decide(demo_led, decision.state, event.model_copy(update={"event_id": "sf:2"}), LATER)
    assert not again.accepted and not again.rewrite  # the same value once more: nothing new


def test_a_leadflow_wins_edit_asks_for_a_rewrite_of_that_system_only(demo_led):
    lead = new_lead(demo_led, "ada@acme.io", T0, {"use_case": "forecasting"}).state
    event = LeadEvent(event_id="hs:1", kind=EventKind.CRM_FIELDS_CHANGED, occurred_at=LATER,
                      properties={"system": "hubspot", "use_case": "billing"})
    decision = decide(demo_led, lead, event, LATER)
    assert decision.rewrite == ["hubspot"]
    assert decision.state.fields["use_case"] == "forecasting"


def test_vendor_names_both_ways(demo_led):
    record = {"NumberOfEmployees": 500, "Industry": "Software", "Use_Case__c": "x", "Email": "a@b.io"}
    assert lead_values(demo_led, "salesforce", record) == {
        "company_size": "500", "industry": "Software", "use_case": "x"}
    assert "NumberOfEmployees" in read_names(demo_led, "salesforce")
    out = vendor_values(demo_led.fields, "hubspot", {"use_case": "forecasting", "firstname": "Ada"})
    assert out == {"lead_use_case": "forecasting", "firstname": "Ada", "lead_nurture_path": "",
                   "lead_snooze_reason": ""}


def _with_fields(tmp_path: Path, fields: dict) -> Path:
    raw = yaml.safe_load((PLAYBOOK_DIR / "demo_led.yaml").read_text())
    raw["fields"] = fields
    path = tmp_path / "custom.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_validator_names_an_unknown_direction(tmp_path):
    path = _with_fields(tmp_path, {"company_size": {
        "salesforce": {"name": "NumberOfEmployees", "direction": "salesforce_always"}}})
    with pytest.raises(PlaybookError) as err:
        load_playbook(path)
    [problem] = err.value.problems
    assert problem.file == str(path)
    assert problem.path == "fields.company_size.salesforce.direction"
    assert "'leadflow_wins'" in problem.reason and "'write_only'" in problem.reason


def test_validator_names_a_field_mapped_twice(tmp_path):
    path = _with_fields(tmp_path, {
        "company_size": {"salesforce": {"name": "NumberOfEmployees", "direction": "crm_wins"}},
        "employees": {"salesforce": {"name": "NumberOfEmployees", "direction": "read_only"}},
        "region": {"hubspot": {"name": "firstname", "direction": "read_only"},
                   "segment": {"name": "region", "direction": "crm_wins"}},
        "score": {"salesforce": {"name": "Lead_Score__c", "direction": "read_only"}},
    })
    with pytest.raises(PlaybookError) as err:
        load_playbook(path)
    found = {(p.path, p.reason) for p in err.value.problems}
    assert found == {
        ("fields.employees.salesforce.name",
         "salesforce field 'NumberOfEmployees' is mapped twice (to 'company_size' and 'employees')"),
        ("fields.region.hubspot.name",
         "hubspot field 'firstname' is mapped twice (to 'firstname' and 'region')"),
        ("fields.region.segment.direction",
         "Segment only receives traits; the direction must be write_only"),
        ("fields.score.salesforce.name",
         "'Lead_Score__c' is leadflow's own salesforce field (stage, score, owner or reasons)"),
    }


def _event(kind: str, at: datetime, **props: str) -> LeadEvent:
    return LeadEvent(event_id=f"{kind}@{at.isoformat()}:{sorted(props.items())}", kind=kind,
                     occurred_at=at, actor="ana.sdr@example.com", properties=props)


def test_a_crm_state_change_re_routes_an_owned_lead(demo_led):
    lead = decide(demo_led, new_lead(demo_led, "ada@acme.io", T0).state,
                  _event("demo_requested", T0), T0).state
    assert (lead.stage, lead.team) == ("MQL", "sdr-americas")
    moved = decide(demo_led, lead, _event("crm_fields_changed", LATER, system="salesforce", state="CA"),
                   LATER)
    assert moved.state.team == "sdr-us-west"  # demo_led's us_west territory, by state
    assert [e.team for e in moved.effects if e.type == "route_lead"] == ["sdr-us-west"]


def test_snooze_writes_path_and_reason_out_and_leaving_nurture_clears_them(demo_led):
    from workflows.vendor_snapshot import snapshot

    lead = new_lead(demo_led, "ada@acme.io", T0, {"use_case": "forecasting"}).state
    snoozed = decide(demo_led, lead, _event("snooze", T0, path="too_early",
                                            reason="budget next year"), T0).state
    out = snapshot(snoozed, "salesforce", None, demo_led, fields=True)
    assert out.vendor_named and out.properties["Nurture_Path__c"] == "too_early"
    assert out.properties["Snooze_Reason__c"] == "budget next year"
    assert out.properties["Use_Case__c"] == "forecasting"
    back = decide(demo_led, snoozed, _event("reopen", LATER), LATER).state
    cleared = snapshot(back, "hubspot", "Nurture", demo_led, fields=True).properties
    assert (cleared["lead_nurture_path"], cleared["lead_snooze_reason"]) == ("", "")
    assert snapshot(back, "hubspot", "Nurture", demo_led).properties.get("lead_nurture_path") is None
