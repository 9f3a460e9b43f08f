"""Issue 19's richer rules through LeadWorkflow: on the time-skipping server a conditional
transition, a time-based recycle and an overdue handoff; on the dev server handoffs accepted and
rejected through LeadClient, with the report's figures read back from the ledger the workers wrote."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from config.playbook import Playbook
from leadflow.cli import app
from ledger.engine import make_engine, migrate
from ledger.report import ReportFilters, compute_report
from ledger.store import period_facts
from lifecycle.events import EventKind, LeadEvent, lead_workflow_id
from tests.support.lead_harness import Harness, running_worker, unique_email, until
from tests.support.ledger_harness import count_facts, ledger_worker
from tests.support.rules_playbook import rules_playbook
from workflows.lead import LeadWorkflow
from workflows.lead_client import CommandRejected, LeadClient
from workflows.lead_models import LeadCommand

GRADE_A = {"company_size": "300", "industry": "software", "role": "vp"}


async def leadflow(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """The `leadflow` command line in-process (its own event loop, so in a thread)."""
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def rules(tmp_path_factory) -> Playbook:
    return rules_playbook(tmp_path_factory.mktemp("rules"))


@pytest.fixture
def engine(tmp_path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


async def demo_request(env, leads: LeadClient, h: Harness, email: str, **props: str) -> None:
    event = LeadEvent(event_id=uuid.uuid4().hex, kind=EventKind.DEMO_REQUESTED,
                      occurred_at=await env.get_current_time(), properties=props)
    await leads.send_event(email, event)
    h.handles.append(leads.client.get_workflow_handle(lead_workflow_id(email)))  # recorded too
    await until(lambda: _applied(leads, email), timeout=20, what=f"{email} took its demo request")


async def _applied(leads: LeadClient, email: str) -> bool:
    s = await leads.state(email)
    return s is not None and s.events_applied >= 1


async def test_a_founders_demo_request_is_nurtured_an_idle_mql_recycles_and_a_handoff_goes_overdue(
        ts_env, rules):
    async with running_worker(ts_env.client) as h:
        leads = LeadClient(ts_env.client, h.task_queue, rules)
        founder, vp, sql = unique_email("founder"), unique_email("vp"), unique_email("sql")
        await demo_request(ts_env, leads, h, founder, company_size="5", role="founder")
        await demo_request(ts_env, leads, h, vp, **GRADE_A)
        await demo_request(ts_env, leads, h, sql, **GRADE_A)
        # The time-skipping server's describe cannot decode datetime search attributes, so this
        # test updates the handle directly (LeadClient.command describes the lead first).
        await h.handles[-1].execute_update(LeadWorkflow.command, LeadCommand(
            kind="confirm_sql", properties={"use_case": "forecasting", "timeline": "Q3"}))
        assert (await leads.state(founder)).stage == "Nurture"
        view = await leads.view(vp)
        assert (view.stage, view.fit_grade, view.icp) == ("MQL", "A", "pass")
        await ts_env.sleep(timedelta(days=29))
        assert (await leads.state(vp)).stage == "MQL"
        handoff = (await leads.state(sql)).handoff
        assert handoff is not None and handoff.breached  # 4 hours passed without an answer
        await ts_env.sleep(timedelta(days=1, minutes=5))
        s = await until(lambda: _moved(leads, vp), timeout=20)
        assert (s.history[-1].from_stage, s.stage, s.history[-1].cause) == (
            "MQL", "Nurture", "stage_timeout")


async def _moved(leads: LeadClient, email: str):
    s = await leads.state(email)
    return s if s.stage == "Nurture" else None


async def test_handoffs_accepted_and_rejected_give_the_reports_figures(dev_env, rules, engine):
    start = datetime.now(UTC) - timedelta(minutes=1)
    async with ledger_worker(dev_env.client, engine) as h:
        leads = LeadClient(dev_env.client, h.task_queue, rules)
        emails = {"accepted": unique_email("a"), "rejected": unique_email("r"),
                  "waiting": unique_email("w")}
        for name, email in emails.items():
            source = "ads" if name == "waiting" else "webinar"
            await demo_request(dev_env, leads, h, email, source=source, **GRADE_A)
            view = await leads.command(email, LeadCommand(kind="confirm_sql", properties={
                "use_case": "forecasting", "timeline": "Q3"}))
            assert view.handoff is not None and view.handoff.stage == "SQL"
        await leads.command(emails["accepted"], LeadCommand(kind="accept"))
        # From a shell: a rep captures BANT fields; `show` reports the framework's completeness.
        env = {"LEADFLOW_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
               "LEADFLOW_TASK_QUEUE": h.task_queue, "LEADFLOW_PLAYBOOK": "demo_led"}
        code, _, err = await leadflow(env, "command", emails["accepted"], "capture", "--prop", "budget=50k")
        assert code == 0, err
        code, out, err = await leadflow(env, "show", emails["accepted"])
        assert code == 0, err
        shown = json.loads(out)
        assert (shown["fit_grade"], shown["icp"], shown["handoff"]) == ("A", "pass", None)
        [bant] = shown["qualification"]["frameworks"]
        assert (bant["framework"], bant["captured"], bant["missing"], bant["share"]) == (
            "bant", ["budget", "timeline"], ["authority", "need"], "2/4")
        with pytest.raises(CommandRejected, match="a reason is required"):
            await leads.command(emails["rejected"], LeadCommand(kind="reject"))
        view = await leads.command(emails["rejected"], LeadCommand(kind="reject",
                                                                   properties={"reason": "bad_timing"}))
        assert view.stage == "MQL"
        await until(lambda: count_facts(engine, kind="handoff") == 3, timeout=30)
        await until(lambda: count_facts(engine, kind="handoff_rejected") == 1, timeout=30)
        end = datetime.now(UTC) + timedelta(minutes=1)
        report = compute_report(period_facts(engine, start, end), ReportFilters(since=start, until=end))
    rows = {(r.channel, r.requested, r.accepted, r.rejected, r.overdue, r.acceptance_rate)
            for r in report.handoffs}
    assert rows == {("webinar", 2, 1, 1, 0, 0.5), ("ads", 1, 0, 0, 0, None)}
    assert [(x.reason, x.channel, x.count) for x in report.rejections] == [("bad_timing", "webinar", 1)]
