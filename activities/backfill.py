"""Backfill and reconcile: read a CRM's changed records and bring the lead workflows in step.

Per page of records: deduplicate by normalised email, read each lead workflow's stage
(describe, bounded concurrency), then
- a new lead: its stage fields go to the other vendors in one batch per vendor
  (connector.upsert_leads, 100/200 records a request), then the lead starts in the stage found
  in the CRM with `synced` naming the vendors that already hold it, so it writes nothing itself;
- a lead in another stage: a `crm_stage_changed` event (signal-with-start); the lead applies
  the playbook's conflict policy (adopt the CRM's stage, or write its own back);
- a deleted or merged record: the lead closes as on the webhook path (LeadClient.delete/merge);
- a lead already in that stage: nothing, which is what makes a second run change nothing.

The next page is read and described while one is applied (nothing is written until its turn);
a person on both pages is described again once the first has been applied.

The activity heartbeats its cursor; a retry after a worker crash resumes from the last page
it had not finished. Redoing part of a page is harmless: leads started before the crash are
found in their stage and left alone, and vendor upserts are idempotent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.backfill_paging import read_page
from activities.batcher import Batcher
from activities.vendor_call import vendor_call
from config.playbook import Playbook
from config.playbook_loader import PlaybookError, stock_playbook
from connectors.base import ChangedRecord, Connector, LeadSnapshot, SyncResult
from connectors.stage_fields import stage_in_crm
from lifecycle.engine import new_lead
from lifecycle.events import EventKind, LeadEvent, lead_workflow_id, normalize_email
from lifecycle.field_sync import lead_values
from lifecycle.reasons import reason_in_crm
from workflows import search_attributes as sa
from workflows.backfill_models import (
    BACKFILL_PAGES,
    MAX_FAILURES,
    BackfillCursor,
    PagesInput,
    PagesResult,
    Tally,
)
from workflows.lead import LeadWorkflow
from workflows.lead_client import LeadClient
from workflows.lead_models import LeadConfig, LeadInput
from workflows.vendor_snapshot import snapshot

HEARTBEAT_EVERY_S = 2.0
ConnectorFactory = Callable[[str, str], Connector]
# (vendor, playbook name) -> the batched write path of that vendor (activities/batcher.py).
Writes = Callable[[str, str], Batcher[LeadSnapshot, SyncResult]]
# emails -> those that were forgotten (GDPR erasure): never imported or written to a vendor again
Forgotten = Callable[[list[str]], Awaitable[set[str]]]


@dataclass
class Found:
    """One record of a page, after deduplication, with what it asks for."""

    email: str
    record: ChangedRecord
    stage: str
    # False: the record names no stage (or an ambiguous one): a new lead starts in the playbook's
    # first stage, a running lead keeps its own.
    shown: bool = True
    lead_stage: str | None = None  # the running lead's stage; None when there is no lead
    closed: bool = False  # a lead workflow existed and has ended (deleted, merged)
    fields: dict[str, str] | None = None  # the playbook's lead fields the record carries

    def values(self) -> dict[str, str]:
        """The record's non-blank lead fields: what a new lead starts with."""
        return {k: v for k, v in (self.fields or {}).items() if v}


@dataclass
class Page:
    """A page read and described, not yet applied; `cursor` is where the next one starts."""

    found: list[Found]
    cursor: BackfillCursor | None
    tally: Tally


