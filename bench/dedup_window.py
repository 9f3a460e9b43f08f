"""What the 72-hour deduplication window costs a lead: state size and time per event.

    .venv/bin/python bench/dedup_window.py

For 1,000 and 10,000 remembered event ids (uuid4 hex, as ingest and LeadClient send), prints
the window's size in the lead's JSON state (what continue-as-new carries and the `state` query
returns) next to the list of ids kept before, and the time to look an id up and to remember
one more (what `decide` does for every event). Pure Python, no Temporal.
"""

from __future__ import annotations

import json
import timeit
import uuid
from datetime import UTC, datetime

from lifecycle.dedup import SeenEvents
from lifecycle.state import LeadState

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def main() -> None:
    print(f"{'ids':>7} {'window JSON':>12} {'old list JSON':>14} {'lookup':>9} {'remember':>9}"
          f" {'whole state':>12}")
    for n in (1_000, 10_000):
        ids = [uuid.uuid4().hex for _ in range(n)]
        seen = SeenEvents.of(ids, NOW)
        window = len(json.dumps(seen.model_dump(mode="json")))
        old_list = len(json.dumps(ids))
        runs = 200
        lookup = timeit.timeit(lambda s=seen, i=ids: i[0] in s, number=runs) / runs
        remember = timeit.timeit(lambda s=seen: s.remember("one-more", NOW), number=runs) / runs
        state = LeadState(email="ada@acme.io", playbook="demo_led", stage="MQL",
                          entered_stage_at=NOW, seen=seen)
        whole = len(state.model_dump_json())
        print(f"{n:>7} {window / 1024:>9.1f} KB {old_list / 1024:>11.1f} KB "
              f"{lookup * 1e6:>6.0f} µs {remember * 1e6:>6.0f} µs {whole / 1024:>9.1f} KB")


if __name__ == "__main__":
    main()
