"""`leadflow report` counts the disqualifications and losses people make in a CRM, with the
CRM's reasons, by channel (issue 13): driven through the real LeadWorkflow and the ledger."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from leadflow.cli import app
from ledger.engine import make_engine, migrate
from lifecycle.events import EventKind, LeadEvent
from tests.support.lead_harness import unique_email, until
from tests.support.ledger_harness import count_facts, ledger_worker
from workflows.lead_client import LeadClient


def crm_change(event_id: str, stage: str, reason: str) -> LeadEvent:
    """What the Salesforce callout delivers when a rep sets Status=Unqualified with a reason."""
    return LeadEvent(event_id=event_id, kind=EventKind.CRM_STAGE_CHANGED,
                     occurred_at=datetime.now(UTC), actor="sam@acme.io",
                     properties={"system": "salesforce", "stage": stage, "reason": reason})


async def test_the_report_counts_crm_disqualifications_with_their_reasons(dev_env, tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    engine = make_engine(url)
    migrate(engine)
    since = datetime.now(UTC) - timedelta(minutes=5)
    try:
        async with ledger_worker(dev_env.client, engine) as h:
            leads = LeadClient(dev_env.client, h.task_queue)
            for i, reason in enumerate(("budget", "Went with a rival tool")):
                email = unique_email(f"crm-dq{i}")
                await leads.send_event(email, LeadEvent(
                    event_id=f"demo{i}", kind=EventKind.DEMO_REQUESTED, occurred_at=datetime.now(UTC),
                    properties={"source": "webinar"}))
                await until(lambda e=email: leads.state(e), what="the lead starts")
                await leads.send_event(email, crm_change(f"dq{i}", "Disqualified", reason))
                h.handles.append(dev_env.client.get_workflow_handle(f"lead:{email}"))
            await until(lambda: count_facts(engine, kind="stage", to_stage="Disqualified") == 2,
                        what="the ledger records both disqualifications")
    finally:
        engine.dispose()
    result = CliRunner().invoke(app, ["report", "--since", since.isoformat(), "--until",
                                      (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
                                      "--format", "json"], env={"LEADFLOW_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    reasons = [(r["outcome"], r["reason"], r["channel"], r["count"])
               for r in json.loads(result.stdout)["reasons"]]
    assert reasons == [("disqualified", "budget", "webinar", 1),
                       ("disqualified", "other:Went with a rival tool", "webinar", 1)]