class BackfillActivities:
    def __init__(self, client: Client, task_queue: str, vendors: list[str],
                 connectors: ConnectorFactory, writes: Writes,
                 forgotten: Forgotten | None = None,
                 config: Callable[[str], LeadConfig] | None = None) -> None:
        self._client = client
        self._task_queue = task_queue
        self._vendors = list(vendors)
        self._connectors = connectors
        self._writes = writes  # the vendor write path lead syncs use (SyncActivities.upserts)
        self._forgotten = forgotten
        # perf (issue 16): the lead_config answer, handed to each lead it starts (LeadInput.config)
        self._config = config

    @activity.defn(name=BACKFILL_PAGES)
    async def backfill_pages(self, inp: PagesInput) -> PagesResult:
        """Up to `max_pages` pages from the cursor, or from the last heartbeat after a crash."""
        try:
            playbook = stock_playbook(inp.playbook_name)
        except PlaybookError as exc:
            raise ApplicationError(str(exc), type="PlaybookError", non_retryable=True) from exc
        if inp.source not in self._vendors:
            if not inp.required:  # reconcile reads the CRMs this deployment has
                return PagesResult(cursor=None, tally=Tally())
            raise ApplicationError(f"{inp.source} is not configured on this worker (vendors: "
                                   f"{', '.join(self._vendors) or 'none'})", type="NotConfigured",
                                   non_retryable=True)
        done = _resumed(inp)
        checkpoint = [done]
        beat = asyncio.create_task(_heartbeat(lambda: checkpoint[0]))
        ahead: asyncio.Task[Page] | None = None
        try:
            previous: set[str] = set()
            for n in range(inp.max_pages):
                if done.cursor is None:
                    break
                page = await (ahead or self._read(inp, playbook, done.cursor))
                # perf (issue 16): the next page is read and described while this one is
                # applied, so the describes no longer wait for the starts and writes before them.
                ahead = None
                if page.cursor is not None and n + 1 < inp.max_pages:
                    ahead = asyncio.create_task(self._read(inp, playbook, page.cursor))
                tally = await self._apply_page(page, previous, inp, playbook)
                done = PagesResult(cursor=page.cursor, tally=done.tally.add(tally))
                previous = {f.email for f in page.found}
                checkpoint[0] = done
                activity.heartbeat(done.model_dump(mode="json"))
        finally:
            beat.cancel()
            if ahead is not None:  # a failure or a cancellation: the page read ahead goes
                ahead.cancel()
                await asyncio.gather(ahead, return_exceptions=True)
        return done

    async def _read(self, inp: PagesInput, pb: Playbook, cursor: BackfillCursor) -> Page:
        """One page from `cursor`, deduplicated, each lead's workflow described: nothing written."""
        source = self._connectors(inp.source, inp.playbook_name)
        page, next_cursor = await vendor_call(read_page, source, inp.source, cursor,
                                            inp.modified_before)
        tally = Tally(pages=1, seen=len(page.records))
        found = _deduplicate(page.records, inp.source, pb, tally)
        if self._forgotten is not None and found:
            gone = await self._forgotten([f.email for f in found])
            if gone:  # a CRM still holds people leadflow erased: leave them alone, unnamed
                found = [f for f in found if f.email not in gone]
                tally.unchanged += len(gone)
                _note(tally, f"{len(gone)} forgotten people skipped")
        await self._describe(found, inp.concurrency)
        return Page(found=found, cursor=next_cursor, tally=tally)

    async def _apply_page(self, page: Page, previous: set[str], inp: PagesInput,
                          pb: Playbook) -> Tally:
        """`previous`: the emails of the page applied before, which this one was read beside."""
        again = [f for f in page.found if f.email in previous]
        if again:  # described before the page before had started its leads: look again
            await self._describe(again, inp.concurrency)
        tally = page.tally
        for chunk in _chunks(page.found, inp.page_size):
            tally = tally.add(await self._apply(chunk, page.found, inp, pb))
        return tally

    async def _describe(self, found: list[Found], concurrency: int) -> None:
        gate = asyncio.Semaphore(concurrency)

        async def one(f: Found) -> None:
            async with gate:
                try:
                    desc = await self._client.get_workflow_handle(lead_workflow_id(f.email)).describe()
                except RPCError as err:
                    if err.status != RPCStatusCode.NOT_FOUND:
                        raise
                    return
            stage = desc.typed_search_attributes.get(sa.LEAD_STAGE) or ""
            if desc.status != WorkflowExecutionStatus.RUNNING or stage.startswith(sa.CLOSED_PREFIX):
                f.closed = True  # a closed lead (or its tombstone, issue 13) stays closed
            else:
                f.lead_stage = stage

        await asyncio.gather(*(one(f) for f in found))

    async def _apply(self, chunk: list[Found], page: list[Found], inp: PagesInput,
                     pb: Playbook) -> Tally:
        tally = Tally()
        closing = [f for f in chunk if f.record.deleted or f.record.merged_into]
        new = [f for f in chunk if f not in closing and f.lead_stage is None and not f.closed]
        moved = [f for f in chunk if f not in closing and f.shown
                 and f.lead_stage not in (None, "", f.stage)]
        # Started moments ago, before its first step showed its stage: the event is harmless
        # there (an echo of what it was started with, or a duplicate id), and not drift.
        pending = [f for f in chunk if f not in closing and f.shown and f.lead_stage == ""]
        tally.pending = len(pending)
        tally.unchanged = len(chunk) - len(new) - len(moved) - len(pending) - len(
            [f for f in closing if f.lead_stage is not None])
        if inp.dry_run:
            tally.created, tally.updated = len(new), len(moved)
            tally.deleted = sum(1 for f in closing if f.lead_stage is not None
                                and not f.record.merged_into)
            tally.merged = sum(1 for f in closing if f.lead_stage is not None
                               and f.record.merged_into)
            return tally
        synced, written = await self._write_vendors(new, inp, pb, tally)
        leads = LeadClient(self._client, self._task_queue, inp.playbook_name)
        ids = {f.record.record_id: f.email for f in page}
        gate = asyncio.Semaphore(inp.concurrency)
        jobs: list[Awaitable[None]] = []
        jobs += [self._guard(gate, tally, f, "created", self._start(f, synced[f.email], inp, pb))
                 for f in new]
        jobs += [self._guard(gate, tally, f, "updated", leads.send_event(f.email, _crm_event(pb, f, inp)))
                 for f in moved]
        jobs += [self._guard(gate, tally, f, "", leads.send_event(f.email, _crm_event(pb, f, inp)))
                 for f in pending]
        # Firmographics a rep changed reach running leads too; each field's rule decides there,
        # and a value the lead already has is no news (nothing recorded, nothing written).
        jobs += [self._guard(gate, tally, f, "", leads.send_event(f.email, _fields_event(f, inp)))
                 for f in chunk if f not in closing and f.lead_stage is not None and f.fields]
        for f in closing:
            if f.lead_stage is None:
                continue
            survivor = ids.get(f.record.merged_into or "")
            if survivor and survivor != f.email:
                jobs.append(self._guard(gate, tally, f, "merged",
                                        leads.merge(f.email, survivor, actor=inp.actor)))
            else:
                reason = (f"merged into {inp.source} record {f.record.merged_into}"
                          if f.record.merged_into else f"deleted in {inp.source}")
                jobs.append(self._guard(gate, tally, f, "deleted",
                                        leads.delete(f.email, reason, actor=inp.actor)))
        await asyncio.gather(*jobs)
        tally.vendor_calls += written
        return tally

    async def _write_vendors(self, new: list[Found], inp: PagesInput, pb: Playbook,
                             tally: Tally) -> tuple[dict[str, dict[str, str]], int]:
        """Every new lead written to each other vendor through the same batched write path as
        lead syncs (so batches fill with both); who holds which stage."""
        synced: dict[str, dict[str, str]] = {f.email: {str(inp.source): f.stage} for f in new}
        targets = [v for v in self._vendors if v != inp.source]
        if not new or not targets:
            return synced, 0
        now = datetime.now(UTC)

        async def write(vendor: str) -> None:
            writes = self._writes(vendor, inp.playbook_name)
            snaps = [_snapshot(pb, f, now, vendor) for f in new]  # each by its vendor's names
            results = await asyncio.gather(*(writes.submit(s) for s in snaps),
                                           return_exceptions=True)
            # A whole request that failed: those leads will sync that vendor themselves.
            failed = [r for r in results if isinstance(r, Exception)]
            if failed:
                _note(tally, f"{vendor}: {failed[0]}")
            for f, result in zip(new, results, strict=True):
                if isinstance(result, BaseException):
                    continue
                if result.ok:
                    synced[f.email][vendor] = f.stage
                else:
                    _note(tally, f"{vendor} refused {f.email}: {result.message}")

        await asyncio.gather(*(write(v) for v in targets))
        return synced, len(targets)

    async def _start(self, f: Found, synced: dict[str, str], inp: PagesInput, pb: Playbook) -> None:
        lead = LeadInput(email=f.email, playbook_name=inp.playbook_name, initial_stage=f.stage,
                         synced=synced, fields=f.values(),
                         config=self._lead_config(inp.playbook_name))
        try:
            # perf (issue 16): this activity runs in a worker of the lead queue on the same client,
            # so the server may hand the lead's first workflow task back in the start's answer,
            # with no trip through matching ("Eager Workflow Start", docs.temporal.io/design-
            # patterns/eager-workflow-start); without a free slot it is dispatched as usual.
            # bench/backfill.py --n 2000, interleaved: 60.7 and 63.0 leads/s end to end against
            # 54.0 and 57.9, each lead in its stage when the backfill reports done.
            await self._client.start_workflow(LeadWorkflow.run, lead, id=lead_workflow_id(f.email),
                                              task_queue=self._task_queue, request_eager_start=True)
        except WorkflowAlreadyStartedError:  # started since we looked: an update after all
            leads = LeadClient(self._client, self._task_queue, inp.playbook_name)
            await leads.send_event(f.email, _crm_event(pb, f, inp))

    def _lead_config(self, playbook_name: str) -> LeadConfig | None:
        if self._config is None:
            return None
        try:
            return self._config(playbook_name)
        except PlaybookError:  # the lead asks lead_config itself, and fails with the reason
            return None

    @staticmethod
    async def _guard(gate: asyncio.Semaphore, tally: Tally, f: Found, outcome: str,
                     call: Awaitable[Any]) -> None:
        async with gate:
            try:
                await call
            except (RPCError, WorkflowAlreadyStartedError) as exc:
                tally.failed += 1
                _note(tally, f"{f.email}: {outcome or 'event'} failed: {exc}")
                return
        if outcome:
            setattr(tally, outcome, getattr(tally, outcome) + 1)


