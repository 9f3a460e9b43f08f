"""Playbook management on the dev server, the way users reach it: two playbooks side by side
selected by source (through ingest), a trial lead joining the demo-led motion (LeadClient), and a
new version rolled out to leads in flight (`leadflow playbook migrate`) with the report reading
history through the rename."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from config.playbook_catalog import load_catalog
from leadflow.cli import app
from ledger import facts as k
from ledger.engine import make_engine, migrate
from lifecycle.events import lead_workflow_id
from tests.support.ingest_client import (
    ingest_api,
    ingest_settings,
    lead_state,
    product_event,
    temporal_address,
)
from tests.support.lead_harness import Harness, fact, running_worker, unique_email, until
from tests.support.ledger_harness import count_facts, ledger_worker
from tests.support.playbook_dirs import demo_v1, demo_v2, side_by_side, write
from workflows.lead_client import LeadClient
from workflows.lead_models import LeadCommand


def _track(h: Harness, leads: LeadClient, *emails: str) -> None:
    h.handles += [leads.client.get_workflow_handle(lead_workflow_id(e)) for e in emails]


async def test_two_playbooks_selected_by_source_run_side_by_side(dev_env, tmp_path):
    directory = side_by_side(tmp_path / "playbooks")
    async with running_worker(dev_env.client, catalog=load_catalog(directory, "demo_led")) as h:
        settings = ingest_settings(temporal_address(dev_env), h.task_queue, "demo_led").model_copy(
            update={"playbook_dir": directory})
        trial, demo = unique_email("trial"), unique_email("demo")
        async with ingest_api(settings) as api:
            answer = await api.events(product_event(trial, "trial_signup", source="product"),
                                      product_event(demo, "Form Submitted", source="webinar"))
            assert answer.status_code == 202, answer.text
            # an event name only trial_led maps still reaches its lead as the fact it names
            assert (await api.events(product_event(trial, "Workspace Activated"))).status_code == 202
        leads = LeadClient(dev_env.client, h.task_queue)
        _track(h, leads, trial, demo)
        t = await lead_state(leads, trial, lambda s: s.stage == "Trial Activated")
        d = await lead_state(leads, demo, lambda s: s.events_applied == 1)
        assert (t.playbook, t.source) == ("trial_led", "product")
        assert (d.playbook, d.stage, d.source) == ("demo_led", "New Lead", "webinar")


async def test_a_trial_lead_that_books_a_demo_joins_the_demo_led_motion(dev_env, tmp_path):
    catalog = load_catalog(side_by_side(tmp_path / "playbooks"), "demo_led")
    async with running_worker(dev_env.client, catalog=catalog) as h:
        leads = LeadClient(dev_env.client, h.task_queue, "demo_led", catalog)
        email = unique_email("trial")
        await leads.send_event(email, fact("trial_signup", source="product"))
        _track(h, leads, email)
        await leads.send_event(email, fact("activated"))
        await lead_state(leads, email, lambda s: s.stage == "Trial Activated")
        view = await leads.command(email, LeadCommand(kind="demo_scheduled", actor="ana@acme.io"))
        assert view.stage == "Demo Scheduled"
        state = await leads.state(email)
        assert state is not None and state.playbook == "demo_led"
        assert [(c.to_stage, c.playbook) for c in state.history] == [
            ("New Trial Signup", None), ("Trial Activated", None), ("Demo Scheduled", "demo_led")]
        ref = await leads.playbook_version(email)
        assert ref is not None and (ref.name, ref.hash) == ("demo_led", catalog.current["demo_led"].hash)
        # demo_led's rules apply now: its reason codes (trial_led has no 'budget')
        lost = await leads.command(email, LeadCommand(kind="lost", properties={"reason": "budget"}))
        assert lost.stage == "Closed Lost"


def _cli(env: dict[str, str], *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), env=env)


async def test_migrating_leads_in_flight_renames_a_stage_and_the_report_keeps_it(dev_env, tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    engine = make_engine(url)
    migrate(engine)
    v1_dir, v2_dir, v3_dir = tmp_path / "v1", tmp_path / "v2", tmp_path / "v3"
    write(v1_dir, "demo_led.yaml", demo_v1())
    write(v2_dir, "demo_led.v1.yaml", demo_v1())
    write(v2_dir, "demo_led.yaml", demo_v2())
    # v3 (alone in its directory, so only the leads can tell) drops 'Demo Scheduled' unmapped
    write(v3_dir, "demo_led.yaml", {**demo_v2(), "version": "v3", "changelog": [],
                                    "migrations": [{"from": "v1", "stages": {}}]})
    catalog = load_catalog(v1_dir, "demo_led")
    async with ledger_worker(dev_env.client, engine, catalog=catalog) as h:
        leads = LeadClient(dev_env.client, h.task_queue, "demo_led", catalog)
        booked, also, waiting = unique_email("booked"), unique_email("also"), unique_email("mql")
        for email in (booked, also, waiting):
            await leads.send_event(email, fact("demo_requested"))
        _track(h, leads, booked, also, waiting)
        for email in (booked, also):
            await leads.command(email, LeadCommand(kind="confirm_sql",
                                                   properties={"use_case": "forecast", "timeline": "Q3"}))
            await leads.command(email, LeadCommand(kind="demo_scheduled"))
        query = f"WorkflowType = 'LeadWorkflow' AND TaskQueue = '{h.task_queue}'"
        await until(lambda: _listed(dev_env.client, query, 3), what="three leads listed")
        env = {"LEADFLOW_TEMPORAL_ADDRESS": temporal_address(dev_env), "LEADFLOW_TASK_QUEUE": h.task_queue,
               "LEADFLOW_DATABASE_URL": url, "LEADFLOW_PLAYBOOK": "demo_led", "COLUMNS": "200"}

        refused = await asyncio.to_thread(_cli, {**env, "LEADFLOW_PLAYBOOK_DIR": str(v3_dir)},
                                          "playbook", "migrate", "--from", "v1", "--to", "v3")
        assert refused.exit_code == 1
        for email in (booked, also):
            assert (f"refused: {v3_dir / 'demo_led.yaml'}: migrations: lead {email} is in 'Demo Scheduled' "
                    "of v1, which v3 drops without a mapping") in refused.stderr
        v2_env = {**env, "LEADFLOW_PLAYBOOK_DIR": str(v2_dir)}
        dry = await asyncio.to_thread(_cli, v2_env, "playbook", "migrate", "--from", "v1", "--to", "v2",
                                      "--dry-run")
        assert dry.exit_code == 0, dry.output
        assert f"would move {booked}: 'Demo Scheduled' -> 'Discovery Scheduled'" in dry.stdout
        assert f"would move {waiting}: 'MQL' -> 'MQL'" in dry.stdout
        assert (await leads.state(booked)).stage == "Demo Scheduled"  # type: ignore[union-attr]

        moved = await asyncio.to_thread(_cli, v2_env, "playbook", "migrate", "--from", "v1", "--to", "v2")
        assert moved.exit_code == 0, moved.output
        assert "moved 3 leads of demo_led from v1 to v2" in moved.stdout
        assert (await leads.state(booked)).stage == "Discovery Scheduled"  # type: ignore[union-attr]
        assert (await leads.playbook_version(waiting)).version == "v2"  # type: ignore[union-attr]
        shown = await asyncio.to_thread(_cli, v2_env, "show", booked)
        assert shown.exit_code == 0, shown.output
        version = json.loads(shown.stdout)["playbook_version"]
        assert (version["name"], version["version"], version["stage"]) == (
            "demo_led", "v2", "Discovery Scheduled")
        # the renamed stage goes on by v2's transitions
        view = await leads.command(also, LeadCommand(kind="discovery_completed",
                                                     properties={"stakeholders": "cfo"}))
        assert view.stage == "In Evaluation"
        again = await asyncio.to_thread(_cli, v2_env, "playbook", "migrate", "--from", "v1", "--to", "v2")
        assert "moved 0 leads" in again.stdout  # every lead runs v2 now

        await until(lambda: count_facts(engine, kind=k.MIGRATED) == 3 and count_facts(
            engine, kind=k.STAGE, to_stage="In Evaluation") == 1, what="the ledger has the migration")
        since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        report = await asyncio.to_thread(_cli, v2_env, "report", "--since", since, "--format", "json")
        assert report.exit_code == 0, report.output
        data = json.loads(report.stdout)
        entered = {s["stage"]: s["entered"] for s in data["stages"]}
        assert entered["Discovery Scheduled"] == 2 and "Demo Scheduled" not in entered
        conversions = {(c["from_stage"], c["to_stage"]): c["leads"] for c in data["conversions"]}
        assert conversions[("SQL", "Discovery Scheduled")] == 2
        assert conversions[("Discovery Scheduled", "In Evaluation")] == 1
    engine.dispose()


async def _listed(client, query: str, n: int) -> bool:  # type: ignore[no-untyped-def]
    return len([w async for w in client.list_workflows(query)]) == n


def test_playbook_dirs_helper_is_valid(tmp_path: Path):
    assert sorted(load_catalog(side_by_side(tmp_path), "demo_led").current) == ["demo_led", "trial_led"]
