"""The account aggregate and its playbook rules, without Temporal: what a company's leads add up to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from config.playbook_loader import PLAYBOOK_DIR, PlaybookError, load_playbook
from lifecycle.account import (
    AccountState,
    LeadReport,
    account_for,
    account_owner_for_routing,
    apply_report,
    canonical_domain,
    new_account,
)

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def report(email: str, stage: str, seq: int, minutes: int = 0, owner: str | None = None,
           **extra: object) -> LeadReport:
    return LeadReport(lead_id=f"lead:{email}", email=email, stage=stage, seq=seq,
                      at=T0 + timedelta(minutes=minutes), owner=owner, **extra)  # type: ignore[arg-type]


def fold(playbook, *reports: LeadReport) -> AccountState:  # type: ignore[no-untyped-def]
    state = new_account(playbook, "acme.io")
    for r in reports:
        state = apply_report(playbook, state, r)
    return state


def test_a_new_account_starts_in_the_first_account_stage(demo_led):
    assert new_account(demo_led, "acme.io").stage == "Prospect"


def test_two_leads_in_sql_make_an_active_evaluation(demo_led):
    one = fold(demo_led, report("ada@acme.io", "MQL", 1), report("ada@acme.io", "SQL", 2, 5))
    assert one.stage == "Engaged" and not one.active_evaluation
    two = apply_report(demo_led, one, report("bob@acme.io", "SQL", 1, 9))
    assert two.stage == "Active Evaluation" and two.active_evaluation and not two.demo_completed
    assert two.leads_by_stage() == {"SQL": 2}
    assert [(c.from_stage, c.to_stage) for c in two.history] == [
        ("Prospect", "Engaged"), ("Engaged", "Active Evaluation")]
    assert two.history[-1].cause == "two leads in sales conversations"


def test_one_lead_entering_sql_twice_is_still_one_lead(demo_led):
    state = fold(demo_led, report("ada@acme.io", "SQL", 1), report("ada@acme.io", "Nurture", 2),
                 report("ada@acme.io", "SQL", 3))
    assert state.stage == "Prospect" and not state.active_evaluation


def test_demo_completed_for_any_lead_sets_both_flags(demo_led):
    state = fold(demo_led, report("ada@acme.io", "In Evaluation", 1))
    assert (state.stage, state.active_evaluation, state.demo_completed) == (
        "Active Evaluation", True, True)
    assert state.furthest_stage == "In Evaluation"


def test_the_account_never_moves_back_and_keeps_its_furthest_stage(demo_led):
    state = fold(demo_led, report("ada@acme.io", "Opportunity Created", 1, owner="bo@x.io"),
                 report("ada@acme.io", "Closed Lost", 2))
    assert state.stage == "Opportunity" and state.furthest_stage == "Opportunity Created"
    assert state.leads_by_stage() == {"Closed Lost": 1}


def test_older_or_repeated_reports_change_nothing(demo_led):
    state = fold(demo_led, report("ada@acme.io", "SQL", 5, 10))
    again = apply_report(demo_led, state, report("ada@acme.io", "MQL", 4, 20))
    assert again == state


def test_first_and_last_touch_span_every_lead(demo_led):
    state = fold(demo_led, report("bob@acme.io", "MQL", 1, 30), report("ada@acme.io", "MQL", 1, 5))
    assert state.first_touch_at == T0 + timedelta(minutes=5)
    assert state.last_touch_at == T0 + timedelta(minutes=30)


def test_owner_of_record_is_the_owner_of_the_furthest_lead_and_sticks_on_a_tie(demo_led):
    state = fold(demo_led, report("ada@acme.io", "SQL", 1, owner="kim@x.io",
                                  owner_ids={"hubspot": "7"}),
                 report("bob@acme.io", "MQL", 1, owner="ana@x.io"))
    assert (state.owner, state.owner_ids) == ("kim@x.io", {"hubspot": "7"})
    state = apply_report(demo_led, state, report("bob@acme.io", "SQL", 2, owner="ana@x.io"))
    assert state.owner == "kim@x.io"  # a tie: the owner of record keeps the account


def test_an_account_in_opportunity_routes_new_leads_to_its_owner(demo_led):
    early = fold(demo_led, report("ada@acme.io", "SQL", 1, owner="bo@x.io"))
    assert account_owner_for_routing(early) is None
    late = apply_report(demo_led, early, report("ada@acme.io", "Opportunity Created", 2, owner="bo@x.io"))
    assert late.stage == "Opportunity" and late.route_to_owner
    assert account_owner_for_routing(late) == "bo@x.io"


def test_a_closed_lead_leaves_the_account(demo_led):
    state = fold(demo_led, report("ada@acme.io", "MQL", 1), report("ada@acme.io", "MQL", 2, closed=True))
    assert state.leads == {} and state.stage == "Engaged"


def test_other_stock_playbooks_reach_active_evaluation_on_their_demo(trial_led, high_touch):
    assert fold(trial_led, report("a@acme.io", "Discovery Completed", 1)).demo_completed
    assert fold(high_touch, report("a@acme.io", "Discovery 1 Completed", 1)).stage == "Active Evaluation"


# -- which account ---------------------------------------------------------------------------

DOMAINS = {"acme.io": ["acme.co.uk", "*.acme-corp.com"]}


@pytest.mark.parametrize(("email", "crm", "account"), [
    ("ada@acme.io", None, "acme.io"),
    ("ada@eu.acme.io", None, "acme.io"),  # a sub-domain of an account
    ("ada@acme.co.uk", None, "acme.io"),  # an alias
    ("ada@sales.acme-corp.com", None, "acme.io"),  # a `*.` pattern
    ("ada@other.io", None, "other.io"),
    ("ada@gmail.com", None, None),  # free mail: no account
    ("ada@gmail.com", "https://www.acme.co.uk/", "acme.io"),  # the CRM's association wins
    ("ada@other.io", "globex.com", "globex.com"),
    ("ada@other.io", "gmail.com", "other.io"),  # a free-mail "company" is no association
])
def test_account_for(email, crm, account):
    assert account_for(email, DOMAINS, crm) == account


def test_canonical_domain_keeps_unknown_domains():
    assert canonical_domain("Initech.COM", DOMAINS) == "initech.com"


# -- the playbook validator ------------------------------------------------------------------

def test_stock_playbooks_have_account_rules():
    for path in PLAYBOOK_DIR.glob("*.yaml"):
        assert load_playbook(path).account_rules, path


def _broken(tmp_path: Path, **sections: object) -> list[tuple[str, str]]:
    raw = yaml.safe_load((PLAYBOOK_DIR / "demo_led.yaml").read_text())
    raw.update(sections)
    path = tmp_path / "accounts.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    with pytest.raises(PlaybookError) as err:
        load_playbook(path)
    assert all(p.file == str(path) for p in err.value.problems)
    return [(p.path, p.reason) for p in err.value.problems]


def test_validator_names_unknown_stages_in_account_rules(tmp_path):
    found = _broken(tmp_path, account_rules=[
        {"lead_reached": ["Demo Done"], "set_stage": "Active Evaluation"},
        {"lead_reached": ["SQL"], "set_stage": "Hot"},
        {"account_in": ["Nowhere"], "route_to_owner": True},
        {"account_in": ["Opportunity"], "set_stage": "Engaged"},
    ])
    assert found == [
        ("account_rules[0].lead_reached[0]", "unknown lead stage 'Demo Done'"),
        ("account_rules[1].set_stage", "unknown account stage 'Hot'"),
        ("account_rules[2].account_in[0]", "unknown account stage 'Nowhere'"),
        ("account_rules[3].set_stage",
         "'Engaged' is not past Opportunity: accounts only move forward"),
    ]


def test_validator_names_a_rule_without_condition_or_effect(tmp_path):
    found = dict(_broken(tmp_path, account_rules=[
        {"set_stage": "Engaged"},
        {"lead_reached": ["SQL"]},
        {"lead_reached": ["SQL"], "set_flags": ["hot"]},
    ]))
    assert "needs exactly one condition" in found["account_rules[0]"]
    assert "does nothing" in found["account_rules[1]"]
    assert "account_rules[2].set_flags[0]" in found


def test_validator_needs_account_stages_for_rules(tmp_path):
    assert ("account_rules", "rules need account_stages (the account's stages, in order)") in \
        _broken(tmp_path, account_stages=[])


def test_validator_names_bad_account_domains(tmp_path):
    found = _broken(tmp_path, account_domains={
        "acme.io": ["acme.co.uk", "gmail.com"], "acme.de": ["acme.co.uk"], "hotmail.com": []})
    assert found == [
        ("account_domains.acme.io", "'gmail.com' is a free-mail domain"),
        ("account_domains.acme.de", "'acme.co.uk' is mapped to 'acme.io' already"),
        ("account_domains.hotmail.com", "a free-mail domain is no account"),
    ]
    shape = _broken(tmp_path, account_domains={"acme.io": ["not a domain"]})
    assert shape[0][0] == "account_domains" and "'not a domain' is not a domain name" in shape[0][1]


# -- routing to the account owner --------------------------------------------------------------

def test_the_router_gives_the_named_account_owner_the_lead_within_their_cap():
    from datetime import date

    from lifecycle.routing import Rotation, Seat, pick_owner

    today = date(2026, 11, 2)
    rot = Rotation(seats=[Seat(email="ana@x.io"), Seat(email="bo@x.io", daily_cap=1)])
    seat, via = pick_owner(rot, today, "acme.io", account_owner="bo@x.io")
    assert (seat.email if seat else None, via) == ("bo@x.io", "account")
    seat, via = pick_owner(rot, today, "acme.io", account_owner="bo@x.io")  # bo is at his cap
    assert (seat.email if seat else None, via) == ("ana@x.io", "rotation")
    seat, via = pick_owner(rot, today, "other.io", account_owner="zed@elsewhere.io")  # not a member
    assert via == "rotation"
