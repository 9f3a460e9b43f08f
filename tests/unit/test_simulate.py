"""`leadflow playbook simulate` on a 50-lead sample (tests/fixtures/simulate), against a demo_led
v2 with the MQL threshold 60 -> 50, the MQL SLA 24h -> 4h and 'Demo Scheduled' renamed.

The sample, by hand (each lead one hour after the last, from 2026-01-05 09:00 UTC):
- leads 00-19: company_size 500, demo request, SQL confirmed 3h later, demo booked next day: the
  same under both (the rename is no difference; every SLA met within 4h);
- leads 20-29: fit 35 (size, software, vp) + a pricing visit (15) = 50: New Lead today; MQL under
  v2, routed to sdr-americas, nobody calls: the 4h SLA breaches twice and the lead is reassigned;
- leads 30-39: demo request, first call 6h later: met today (24h), breached once then met (4h);
- leads 40-49: a form only: New Lead under both.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from config.playbook_loader import load_playbook, stock_playbook
from config.playbook_versions import renames
from leadflow.cli import app
from ledger.facts import facts_for
from ledger.samples import FROM_LEDGER, samples_from_facts
from lifecycle.engine import decide, new_lead
from lifecycle.ledger_entry import entry_for
from lifecycle.simulate import SampleLead, compare, replay
from tests.support.lifecycle_helpers import T0, event

FIXTURES = Path(__file__).parents[1] / "fixtures" / "simulate"
NEW, SAMPLE = FIXTURES / "demo_led_v2.yaml", FIXTURES / "sample_50.jsonl"
UNTIL = datetime(2026, 3, 1, tzinfo=UTC)


def sample() -> list[SampleLead]:
    return [SampleLead.model_validate_json(line) for line in SAMPLE.read_text().splitlines()]


def test_the_hand_checked_differences_of_the_50_lead_sample():
    new = load_playbook(NEW)
    leads = sample()
    assert len(leads) == 50
    result = compare([(lead, stock_playbook("demo_led")) for lead in leads], new, UNTIL, renames([new]))
    changed = {c.email for c in result.changed}
    assert changed == {f"lead{i:02d}@sample{i:02d}.io" for i in range(20, 40)}
    b, c, a = result.leads[20], result.leads[30], result.leads[0]
    assert (b.current.stage, b.new.stage) == ("New Lead", "MQL")
    assert (b.current.path, b.new.path) == (["New Lead"], ["New Lead", "MQL"])
    assert (b.current.owners, b.new.owners) == ([], ["sdr-americas/sdr", "sdr-americas/sdr (reassign)"])
    assert (dict(b.current.sla), dict(b.new.sla)) == ({}, {"MQL: breached": 2})
    assert not (c.end_differs or c.path_differs or c.owners_differ)
    assert (dict(c.current.sla), dict(c.new.sla)) == ({"MQL: met": 1}, {"MQL: breached": 1, "MQL: met": 1})
    assert (a.current.stage, a.new.stage) == ("Demo Scheduled", "Discovery Scheduled") and not a.differs
    assert a.current.owners == a.new.owners == ["sdr-americas/sdr", "ae-americas/ae"]
    assert result.moves() == {("New Lead", "MQL"): 10}
    now, after = result.sla_totals()
    assert (dict(now), dict(after)) == ({"met": 50}, {"met": 50, "breached": 30})
    assert result.funnel() == [("New Lead", 50, 50), ("MQL", 30, 40), ("SQL", 20, 20),
                               ("Discovery Scheduled", 20, 20)]


def test_replay_fires_timers_only_up_to_until():
    lead = sample()[30]  # demo request 16:00, MQL SLA due 20:00 (4h), breached, re-armed; call at 22:00
    before_call = lead.events[1].occurred_at
    run = replay(load_playbook(NEW), lead.model_copy(update={"events": lead.events[:1]}), before_call)
    assert dict(run.sla) == {"MQL: breached": 1, "MQL: open": 1}


def test_simulate_cli_prints_per_lead_and_totals_and_writes_html(tmp_path):
    out = tmp_path / "sim.html"
    result = CliRunner().invoke(app, ["playbook", "simulate", str(NEW), "--leads", str(SAMPLE),
                                      "--until", "2026-03-01", "--html", str(out)])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "lead20@sample20.io: ends 'New Lead' -> 'MQL'" in text
    assert "  owners: - -> sdr-americas/sdr, sdr-americas/sdr (reassign)" in text
    assert ("lead30@sample30.io: ends 'MQL' -> 'MQL'\n"
            "  SLA: MQL: met x1 -> MQL: breached x1, MQL: met x1") in text
    assert "lead00@" not in text  # unchanged leads are left out unless --all
    assert ("50 leads; 20 differ (10 end elsewhere, 10 take another path, 10 get other teams, "
            "20 other SLA outcomes)") in text
    assert "SLA outcomes: current met x50; new breached x30, met x50" in text
    assert "MQL                                30       40      +10" in text
    page = out.read_text()
    assert page.startswith("<!doctype html>") and "<td>MQL</td><td>30</td><td>40</td><td>+10</td>" in page
    totals = CliRunner().invoke(app, ["playbook", "simulate", str(NEW), "--leads", str(SAMPLE),
                                      "--until", "2026-03-01", "--json", "--limit", "25"])
    data = json.loads(totals.stdout)
    assert (data["leads"], data["differ"], data["end_elsewhere"]) == (25, 5, 5)


def test_simulate_cli_refuses_bad_input_with_line_and_field(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(SAMPLE.read_text().splitlines()[0] + "\n" + '{"email": "x@acme.io"}\n')
    result = CliRunner().invoke(app, ["playbook", "simulate", str(NEW), "--leads", str(bad)])
    assert result.exit_code == 2 and f"{bad}:2: created_at: Field required" in result.output
    both = CliRunner().invoke(app, ["playbook", "simulate", str(NEW)])
    assert both.exit_code == 2 and "give --leads FILE or --from-ledger --since DATE" in both.output


def test_leads_rebuilt_from_ledger_facts_replay_as_recorded(demo_led):
    lead = new_lead(demo_led, "ada@acme.io", T0)
    entries = [entry_for("lead:ada@acme.io", 1, "created", None, lead.state, T0, None, lead.effects)]
    state = lead.state
    events = [event("demo_requested", T0), event("confirm_sql", T0, use_case="u", timeline="t"),
              event("disqualify", T0, reason="budget")]
    for seq, ev in enumerate(events, 2):
        d = decide(demo_led, state, ev, ev.occurred_at)
        entries.append(entry_for("lead:ada@acme.io", seq, "decision", state, d.state, T0, ev, d.effects))
        state = d.state
    facts = [f for e in entries for f in facts_for(e, None)]
    [rebuilt] = samples_from_facts(facts, lambda name: demo_led)
    assert [e.kind.value for e in rebuilt.events] == ["demo_requested", "confirm_sql", "disqualify"]
    assert rebuilt.events[1].properties == {"use_case": FROM_LEDGER, "timeline": FROM_LEDGER}
    assert rebuilt.events[2].properties == {"reason": "budget"}
    assert replay(demo_led, rebuilt, T0).path == ["New Lead", "MQL", "SQL", "Disqualified"]


def test_simulate_from_the_ledger_replays_recorded_leads(tmp_path, demo_led):
    from ledger.engine import make_engine
    from ledger.writer import LedgerWriter

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    engine = make_engine(url)
    entries = []
    for lead in sample()[20:25]:  # five of the 'fit 50' leads, as the ledger saw them
        lead_id = f"lead:{lead.email}"
        created = new_lead(demo_led, lead.email, lead.created_at, lead.fields, lead.source)
        entries.append(entry_for(lead_id, 1, "created", None, created.state, lead.created_at, None,
                                 created.effects))
        ev = lead.events[0]
        d = decide(demo_led, created.state, ev, ev.occurred_at)
        entries.append(entry_for(lead_id, 2, "decision", created.state, d.state, ev.occurred_at, ev,
                                 d.effects))
    LedgerWriter(engine).write(entries)
    engine.dispose()
    result = CliRunner().invoke(app, ["playbook", "simulate", str(NEW), "--from-ledger", "--since",
                                      "2026-01-01", "--until", "2026-03-01", "--json"],
                                env={"LEADFLOW_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # the ledger keeps no fields: without their fit points these leads stay New Lead under v2 too
    assert (data["leads"], data["differ"]) == (5, 0)
    assert data["funnel"] == [{"stage": "New Lead", "current": 5, "new": 5}]
