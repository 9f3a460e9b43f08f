"""Reading a CRM's changed records page by page, from a cursor that survives a worker crash.

HubSpot search stops at 10,000 results per query, so a HubSpot range is read as consecutive
half-open time windows, each halved until it holds at most 10,000 contacts. Salesforce reads
the whole range with one SOQL query and follows `nextRecordsUrl`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from config.vendors import Vendor
from connectors.base import ChangedPage, Connector
from workflows.backfill_models import BackfillCursor

HUBSPOT_SEARCH_CAP = 10_000
SMALLEST_WINDOW = timedelta(milliseconds=2)


def narrow_window(connector: Any, cursor: BackfillCursor, cap: int = HUBSPOT_SEARCH_CAP) -> BackfillCursor:
    """Halve a fresh HubSpot window until it matches at most `cap` contacts."""
    end = cursor.window_end
    while (end - cursor.window_start > SMALLEST_WINDOW
           and connector.count_changed(cursor.window_start, end) > cap):
        end = cursor.window_start + (end - cursor.window_start) / 2
    return cursor.model_copy(update={"window_end": end})


def read_page(connector: Connector, source: str, cursor: BackfillCursor,
              until: datetime) -> tuple[ChangedPage, BackfillCursor | None]:
    """One page at `cursor`, and the cursor of the page after it (None once `until` is reached)."""
    if source == Vendor.HUBSPOT and cursor.after is None:
        cursor = narrow_window(connector, cursor)
    page = connector.changed_since(cursor.window_start, cursor.window_end, cursor.after)
    if page.next_cursor:
        return page, cursor.model_copy(update={"after": page.next_cursor})
    if cursor.window_end < until:
        return page, BackfillCursor(window_start=cursor.window_end, window_end=until)
    return page, None
