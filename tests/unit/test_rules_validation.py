"""The validator names file, field and reason for every mistake in issue 19's rules."""

from __future__ import annotations

import pytest

from config.playbook_loader import PlaybookError, load_playbook
from tests.support.rules_playbook import rules_raw, write_playbook


def problems_of(raw, tmp_path) -> list[str]:
    path = write_playbook(raw, tmp_path)
    with pytest.raises(PlaybookError) as err:
        load_playbook(path)
    assert all(str(p).startswith(f"{path}: ") for p in err.value.problems)  # file: field: reason
    return [str(p).removeprefix(f"{path}: ") for p in err.value.problems]


def test_the_rules_playbook_is_valid(tmp_path):
    assert load_playbook(write_playbook(rules_raw(), tmp_path)).grades is not None


def test_unknown_condition_field_and_grade_are_refused(tmp_path):
    raw = rules_raw()
    raw["transitions"][1]["if"] = {"fit_grade": ["A", "E"], "headcount": ["big"]}
    assert problems_of(raw, tmp_path) == [
        "transitions[1].if.fit_grade: unknown fit_grade 'E'; one of A, B, C, D",
        "transitions[1].if.headcount: unknown field 'headcount'; name a standard field, a fit or "
        "ICP attribute, or declare it under fields:",
    ]


def test_a_declared_field_may_be_named(tmp_path):
    raw = rules_raw()
    raw["fields"] = ["headcount"]
    raw["transitions"][1]["if"] = {"headcount": ["big"]}
    assert load_playbook(write_playbook(raw, tmp_path)).transitions[1].if_ == {"headcount": ["big"]}


def test_grades_and_icp_conditions_need_their_sections(tmp_path):
    raw = rules_raw()
    del raw["grades"], raw["icp"]
    raw["transitions"][1]["if"] = {"fit_grade": ["A"], "icp": ["pass"]}
    assert problems_of(raw, tmp_path) == [
        "transitions[1].if.fit_grade: fit_grade needs a grades: section",
        "transitions[1].if.icp: icp needs an icp: section",
        "routing.rules[0].fit_grade: needs a grades: section",
    ]


def test_transition_shapes_are_checked(tmp_path):
    raw = rules_raw()
    raw["transitions"][0] = {"from": ["New Lead"], "to": "MQL"}
    raw["transitions"][1]["else"] = "Limbo"
    raw["transitions"][2]["when"] = ["pricing_visit"]
    raw["transitions"].append({"from": ["MQL"], "to": "SQL", "when": ["confirm_sql"], "else": "Nurture"})
    assert problems_of(raw, tmp_path) == [
        "transitions[0].when: needs the events that trigger it, or after: a duration",
        "transitions[1].else: unknown stage 'Limbo'",
        "transitions[2].after: a time-based transition fires on its own; leave when: out",
        f"transitions[{len(raw['transitions']) - 1}].else: else: needs an if:",
    ]


def test_no_rule_but_a_persons_command_enters_sql_or_disqualifies(tmp_path):
    raw = rules_raw()
    raw["transitions"][1]["else"] = "SQL"
    raw["transitions"][2]["to"] = "Disqualified"
    raw["icp"]["gate"], raw["icp"]["fail_to"] = ["MQL"], "SQL"
    assert problems_of(raw, tmp_path) == [
        "transitions[1].else: 'SQL' requires a person's confirmation; a fact or a score cannot move "
        "a lead there",
        "transitions[2].to: 'Disqualified' needs a person's reason code; a time-based transition "
        "cannot disqualify",
        "icp.fail_to: 'SQL' requires a person's confirmation; the ICP gate cannot move a lead there",
    ]


def test_a_zero_after_is_refused(tmp_path):
    raw = rules_raw()
    raw["transitions"][2]["after"] = "0d"
    assert problems_of(raw, tmp_path) == [
        "transitions[2].after: Value error, must be longer than zero (e.g. 4h, 30d)"]


def test_grades_icp_acceptance_and_frameworks_are_checked(tmp_path):
    raw = rules_raw()
    raw["grades"]["thresholds"] = {"A": 10, "B": 30}
    raw["icp"]["gate"] = ["SQL", "Qualified"]
    raw["icp"]["rules"].append({"attribute": "industry"})
    for stage in raw["stages"]:
        if stage["name"] == "SQL":
            stage["acceptance"]["reject_to"] = "SQL"
        if stage["name"] == "In Evaluation":
            stage["required_fields"] = ["framework:spiced"]
        if stage["name"] == "New Lead":
            stage["acceptance"] = {"within": "1h", "reject_to": "Nope"}
    assert problems_of(raw, tmp_path) == [
        "grades.thresholds: A needs the highest fit score, then B, then C",
        "icp.rules[1]: needs equals_any, at_least or at_most",
        "icp.gate[1]: unknown stage 'Qualified'",
        "stages[0].acceptance: a handoff needs an owner: set owner_role (sdr, ae or cs)",
        "stages[0].acceptance.reject_to: unknown stage 'Nope'",
        "stages[2].acceptance.reject_to: a rejected lead must leave the stage",
        "stages[4].required_fields[0]: unknown framework 'spiced'; known: bant, champ, meddic",
    ]
