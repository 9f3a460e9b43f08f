"""LEADFLOW_PLAYBOOK_DIR: every playbook checked together (file, field, reason), selection rules,
to_playbook targets, versions by hash, and the rules for renames and dropped stages."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from config.playbook_catalog import load_catalog
from config.playbook_loader import PLAYBOOK_DIR, PlaybookError, load_playbook
from config.playbook_versions import playbook_hash, version_label
from config.settings import Settings
from lifecycle.selection import lead_attributes
from tests.support.playbook_dirs import demo_v1, demo_v2, side_by_side, stock, write


def problems(directory: Path, default: str = "demo_led") -> list[str]:
    with pytest.raises(PlaybookError) as caught:
        load_catalog(directory, default)
    return [str(p) for p in caught.value.problems]


def test_the_stock_directory_is_the_default_and_each_playbook_has_a_content_hash():
    catalog = load_catalog(PLAYBOOK_DIR, "demo_led")
    assert sorted(catalog.current) == ["demo_led", "high_touch", "trial_led"]
    demo = catalog.get("demo_led")
    assert catalog.current["demo_led"].hash == playbook_hash(demo) == playbook_hash(load_playbook(
        PLAYBOOK_DIR / "demo_led.yaml"))
    assert version_label(demo) == playbook_hash(demo)  # no `version:` label: the hash alone
    assert catalog.select(lead_attributes("ada@acme.io", {"source": "product"})) == "demo_led"
    assert Settings(_env_file=None).playbook_directory == PLAYBOOK_DIR  # type: ignore[call-arg]


def test_a_bad_file_is_named_with_its_field_and_reason(tmp_path):
    broken = {**stock("trial_led"), "initial_stage": "Nowhere"}
    write(tmp_path, "demo_led.yaml", stock("demo_led"))
    write(tmp_path, "trial_led.yaml", broken)
    found = problems(tmp_path)
    assert f"{tmp_path / 'trial_led.yaml'}: initial_stage: unknown stage 'Nowhere'" in found


def test_worker_and_ingest_refuse_to_start_on_a_bad_directory(tmp_path):
    from ingest.app import create_app
    from worker import run_workers

    write(tmp_path, "demo_led.yaml", {**stock("demo_led"), "stages": []})
    settings = Settings(_env_file=None, LEADFLOW_PLAYBOOK_DIR=str(tmp_path))  # type: ignore[call-arg]
    with pytest.raises(PlaybookError, match=r"demo_led.yaml: stages: List should have at least 1 item"):
        asyncio.run(run_workers(settings, asyncio.Event()))
    with pytest.raises(PlaybookError, match=r"demo_led.yaml: stages"):
        create_app(settings)
    missing = Settings(_env_file=None, LEADFLOW_PLAYBOOK_DIR=str(tmp_path / "nope"))  # type: ignore[call-arg]
    with pytest.raises(PlaybookError, match="no such directory"):
        create_app(missing)


@pytest.mark.parametrize("service", ["worker", "ingest"])
def test_leadflow_worker_and_ingest_stop_with_file_field_and_reason(tmp_path, service):
    from typer.testing import CliRunner

    from leadflow.cli import app

    write(tmp_path, "demo_led.yaml", {**stock("demo_led"), "initial_stage": "Nowhere"})
    result = CliRunner().invoke(app, [service], env={"LEADFLOW_PLAYBOOK_DIR": str(tmp_path)})
    assert result.exit_code == 2
    assert f"  {tmp_path / 'demo_led.yaml'}: initial_stage: unknown stage 'Nowhere'" in result.stderr


def test_selection_takes_the_first_matching_rule_then_the_default(tmp_path):
    side_by_side(tmp_path)
    write(tmp_path, "selection.yaml", {"selection": [
        {"when": {"source": ["product"], "country": ["DE"]}, "playbook": "demo_led"},
        {"when": {"source": ["product", "trial"]}, "playbook": "trial_led"},
        {"when": {"email_type": ["personal"]}, "playbook": "trial_led"}], "default": "demo_led"})
    catalog = load_catalog(tmp_path, "demo_led")
    pick = lambda email, **props: catalog.select(lead_attributes(email, props))  # noqa: E731
    assert pick("a@acme.io", source="Product", country="de") == "demo_led"  # first rule, any case
    assert pick("a@acme.io", source="product", country="US") == "trial_led"
    assert pick("a@gmail.com") == "trial_led"  # email_type personal
    assert pick("a@acme.io", source="webinar") == "demo_led"  # the default


def test_selection_and_to_playbook_must_name_loaded_playbooks_and_stages(tmp_path):
    side_by_side(tmp_path)
    write(tmp_path, "selection.yaml", {"selection": [{"when": {"source": ["x"]}, "playbook": "plg"}],
                                       "default": "nope"})
    trial = stock("trial_led")
    trial["transitions"].append({"from": ["Trial Activated"], "to": "Demo Booked",
                                 "to_playbook": "demo_led", "when": ["demo_scheduled"]})
    trial["transitions"].append({"from": ["Trial Activated"], "to": "MQL",
                                 "to_playbook": "enterprise", "when": ["demo_requested"]})
    write(tmp_path, "trial_led.yaml", trial)
    found = problems(tmp_path, default="missing")
    n = len(trial["transitions"])
    trial_file = tmp_path / "trial_led.yaml"
    assert f"{trial_file}: transitions[{n - 2}].to: unknown stage 'Demo Booked' in playbook demo_led" in found
    assert any(p.startswith(f"{tmp_path / 'trial_led.yaml'}: transitions[{n - 1}].to_playbook: no playbook "
                            "'enterprise'") for p in found)
    assert any(p.startswith(f"{tmp_path / 'selection.yaml'}: selection[0].playbook: no playbook 'plg'")
               for p in found)
    assert f"{tmp_path / 'selection.yaml'}: default: no playbook 'nope'" in found
    assert any(p.startswith(f"{tmp_path}: LEADFLOW_PLAYBOOK: no playbook 'missing'") for p in found)


def test_a_score_threshold_cannot_switch_playbooks(tmp_path):
    trial = stock("trial_led")
    trial["transitions"].append({"from": ["Trial Activated"], "to": "MQL", "to_playbook": "demo_led",
                                 "when": ["score_threshold"]})
    path = write(tmp_path, "trial_led.yaml", trial)
    with pytest.raises(PlaybookError, match="scoring cannot move a lead to another playbook"):
        load_playbook(path)


def test_a_rename_needs_a_version_and_a_changelog_entry(tmp_path):
    v2 = demo_v2()
    no_log = write(tmp_path, "a.yaml", {**v2, "changelog": []})
    with pytest.raises(PlaybookError) as caught:
        load_playbook(no_log)
    assert [str(p) for p in caught.value.problems] == [
        f"{no_log}: changelog: stages are renamed or merged (migrations), so the changelog needs an "
        "entry for version v2 saying what changed"]
    no_version = write(tmp_path, "b.yaml", {**v2, "version": None})
    with pytest.raises(PlaybookError, match="version: a playbook with migrations needs a version label"):
        load_playbook(no_version)
    still_there = write(tmp_path, "c.yaml", {**v2, "migrations": [{"from": "v1", "stages": {"MQL": "SQL"}}]})
    with pytest.raises(PlaybookError, match=r"migrations\[0\].stages.MQL: 'MQL' is still a stage"):
        load_playbook(still_there)
    unknown = write(tmp_path, "d.yaml",
                    {**v2, "migrations": [{"from": "v1", "stages": {"Demo Scheduled": "Demo"}}]})
    with pytest.raises(PlaybookError, match=r"stages.Demo Scheduled: unknown stage 'Demo' in this version"):
        load_playbook(unknown)


def test_versions_side_by_side_keep_the_older_by_hash_and_read_renames(tmp_path):
    write(tmp_path, "demo_led.v1.yaml", demo_v1())
    write(tmp_path, "demo_led.yaml", demo_v2())
    catalog = load_catalog(tmp_path, "demo_led")
    assert catalog.get("demo_led").version == "v2"
    v1 = catalog.version("v1", "demo_led")[0]
    assert catalog.by_hash(v1.hash) is v1.playbook and v1.playbook.version == "v1"
    assert catalog.renames("demo_led") == {"Demo Scheduled": "Discovery Scheduled"}


def test_a_new_version_that_drops_a_stage_without_a_mapping_is_refused(tmp_path):
    v2 = demo_v2()
    v2["stages"] = [s for s in v2["stages"] if s["name"] != "In Evaluation"]
    v2["transitions"] = [t for t in v2["transitions"] if t["to"] != "In Evaluation"]
    for t in v2["transitions"]:
        t["from"] = [s for s in t["from"] if s != "In Evaluation"] or ["Discovery Scheduled"]
    for mapping in v2["field_mapping"].values():
        mapping.pop("In Evaluation")
    v2["account_rules"] = [r for r in v2.get("account_rules", [])
                           if "In Evaluation" not in r.get("lead_reached", [])]
    write(tmp_path, "demo_led.v1.yaml", demo_v1())
    write(tmp_path, "demo_led.yaml", v2)
    assert problems(tmp_path) == [
        f"{tmp_path / 'demo_led.yaml'}: migrations[0].stages: drops stage 'In Evaluation' of v1 "
        "(demo_led.v1.yaml) without a mapping: leads in it would be orphaned"]


def test_two_versions_that_do_not_migrate_one_from_the_other_are_refused(tmp_path):
    write(tmp_path, "a.yaml", demo_v1())
    write(tmp_path, "b.yaml", {**demo_v1(), "version": "v9"})
    found = problems(tmp_path)
    assert len(found) == 1
    assert "2 versions of playbook 'demo_led' are loaded (a.yaml (v1), b.yaml (v9))" in found[0]
