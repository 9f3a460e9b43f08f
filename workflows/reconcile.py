"""ReconcileWorkflow: what changed in the CRMs in one time window, brought in step with the leads.

A Temporal Schedule (leadflow/schedules.py) starts it every few minutes. Each run handles
exactly the window ending at its scheduled time (`TemporalScheduledStartTime`), so a run is a
pure function of its window and the schedule's Backfill (UI button or `temporal schedule
backfill`) re-syncs any past range. Drift is repaired by the playbook's conflict policy: the
lead gets a `crm_stage_changed` event and either adopts the CRM's stage or writes its own back.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pydantic
from temporalio import workflow
from temporalio.common import SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from workflows import search_attributes as sa
    from workflows.backfill import read_pages
    from workflows.backfill_models import (
        BackfillCursor,
        PagesInput,
        ReconcileInput,
        ReconcileResult,
        Tally,
    )

SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
PAGES_PER_ACTIVITY = 20


def window_end(inp: ReconcileInput) -> datetime:
    """The input's pinned end, else the schedule slot this run was started for, else now."""
    return inp.window_end or workflow.info().typed_search_attributes.get(SCHEDULED_START) \
        or workflow.now()


@workflow.defn(name="ReconcileWorkflow", failure_exception_types=[pydantic.ValidationError])
class ReconcileWorkflow:
    @workflow.run
    async def run(self, inp: ReconcileInput) -> ReconcileResult:
        end = window_end(inp)
        start = end - timedelta(seconds=inp.window_seconds + inp.lag_seconds)
        by_system: dict[str, Tally] = {}
        for system in inp.systems:
            by_system[system] = await self._reconcile(system, start, end, inp.playbook_name)
        total = Tally()
        for tally in by_system.values():
            total = total.add(tally)
        repaired = total.created + total.updated + total.deleted + total.merged
        result = ReconcileResult(window_start=start, window_end=end, drift_found=repaired + total.failed,
                                 drift_repaired=repaired, by_system=by_system)
        workflow.upsert_search_attributes([sa.BACKFILL_PROGRESS.value_set(
            f"reconcile {start.isoformat()}..{end.isoformat()}: drift found={result.drift_found} "
            f"repaired={result.drift_repaired} (checked {total.seen})")])
        return result

    async def _reconcile(self, system: str, start: datetime, end: datetime, playbook: str) -> Tally:
        cursor: BackfillCursor | None = BackfillCursor(window_start=start, window_end=end)
        tally = Tally()
        while cursor is not None:
            page = await read_pages(PagesInput(
                source=system, playbook_name=playbook, modified_before=end,  # type: ignore[arg-type]
                cursor=cursor, max_pages=PAGES_PER_ACTIVITY, required=False,
                actor=f"reconcile:{workflow.info().workflow_id}"))
            tally, cursor = tally.add(page.tally), page.cursor
        return tally
