"""Ledger write and report throughput.

    .venv/bin/python bench/ledger_bench.py [--leads 300] [--url postgresql+psycopg://...]

Drives leads through the pure engine (New Lead -> MQL -> SQL -> Demo Scheduled, with touches), then
writes their ledger entries one batch per entry (as a lead workflow mostly does), rewrites them all
(a retry storm: nothing new), and computes the funnel report over the result. SQLite in a temporary
directory unless --url is given.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from config.playbook_loader import stock_playbook
from ledger.engine import make_engine, migrate
from ledger.report import ReportFilters, compute_report
from ledger.store import period_facts
from ledger.writer import LedgerWriter
from lifecycle.engine import decide, new_lead
from lifecycle.events import EventKind, LeadEvent
from lifecycle.ledger_entry import LedgerEntry, entry_for

PB = stock_playbook("demo_led")
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
STEPS = [("content_download", {}), ("demo_requested", {}), ("contacted", {}),
         ("confirm_sql", {"use_case": "x", "timeline": "Q3"}), ("demo_scheduled", {})]


def lead_entries(i: int) -> list[LedgerEntry]:
    lead_id, now = f"lead:bench-{i}@acme.io", T0 + timedelta(minutes=i)
    d = new_lead(PB, f"bench-{i}@acme.io", now, {"campaign": "bench"}, source="ads")
    entries, state = [entry_for(lead_id, 1, "created", None, d.state, now, None, d.effects)], d.state
    for kind, props in STEPS[: 2 + i % 4]:
        now += timedelta(hours=3)
        event = LeadEvent(event_id=f"{i}-{kind}", kind=EventKind(kind), occurred_at=now, properties=props)
        d = decide(PB, state, event, now)
        seq = len(entries) + 1
        entries.append(entry_for(lead_id, seq, "decision", state, d.state, now, event, d.effects))
        state = d.state
    return entries


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=300)
    parser.add_argument("--url")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'ledger.db'}"
    engine = make_engine(url)
    migrate(engine)
    writer = LedgerWriter(engine)
    entries = [e for i in range(args.leads) for e in lead_entries(i)]

    start = time.perf_counter()
    facts = sum(writer.write([e]) for e in entries)
    first = time.perf_counter() - start
    start = time.perf_counter()
    again = sum(writer.write([e]) for e in entries)
    retry = time.perf_counter() - start
    start = time.perf_counter()
    since, until = T0 - timedelta(days=1), T0 + timedelta(days=30)
    loaded = period_facts(engine, since, until)
    report = compute_report(loaded, ReportFilters(since=since, until=until))
    reading = time.perf_counter() - start

    print(f"ledger bench on {engine.dialect.name}: {args.leads} leads, {len(entries)} entries, {facts} facts")
    print(f"  write, one entry a batch: {len(entries) / first:8.0f} entries/s ({first:.2f} s)")
    print(f"  rewrite (retries):        {len(entries) / retry:8.0f} entries/s ({retry:.2f} s, {again} new)")
    print(f"  load + report:            {reading * 1000:8.0f} ms for {len(loaded)} facts, "
          f"{report.leads} leads")
    engine.dispose()


if __name__ == "__main__":
    main()
