"""BackfillWorkflow: (re)load leads from a CRM, started from the Temporal UI or `leadflow backfill`.

The workflow only walks the cursor: each `backfill_pages` activity reads and applies a few
pages (and heartbeats its cursor, so a crashed worker's successor resumes mid-way). After
`pages_per_run` pages it continues as new, carrying the cursor and the tally, so its history
stays bounded however large the CRM is. Progress is the `progress` query and the Backfill*
search attributes.
"""

from __future__ import annotations

from datetime import timedelta

import pydantic
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows import search_attributes as sa
    from workflows.backfill_models import (
        BACKFILL_PAGES,
        BackfillCursor,
        BackfillInput,
        BackfillResult,
        PagesInput,
        PagesResult,
        Tally,
    )

PAGES_PER_ACTIVITY = 5
# Retried until the vendor is back; bad input or configuration fails at once.
PAGES_RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=2),
                          non_retryable_error_types=["PlaybookError", "NotConfigured"])


class BackfillProgress(pydantic.BaseModel):
    source: str
    dry_run: bool
    done: bool
    cursor: BackfillCursor | None
    tally: Tally


async def read_pages(inp: PagesInput) -> PagesResult:
    """Runs one `backfill_pages` activity; a failure that will not go away ends the workflow."""
    try:
        result: PagesResult = await workflow.execute_activity(
            BACKFILL_PAGES, inp, result_type=PagesResult,
            start_to_close_timeout=timedelta(hours=1), heartbeat_timeout=timedelta(seconds=10),
            retry_policy=PAGES_RETRY)
    except ActivityError as err:
        cause = err.cause.message if isinstance(err.cause, ApplicationError) else str(err.cause or err)
        raise ApplicationError(f"{inp.source} backfill stopped at {inp.cursor.model_dump_json()}: "
                               f"{cause}", type="BackfillFailed", non_retryable=True) from err
    return result


@workflow.defn(name="BackfillWorkflow", failure_exception_types=[pydantic.ValidationError])
class BackfillWorkflow:
    @workflow.init
    def __init__(self, inp: BackfillInput) -> None:
        self._inp = inp
        self._tally = inp.tally
        self._cursor = inp.cursor
        self._done = False

    @workflow.run
    async def run(self, inp: BackfillInput) -> BackfillResult:
        until = inp.modified_before or workflow.now()  # fixed once, carried by continue-as-new
        cursor: BackfillCursor | None = inp.cursor or BackfillCursor(
            window_start=inp.modified_after, window_end=until)
        self._cursor = cursor
        pages = 0
        while cursor is not None:
            if pages >= inp.pages_per_run:
                workflow.continue_as_new(inp.model_copy(update={
                    "modified_before": until, "cursor": cursor, "tally": self._tally}))
            result = await read_pages(PagesInput(
                source=inp.source, playbook_name=inp.playbook_name, modified_before=until,
                cursor=cursor, page_size=inp.page_size, concurrency=inp.concurrency,
                max_pages=min(PAGES_PER_ACTIVITY, inp.pages_per_run - pages), dry_run=inp.dry_run,
                actor=f"backfill:{workflow.info().workflow_id}"))
            pages += max(1, result.tally.pages)
            self._tally = self._tally.add(result.tally)
            cursor = self._cursor = result.cursor
            self._publish()
        self._done = True
        self._publish()
        return BackfillResult(source=inp.source, dry_run=inp.dry_run, tally=self._tally)

    @workflow.query(name="progress")
    def progress(self) -> BackfillProgress:
        return BackfillProgress(source=self._inp.source, dry_run=self._inp.dry_run, done=self._done,
                                cursor=self._cursor, tally=self._tally)

    def _publish(self) -> None:
        state = "done" if self._done else "running"
        line = f"{'dry run ' if self._inp.dry_run else ''}{state}: {self._tally.line()}"
        workflow.upsert_search_attributes([
            sa.BACKFILL_SEEN.value_set(self._tally.seen),
            sa.BACKFILL_FAILED.value_set(self._tally.failed),
            sa.BACKFILL_PROGRESS.value_set(line),
        ])