def _resumed(inp: PagesInput) -> PagesResult:
    details = activity.info().heartbeat_details
    if details:
        activity.logger.info("resuming backfill from its last heartbeat")
        return PagesResult.model_validate(details[0])
    return PagesResult(cursor=inp.cursor, tally=Tally())


async def _heartbeat(checkpoint: Callable[[], PagesResult]) -> None:
    """Keeps heartbeating the last finished page while a long page is in progress."""
    while True:
        await asyncio.sleep(HEARTBEAT_EVERY_S)
        activity.heartbeat(checkpoint().model_dump(mode="json"))


def _deduplicate(records: list[ChangedRecord], source: str, pb: Playbook,
                 tally: Tally) -> list[Found]:
    """The latest record per normalised email; records without a valid email fail."""
    by_email: dict[str, Found] = {}
    for record in records:
        try:
            email = normalize_email(record.email)
        except ValueError:
            tally.failed += 1
            _note(tally, f"{source} record {record.record_id}: no valid email ({record.email!r})")
            continue
        stage = stage_in_crm(pb, source, record.stage_value, record.properties)
        known = by_email.get(email)
        if known is None or record.modified_at >= known.record.modified_at:
            by_email[email] = Found(email=email, record=record, stage=stage or pb.initial_stage,
                                    shown=stage is not None,
                                    fields=lead_values(pb, source, record.properties))
    return list(by_email.values())


