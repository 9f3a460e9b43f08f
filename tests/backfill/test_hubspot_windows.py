"""HubSpot search stops at 10,000 results per query: a larger range is read in time windows."""

from __future__ import annotations

from datetime import timedelta

from activities.backfill_paging import read_page
from tests.support.backfill_helpers import epoch, seed_hubspot
from workflows.backfill_models import BackfillCursor

N = 10_300


def test_more_than_ten_thousand_matching_contacts_are_all_read(stack):
    start, step = epoch(2025, 3, 1), timedelta(milliseconds=10)
    _, emails = seed_hubspot(stack, N, start, step, mql_every=0)
    until = start + step * N
    hubspot = stack.connectors()("hubspot", "demo_led")
    assert hubspot.count_changed(start, until) == N  # one query could not page through them all

    searches = stack.hubspot.count("POST /crm/v3/objects/contacts/search")
    cursor: BackfillCursor | None = BackfillCursor(window_start=start, window_end=until)
    read: list[str] = []
    windows = set()
    while cursor is not None:
        page, cursor_after = read_page(hubspot, "hubspot", cursor, until)
        read += [r.email for r in page.records]
        windows.add(cursor.window_start)
        cursor = cursor_after

    assert sorted(read) == sorted(emails)  # every contact once: no gap, no overlap
    assert len(windows) >= 2
    assert stack.hubspot.statuses[400] == 0 and stack.hubspot.statuses[429] == 0
    # 200 a page plus a count per window: close to the minimum number of search calls.
    used = stack.hubspot.count("POST /crm/v3/objects/contacts/search") - searches
    assert used <= N / 200 + 2 * len(windows) + 4
