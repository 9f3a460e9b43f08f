"""What deciding a flood of queued events costs a lead, per event: the work a workflow task does.

    .venv/bin/python bench/decide_flood.py [events]

Decides `events` (default 3,000) distinct pricing visits on one demo_led lead, as a workflow
task working off a redelivery flood does, with the 200 score items and the growing 72-hour
dedup window such a lead carries, and prints the time per event as the lead grows: `decide`
plus the ledger entry the workflow makes of each decision. A workflow task decides at most
EVENTS_PER_TASK of them (workflows/lead.py), inside the SDK's 2 s deadlock detector.
Pure Python, no Temporal (the workflow sandbox adds to these figures).
"""

from __future__ import annotations

import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

from config.playbook_loader import stock_playbook
from lifecycle.engine import decide, new_lead
from lifecycle.events import EventKind, LeadEvent
from lifecycle.ledger_entry import entry_for
from workflows.lead import EVENTS_PER_TASK

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def main(events: int) -> None:
    pb = stock_playbook("demo_led")
    state = new_lead(pb, "ada@acme.io", NOW).state
    step = max(events // 6, 1)
    print(f"{'events':>7} {'per event':>10} {'seen ids':>9} {'score items':>12}")
    started = mark = time.perf_counter()
    for i in range(1, events + 1):
        event = LeadEvent(event_id=uuid.uuid4().hex, kind=EventKind.PRICING_VISIT,
                          occurred_at=NOW, properties={"utm_source": "ads"})
        before, now = state, NOW + timedelta(seconds=i)
        state = decide(pb, state, event, now).state
        entry_for("lead:ada@acme.io", i, "decision", before, state, now, event)
        if i % step == 0:
            spent = time.perf_counter() - mark
            print(f"{i:>7} {spent / step * 1000:>8.2f}ms {len(state.seen):>9} "
                  f"{len(state.score_items):>12}")
            mark = time.perf_counter()
    total = time.perf_counter() - started
    print(f"{events} events in {total:.2f}s; a task of {EVENTS_PER_TASK} takes about "
          f"{total / events * EVENTS_PER_TASK:.2f}s of this")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3_000)
