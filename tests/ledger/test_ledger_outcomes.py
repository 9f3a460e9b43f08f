"""`leadflow report --outcomes`: four leads told through the rules playbook's engine, their ledger
entries written by the real LedgerWriter to SQLite, and the figures worked out by hand."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from leadflow.cli import app
from ledger.engine import make_engine
from ledger.outcomes import band
from ledger.writer import LedgerWriter
from lifecycle.engine import decide
from lifecycle.ledger_entry import LedgerEntry, entry_for
from tests.support.lifecycle_helpers import Lead, event
from tests.support.rules_playbook import rules_playbook

GRADE_A = {"company_size": "300", "industry": "software", "role": "vp"}


def story(lead: Lead, steps: list[tuple[str, dict[str, str]]]) -> list[LedgerEntry]:
    """The entries LeadWorkflow would hand the ledger for these steps, five minutes apart."""
    lead_id = f"lead:{lead.state.email}"
    entries = [entry_for(lead_id, 1, "created", None, lead.state, lead.now, effects=lead.last.effects)]
    for kind, props in steps:
        before, lead.now = lead.state, lead.now + timedelta(minutes=5)
        happened = event(kind, lead.now, **props)
        d = decide(lead.pb, before, happened, lead.now)
        assert d.accepted, (kind, d.rejection)
        lead.state = d.state
        entries.append(entry_for(lead_id, len(entries) + 1, "decision", before, d.state, lead.now,
                                 happened, d.effects))
    return entries


def test_score_bands_are_twenty_points_wide():
    assert [band(s) for s in (0, 19, 20, 59, 60, 79, 80, 120)] == [
        "0-19", "0-19", "20-39", "40-59", "60-79", "60-79", "80+", "80+"]


@pytest.fixture
def ledger_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    rules = rules_playbook(tmp_path)
    to_opportunity = [("demo_requested", {"source": "ads"}),
                      ("confirm_sql", {"use_case": "forecasting", "timeline": "Q3"}), ("accept", {}),
                      ("demo_scheduled", {}),
                      ("discovery_completed", {"stakeholders": "cfo", "budget": "50k",
                                               "authority": "cfo", "need": "forecasts"}),
                      ("opportunity_created", {})]
    entries = [
        *story(Lead(rules, "won@acme.io", campaign="spring", **GRADE_A), [*to_opportunity, ("won", {})]),
        *story(Lead(rules, "opp@acme.io", campaign="spring", company_size="300", industry="software"),
               [*to_opportunity, ("lost", {"reason": "budget"})]),
        *story(Lead(rules, "founder@acme.io", company_size="5", role="founder"),
               [("demo_requested", {"source": "webinar"})]),
        *story(Lead(rules, "idle@acme.io"), [("pricing_visit", {"source": "webinar"})]),
    ]
    engine = make_engine(url)
    LedgerWriter(engine).write(entries)
    engine.dispose()
    return url


def test_outcomes_by_score_band_fit_grade_channel_and_campaign(ledger_url, monkeypatch):
    monkeypatch.setenv("LEADFLOW_DATABASE_URL", ledger_url)
    result = CliRunner().invoke(app, ["report", "--outcomes", "--since", "2026-03-01",
                                      "--until", "2026-04-01", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {(r["dimension"], r["value"]): (r["leads"], r["opportunities"], r["won"])
            for r in json.loads(result.output)}
    assert rows == {
        # Each acme.io address also earns 5 fit points for a business email.
        ("score_band", "20-39"): (1, 0, 0),  # idle: 15 intent + 5
        ("score_band", "40-59"): (1, 0, 0),  # founder: 10 fit + 30 + 5
        ("score_band", "60-79"): (2, 2, 1),  # opp: 25 fit + 30 + 5; won: 35 fit + 30 + 5
        ("fit_grade", "A"): (1, 1, 1), ("fit_grade", "B"): (1, 1, 0),
        ("fit_grade", "C"): (1, 0, 0), ("fit_grade", "D"): (1, 0, 0),
        ("channel", "ads"): (2, 2, 1), ("channel", "webinar"): (2, 0, 0),
        ("campaign", "spring"): (2, 2, 1), ("campaign", "(none)"): (2, 0, 0),
    }
    table = CliRunner().invoke(app, ["report", "--outcomes", "--since", "2026-03-01",
                                     "--until", "2026-04-01"])
    line = next(x for x in table.output.splitlines() if x.startswith("fit_grade") and " A " in x)
    assert line.split() == ["fit_grade", "A", "1", "1", "1", "100.0%", "100.0%"]
