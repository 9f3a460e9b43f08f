"""`leadflow playbook validate`: every problem with file, field path and reason."""

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from config.playbook_loader import PLAYBOOK_DIR, PlaybookError, load_playbook
from leadflow.cli import app

BROKEN = """
name: broken
initial_stage: New
stages:
  - {name: New}
  - {name: MQL, sla: {expect: [contacted], within: 4h}}
  - {name: MQL}
  - {name: Orphan}
  - {name: Won, kind: won, sla: {expect: [contacted], within: 1d}}
  - {name: Parked, kind: nurture}
  - {name: Out, kind: disqualified}
transitions:
  - {from: [New], to: MQL, when: [score_threshold]}
  - {from: [MQL], to: Won, when: [won]}
  - {from: [MQL], to: SQL, when: [confirm_sql]}
  - {from: [Nowhere], to: Out, when: [disqualify]}
  - {from: ["*"], to: Parked, when: [snooze]}
scoring:
  signals:
    - {event: email_open, category: engagement, points: 5}
disqualification_reasons: [budget]
"""


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN)
    return path


def test_stock_playbooks_validate():
    result = CliRunner().invoke(app, ["playbook", "validate", *map(str, PLAYBOOK_DIR.glob("*.yaml"))])
    assert result.exit_code == 0, result.output
    assert result.output.count(": ok (") == 3


def test_broken_playbook_reports_every_problem_precisely(broken):
    with pytest.raises(PlaybookError) as err:
        load_playbook(broken)
    found = {(p.path, p.reason) for p in err.value.problems}
    assert all(p.file == str(broken) for p in err.value.problems)
    assert found >= {
        ("stages[2].name", "duplicate stage 'MQL'"),
        ("transitions[2].to", "unknown stage 'SQL'"),
        ("transitions[3].from[0]", "unknown stage 'Nowhere'"),
        ("stages[3]", "stage 'Orphan' is unreachable from 'New'"),
        ("stages[4].sla", "won stage 'Won' cannot have an SLA"),
        ("stages[5]", "nurture stage 'Parked' has no re-entry"),
        ("nurture_paths", "snooze transitions need at least one nurture path"),
        ("scoring.signals[0].points", "email opens never qualify; points must be 0"),
    }


def test_cli_exits_non_zero_with_file_field_and_reason(broken):
    result = CliRunner().invoke(app, ["playbook", "validate", str(broken)])
    assert result.exit_code == 1
    assert f"{broken}: transitions[2].to: unknown stage 'SQL'" in result.output


def test_schema_errors_name_the_field(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text(BROKEN.replace("within: 4h", "within: soon").replace("kind: won", "kind: wonn"))
    with pytest.raises(PlaybookError) as err:
        load_playbook(path)
    paths = {p.path for p in err.value.problems}
    assert {"stages[1].sla.within", "stages[4].kind"} <= paths


def test_unreadable_yaml_names_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("stages: [unclosed")
    with pytest.raises(PlaybookError, match="bad.yaml: <file>"):
        load_playbook(path)


def test_show_prints_stages_slas_and_scoring():
    result = CliRunner().invoke(app, ["playbook", "show", str(PLAYBOOK_DIR / "demo_led.yaml")])
    assert result.exit_code == 0
    assert "SLA: contacted or confirm_sql within 24h" in result.output
    assert "New Lead -> MQL on score_threshold, demo_requested" in result.output
    assert "Nurture path not_now: follow up after 90d; re-enter MQL" in result.output


def test_non_positive_durations_and_negative_caps_are_refused(tmp_path):
    """half_life 0 divided by zero in every lead's workflow task (issue 14); zero SLAs, zero
    follow-ups and negative caps were accepted too."""
    path = tmp_path / "zeros.yaml"
    text = (PLAYBOOK_DIR / "demo_led.yaml").read_text()
    pb = yaml.safe_load(text)
    pb["scoring"]["half_life"] = 0
    pb["scoring"]["caps"] = {"intent": -5}
    sla_stage = next(i for i, s in enumerate(pb["stages"]) if s.get("sla"))
    pb["stages"][sla_stage]["sla"]["within"] = "0h"
    pb["nurture_paths"][0]["follow_up_after"] = "0d"
    path.write_text(yaml.safe_dump(pb))
    result = CliRunner().invoke(app, ["playbook", "validate", str(path)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    for field in ("scoring.half_life", "scoring.caps.intent", f"stages[{sla_stage}].sla.within",
                  "nurture_paths[0].follow_up_after"):
        assert f"{path}: {field}: " in result.output, result.output


@pytest.mark.parametrize("content", [
    b"\x00\x01\x02\xff\xfe binary",
    "name: caf\xe9\n".encode("latin-1"),
    b"a: " + b"[" * 5000 + b"]" * 5000,
    b"- just\n- a list\n",
])
def test_unreadable_files_are_named_without_a_traceback(tmp_path, content):
    path = tmp_path / "odd.yaml"
    path.write_bytes(content)
    result = CliRunner().invoke(app, ["playbook", "validate", str(path)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert result.output.startswith(f"{path}: "), result.output


def test_a_missing_file_is_named(tmp_path):
    result = CliRunner().invoke(app, ["playbook", "validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1 and f"{tmp_path / 'nope.yaml'}: <file>: " in result.output


CONFIRMATION = """
name: facts
initial_stage: New
stages:
  - {name: New}
  - {name: SQL, requires_confirmation: true}
  - {name: Waiting, pauses_sla: true}
  - {name: Parked, kind: nurture}
  - {name: Out, kind: disqualified}
transitions:
  - {from: [New], to: SQL, when: [confirm_sql, meeting_attended]}
  - {from: [SQL], to: Waiting, when: [wait_on_customer]}
  - {from: [Waiting], to: SQL, when: [email_reply]}
  - {from: ["*"], to: Parked, when: [snooze]}
  - {from: ["*"], to: Out, when: [disqualify]}
disqualification_reasons: [budget]
nurture_paths:
  - {name: later, follow_up_after: 30d, re_entry_on: [demo_requested, reopen], re_entry_stage: SQL}
event_map:
  Meeting Held: meeting_attended
  Rep Confirmed: confirm_sql
"""


def test_facts_cannot_move_a_lead_into_a_confirmation_stage(tmp_path):
    path = tmp_path / "facts.yaml"
    path.write_text(CONFIRMATION)
    with pytest.raises(PlaybookError) as err:
        load_playbook(path)
    assert [str(p) for p in err.value.problems] == [
        f"{path}: transitions[0].when[1]: meeting_attended is a fact, but 'SQL' requires a "
        "person's confirmation: only a command may move a lead there",
        f"{path}: nurture_paths[0].re_entry_on[0]: demo_requested is a fact, but 'SQL' requires a "
        "person's confirmation: only a command may move a lead there",
        f"{path}: event_map.Rep Confirmed: confirm_sql is a person's command; an incoming event "
        "cannot be it",
    ]  # the customer's reply ending a wait the confirmed stage started is no new confirmation
