"""`leadflow explain`: a lead's timeline from the ledger, including a lead merged into it."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from typer.testing import CliRunner

from leadflow.cli import app
from lifecycle.events import EventKind, LeadEvent
from tests.support.lead_harness import until
from tests.support.ledger_harness import count_facts, ledger_worker
from workflows.lead_client import LeadClient
from workflows.lead_models import LeadCommand

FIT = {"company_size": "500", "industry": "software", "role": "vp"}  # 35 points of fit


def fact(kind: str) -> LeadEvent:
    return LeadEvent(event_id=uuid.uuid4().hex, kind=EventKind(kind), occurred_at=datetime.now(UTC))


def explain(url: str, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["explain", *args], env={"LEADFLOW_DATABASE_URL": url})


async def test_explain_shows_the_merged_timeline(dev_env, ledger_engine, ledger_url):
    tag = uuid.uuid4().hex[:6]
    ada, bob = f"ada-{tag}@acme.io", f"bob-{tag}@acme.io"
    async with ledger_worker(dev_env.client, ledger_engine) as h:
        leads = LeadClient(dev_env.client, h.task_queue)
        await h.start_lead(bob)
        await leads.send_event(bob, fact("demo_requested"))
        await leads.command(bob, LeadCommand(kind="contacted"))
        await h.start_lead(ada, **FIT)
        await leads.send_event(ada, fact("pricing_visit"))
        await leads.send_event(ada, fact("email_reply"))  # 70 points: scoring makes Ada an MQL
        await until(lambda: count_facts(ledger_engine, kind="sla_met") == 1, what="Bob's SLA met")
        await leads.merge(bob, ada, actor="hubspot:merge")
        await until(lambda: count_facts(ledger_engine, kind="merged") == 1
                    and count_facts(ledger_engine, kind="closed") == 1, what="the merge in the ledger")

    result = explain(ledger_url, ada.upper())
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.splitlines()[0].startswith(f"{ada}: MQL (playbook demo_led")
    assert f"merged from: {bob}" in text
    lines = text.splitlines()
    assert any("score 55 -> 70, crossed 60 up (engagement +15 (email_reply))" in line for line in lines)
    # Ada's fit: 35, + 5 for her business email
    assert any("entered New Lead (created), score 40" in line for line in lines)
    assert any("New Lead -> MQL (score_threshold)" in line and "[from" not in line for line in lines)
    assert any("New Lead -> MQL (demo_requested)" in line and f"[from {bob}]" in line for line in lines)
    assert any("SLA met in MQL" in line and f"[from {bob}]" in line for line in lines)
    assert any(f"merged into lead:{ada}" in line for line in lines)
    assert any(f"absorbed {bob}" in line for line in lines)

    as_json = json.loads(explain(ledger_url, ada, "--format", "json").stdout)
    assert as_json["email"] == ada and as_json["stage"] == "MQL" and as_json["merged_from"] == [bob]
    assert {i["lead"] for i in as_json["items"]} == {ada, bob}
    times = [i["at"] for i in as_json["items"]]
    assert times == sorted(times)


def test_explain_says_when_the_ledger_knows_nothing(ledger_url, ledger_engine):
    missing = explain(ledger_url, "nobody@acme.io")
    assert missing.exit_code == 1 and "the ledger has nothing about nobody@acme.io" in missing.output
    bad = explain(ledger_url, "not-an-email")
    assert bad.exit_code == 2 and "not an email address" in bad.output