def _snapshot(pb: Playbook, f: Found, now: datetime, vendor: str) -> LeadSnapshot:
    """What the lead itself would write to `vendor` on its first sync (field-sync-v1: with its
    firmographics), so it later sees nothing to do."""
    state = new_lead(pb, f.email, now, f.values(), imported_stage=f.stage).state
    return snapshot(state, vendor, None, pb, fields=True)


def _fields_event(f: Found, inp: PagesInput) -> LeadEvent:
    stamp = f.record.modified_at.astimezone(UTC).isoformat()
    return LeadEvent(event_id=f"{inp.source}:{f.record.record_id}:{stamp}:fields",
                     kind=EventKind.CRM_FIELDS_CHANGED, occurred_at=f.record.modified_at,
                     actor=inp.actor, properties={"system": inp.source, **(f.fields or {})})


def _crm_event(pb: Playbook, f: Found, inp: PagesInput) -> LeadEvent:
    # The id names the record version: reading it again (a retry, an overlapping window) is a no-op.
    stamp = f.record.modified_at.astimezone(UTC).isoformat()
    props = {"system": inp.source, "stage": f.stage}
    reason = reason_in_crm(pb, inp.source, f.stage, f.record.properties)
    if reason:  # a rep's disqualification or loss reason comes along
        props["reason"] = reason
    return LeadEvent(event_id=f"{inp.source}:{f.record.record_id}:{stamp}",
                     kind=EventKind.CRM_STAGE_CHANGED, occurred_at=f.record.modified_at,
                     actor=inp.actor, properties=props)


def _chunks(items: list[Found], size: int) -> Iterator[list[Found]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _note(tally: Tally, message: str) -> None:
    tally.failures = [*tally.failures, message][-MAX_FAILURES:]

