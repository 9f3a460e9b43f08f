"""Activities that make a lead's decisions land in the vendors, one vendor per task queue.

Each vendor's activities run on their own task queue (`vendor_queue`). Concurrent `sync_lead`
activities of one vendor and playbook share one batch call through a `Batcher`
(activities/batcher.py); each still answers for its own record only. A `sync_lead` may carry the
lead's owner tasks: once its record is written they go, batched across leads, to the record id
the upsert answered (no lookup), each keyed so that a retried activity finds it made. Vendor
validation errors become non-retryable failures naming record, field and code; transient ones
are retried by Temporal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.batcher import BUDGETED_SPACING_S, Batcher, window_for
from activities.vendor_call import vendor_call
from config.metrics import VENDOR_SYNCS
from config.vendors import Vendor
from connectors.base import AccountSnapshot, Connector, LeadSnapshot, OwnerTask, SyncResult
from workflows.account_models import SYNC_ACCOUNT, SyncAccountInput
from workflows.lead_models import (
    CREATE_OWNER_TASK,
    EMIT_ANALYTICS,
    SYNC_LEAD,
    OwnerTaskInput,
    SyncLeadInput,
    TrackInput,
)

# (vendor, playbook name) -> connector; connectors carry the playbook's field mapping.
ConnectorFactory = Callable[[str, str], Connector]
# Records a vendor takes in one write request (Segment's client splits into 500 KB uploads itself).
BATCH_SIZE = {Vendor.HUBSPOT: 100, Vendor.SALESFORCE: 200, Vendor.SEGMENT: 500}
# Batch requests of one vendor and playbook on the wire at once (HubSpot's pacer keeps the budget).
IN_FLIGHT = 2
# Owner tasks are not part of the stage a person sees change: a vendor written sparingly gets
# their batches a third as often as the upserts' (HubSpot: one task request every 3 s at most).
TASK_SPACING = 3  # times BUDGETED_SPACING_S
# (vendor, record id, email): the key store learns which lead a vendor's record is (privacy/)
RememberRecord = Callable[[str, str, str], Awaitable[None]]


class SyncActivities:
    def __init__(self, connectors: ConnectorFactory, remember: RememberRecord | None = None) -> None:
        self._connectors = connectors
        self._remember = remember
        # (connector method, vendor, playbook) -> its write path
        self._paths: dict[tuple[str, str, str], Batcher[Any, SyncResult]] = {}

    def upserts(self, vendor: str, playbook: str) -> Batcher[LeadSnapshot, SyncResult]:
        """The one write path of (vendor, playbook): lead syncs and backfills share it."""
        return self._path("upsert_leads", vendor, playbook, lambda lead: lead.email.strip().lower(),
                          spacing=1)

    def tasks(self, vendor: str, playbook: str) -> Batcher[OwnerTask, SyncResult]:
        """Owner tasks on records whose id the lead knows, batched like the upserts."""
        return self._path("create_tasks", vendor, playbook,
                          lambda task: f"{task.email.strip().lower()}:{task.subject}",
                          spacing=TASK_SPACING)

    def accounts(self, vendor: str, playbook: str) -> Batcher[AccountSnapshot, SyncResult]:
        """Accounts' companies / Accounts, batched across accounts like the leads."""
        return self._path("upsert_accounts", vendor, playbook, lambda account: account.domain,
                          spacing=0)

    def _path(self, method: str, vendor: str, playbook: str, key: Callable[[Any], str],
              spacing: float) -> Batcher[Any, SyncResult]:
        """The batcher of the connector's batch `method` for (vendor, playbook): the vendor's
        batch size, a window that follows its budget, and `spacing` times BUDGETED_SPACING_S
        between requests for a vendor whose request budget the whole account shares."""
        batcher = self._paths.get((method, vendor, playbook))
        if batcher is None:
            connector = self._connectors(vendor, playbook)
            budget = getattr(connector, "budget_left", None)
            batcher = self._paths[(method, vendor, playbook)] = Batcher(
                getattr(connector, method), key=key, size=BATCH_SIZE.get(vendor, 100),
                window=lambda: window_for(budget() if budget else None), in_flight=IN_FLIGHT,
                spacing=spacing * BUDGETED_SPACING_S if budget else 0.0)
        return batcher

    @activity.defn(name=SYNC_ACCOUNT)
    async def sync_account(self, inp: SyncAccountInput) -> SyncResult:
        result = await self.accounts(inp.vendor, inp.playbook).submit(inp.snapshot)
        if not result.ok:
            raise ApplicationError(f"{inp.vendor} refused account {inp.snapshot.domain}: "
                                   f"{result.message}", result.vendor_code, type="VendorRecordError",
                                   non_retryable=not result.retryable)
        return result

    @activity.defn(name=SYNC_LEAD)
    async def sync_lead(self, inp: SyncLeadInput) -> SyncResult:
        try:
            result = await self.upserts(inp.vendor, inp.playbook).submit(inp.snapshot)
        except Exception:
            _count_sync(inp.vendor, "error")
            raise
        _count_sync(inp.vendor, "ok" if result.ok else "rejected")
        if not result.ok:
            raise ApplicationError(
                f"{inp.vendor} refused {result.email}: {result.message}",
                result.vendor_code, type="VendorRecordError", non_retryable=not result.retryable,
            )
        if self._remember is not None and result.record_id:
            await self._remember(inp.vendor, result.record_id, inp.snapshot.email)
        if inp.tasks:
            result.failed_tasks = await self._owner_tasks(inp, result.record_id)
        return result

    async def _owner_tasks(self, inp: SyncLeadInput, record_id: str | None) -> dict[str, str]:
        """The record's owner tasks, once it is written, batched across leads. A task the vendor
        refuses for good is answered (the lead keeps it for resync); a transient failure fails
        the activity, whose retry finds the tasks already made by their keys."""
        tasks = [t.model_copy(update={"record_id": record_id}) for t in inp.tasks]
        made = await asyncio.gather(*(self._owner_task(inp.vendor, inp.playbook, t) for t in tasks),
                                    return_exceptions=True)
        failed: dict[str, str] = {}
        for task, outcome in zip(tasks, made, strict=True):
            if isinstance(outcome, ApplicationError) and outcome.non_retryable:
                failed[task.key or task.subject] = str(outcome)
            elif isinstance(outcome, BaseException):
                raise outcome
        return failed

    @activity.defn(name=EMIT_ANALYTICS)
    async def emit_analytics(self, inp: TrackInput) -> SyncResult:
        connector = self._connectors(Vendor.SEGMENT, "")
        result: SyncResult = await vendor_call(connector.track, inp.email, inp.event,  # type: ignore[attr-defined]
                                         inp.properties, inp.event_id)
        if not result.ok:
            raise ApplicationError(f"segment refused {inp.event} for {inp.email}: {result.message}",
                                   result.vendor_code, non_retryable=not result.retryable)
        return result

    @activity.defn(name=CREATE_OWNER_TASK)
    async def create_owner_task(self, inp: OwnerTaskInput) -> str:
        return await self._owner_task(inp.vendor, inp.playbook, inp.task)

    async def _owner_task(self, vendor: str, playbook: str, task: OwnerTask) -> str:
        # A lead that has not learnt its record's id, or a retry (an earlier attempt may have
        # made the task): the single path, which finds the record and checks the task's key.
        if task.record_id is None or activity.info().attempt > 1:
            connector = self._connectors(vendor, playbook)
            return await vendor_call(connector.create_task, task)
        result = await self.tasks(vendor, playbook).submit(task)
        if not result.ok:
            raise ApplicationError(f"{vendor} refused a task for {result.email}: {result.message}",
                                   result.vendor_code, type="VendorRecordError",
                                   non_retryable=not result.retryable)
        return str(result.record_id)


def _count_sync(vendor: str, outcome: str) -> None:
    activity.metric_meter().create_counter(VENDOR_SYNCS, "lead syncs to a vendor").add(
        1, {"vendor": vendor, "outcome": outcome})

