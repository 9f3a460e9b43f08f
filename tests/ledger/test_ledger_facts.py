"""Entries become facts by the ledger's rules, and writing them twice records them once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect

from config.playbook_loader import stock_playbook
from ledger.engine import migrate
from ledger.facts import facts_for
from ledger.store import lead_facts
from ledger.writer import LedgerWriter
from lifecycle.engine import Decision, decide, new_lead
from lifecycle.events import EventKind, LeadEvent
from lifecycle.ledger_entry import LedgerEntry, entry_for
from tests.support.ledger_harness import count_facts

PB = stock_playbook("demo_led")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEAD = "lead:ada@acme.io"


class Lead:
    """Drives the pure engine the way LeadWorkflow does and keeps its ledger entries."""

    def __init__(self, **fields: str) -> None:
        d = new_lead(PB, "ada@acme.io", T0, fields, source="ads")
        self.state, self.now = d.state, T0
        self.entries = [entry_for(LEAD, 1, "created", None, d.state, T0, None, d.effects)]

    def send(self, kind: str, after: timedelta = timedelta(0), **props: str) -> Decision:
        self.now += after
        event = LeadEvent(event_id=f"e{len(self.entries)}", kind=EventKind(kind), occurred_at=self.now,
                          properties=props)
        d = decide(PB, self.state, event, self.now)
        assert d.accepted, d.rejection
        self.entries.append(entry_for(LEAD, len(self.entries) + 1, "decision", self.state, d.state,
                                      self.now, event, d.effects))
        self.state = d.state
        return d


def kinds(entry: LedgerEntry, owner: str | None = None) -> list[tuple[str, str | None]]:
    return [(f.kind, f.to_stage or f.stage) for f in facts_for(entry, owner)]


def test_a_demo_request_is_a_touch_a_stage_move_and_an_sla_start():
    lead = Lead(campaign="spring")
    assert kinds(lead.entries[0]) == [("stage", "New Lead")]
    lead.send("demo_requested", timedelta(minutes=5))
    facts = facts_for(lead.entries[1], None)
    assert [(f.kind, f.stage) for f in facts] == [("touch", "New Lead"), ("stage", "MQL"),
                                                  ("sla_start", "MQL")]
    touch, move, sla = facts
    assert touch.reason == "intent +30 (demo_requested)"
    assert (touch.score_before, touch.score_after) == (5, 35)  # 5 fit points: a business email
    assert (move.from_stage, move.cause, move.channel, move.campaign) == ("New Lead", "demo_requested",
                                                                          "ads", "spring")
    assert sla.sla_due_at == T0 + timedelta(minutes=5, hours=24)


def test_a_score_crossing_the_threshold_is_its_own_fact():
    lead = Lead(company_size="500", industry="software", role="vp")  # fit 35
    lead.send("pricing_visit")  # 50
    lead.send("email_reply")  # 65: crosses 60, scoring moves the lead to MQL
    facts = facts_for(lead.entries[2], None)
    assert [f.kind for f in facts] == ["touch", "score", "stage", "sla_start"]
    assert facts[1].cause == "crossed 60 up" and facts[1].reason == "engagement +15 (email_reply)"
    assert facts[2].cause == "score_threshold"


def test_sla_outcomes_and_a_disqualification_reason():
    lead = Lead()
    lead.send("demo_requested")
    lead.send("contacted", timedelta(hours=3))  # the MQL SLA's expected action, no move
    met = facts_for(lead.entries[2], None)
    assert [(f.kind, f.stage) for f in met] == [("touch", "MQL"), ("sla_met", "MQL")]
    assert met[1].sla_started_at == T0 and met[1].at == T0 + timedelta(hours=3)
    lead.send("disqualify", timedelta(hours=1), reason="budget")
    moved = facts_for(lead.entries[3], None)
    assert [(f.kind, f.to_stage, f.reason) for f in moved if f.kind == "stage"] == [
        ("stage", "Disqualified", "budget")]


def test_owner_changes_come_from_consecutive_entries():
    lead = Lead()
    lead.send("demo_requested")
    entry = lead.entries[1].model_copy(update={"owner": "rep@acme.io"})
    owner = [f for f in facts_for(entry, None) if f.kind == "owner"]
    assert [(f.previous_owner, f.owner) for f in owner] == [(None, "rep@acme.io")]
    assert not [f for f in facts_for(entry, "rep@acme.io") if f.kind == "owner"]


def test_sync_errors_are_facts():
    lead = Lead()
    error = entry_for(LEAD, 2, "sync_error", lead.state, lead.state, T0, vendor="hubspot",
                      detail="429 TEN_SECONDLY_ROLLING")
    facts = facts_for(error, None)
    assert [(f.kind, f.vendor, f.detail) for f in facts] == [("sync_error", "hubspot",
                                                              "429 TEN_SECONDLY_ROLLING")]


def test_migrations_create_the_table_and_run_again_harmlessly(ledger_engine):
    migrate(ledger_engine)  # the fixture already migrated once
    table = inspect(ledger_engine).get_columns("ledger_facts")
    assert {"lead_id", "seq", "idx", "imported", "channel", "campaign", "owner"} <= {c["name"] for c in table}
    assert inspect(ledger_engine).get_table_names().count("alembic_version") == 1


def test_writing_the_same_entries_twice_records_each_fact_once(ledger_engine):
    lead = Lead()
    lead.send("demo_requested", timedelta(minutes=1))
    lead.send("confirm_sql", timedelta(hours=2), use_case="forecasting", timeline="Q3")
    writer = LedgerWriter(ledger_engine)
    first = writer.write(lead.entries)
    assert first == count_facts(ledger_engine) == 8
    assert writer.write(lead.entries) == 0
    assert writer.write(lead.entries[1:]) == 0  # a retried later batch
    assert count_facts(ledger_engine) == 8
    stored = lead_facts(ledger_engine, LEAD)
    assert stored[0].at == T0 and stored[0].at.tzinfo is not None
    assert [f.to_stage for f in stored if f.kind == "stage"] == ["New Lead", "MQL", "SQL"]


def test_owner_change_across_batches_is_derived_from_the_stored_entry_before(ledger_engine):
    lead = Lead()
    lead.send("demo_requested")
    lead.send("contacted")
    owned = [lead.entries[0], *(e.model_copy(update={"owner": "rep@acme.io"}) for e in lead.entries[1:])]
    writer = LedgerWriter(ledger_engine)
    writer.write(owned[:1])
    writer.write(owned[1:2])
    writer.write(owned[2:])
    writer.write(owned[1:])  # a retry
    changes = [f for f in lead_facts(ledger_engine, LEAD) if f.kind == "owner"]
    assert [(f.seq, f.previous_owner, f.owner) for f in changes] == [(2, None, "rep@acme.io")]


def test_a_deleted_lead_closes_and_other_notes_do_not():
    lead = Lead()
    closing = entry_for(LEAD, 2, "decision", lead.state, lead.state, T0, detail="deleted: gdpr request")
    assert [(f.kind, f.reason) for f in facts_for(closing, None)] == [("closed", "deleted: gdpr request")]
    note = entry_for(LEAD, 2, "decision", lead.state, lead.state, T0, detail="routed to team emea")
    assert [f.kind for f in facts_for(note, None)] == []


def test_a_pql_crossing_is_recorded_at_its_own_threshold():
    pb = stock_playbook("trial_led")
    d = new_lead(pb, "dev@startup.io", T0)
    state, entries = d.state, []
    for i, kind in enumerate(("activated", "teammate_invited", "feature_used"), start=2):
        now = T0 + timedelta(minutes=i)
        event = LeadEvent(event_id=f"e{i}", kind=EventKind(kind), occurred_at=now)
        d = decide(pb, state, event, now)
        entries.append(entry_for(LEAD, i, "decision", state, d.state, now, event, d.effects))
        state = d.state
    crossed = [(f.stage, f.cause) for e in entries for f in facts_for(e, None) if f.kind == "score"]
    assert crossed == [("Trial Activated", "crossed 50 up (product)")]  # not the MQL threshold
