"""Activities that make a lead's decisions land in the vendors, one vendor per task queue.

Each vendor's activities run on their own task queue (`vendor_queue`) so one queue-wide
rate limit is that vendor's shared budget. Vendor validation errors become non-retryable
failures naming record, field and code; transient ones are retried by Temporal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from connectors.base import Connector, LeadSnapshot, OwnerTask, SyncResult, VendorError
from leadflow.metrics import VENDOR_SYNCS

VENDORS = ("hubspot", "salesforce", "segment")
TASK_VENDORS = ("hubspot", "salesforce")  # the systems where owners work their tasks


def vendor_queue(task_queue: str, vendor: str) -> str:
    return f"{task_queue}-{vendor}"


class SyncLeadInput(BaseModel):
    vendor: str
    playbook: str
    snapshot: LeadSnapshot


class OwnerTaskInput(BaseModel):
    vendor: str
    playbook: str
    task: OwnerTask


class TrackInput(BaseModel):
    email: str
    event: str
    properties: dict[str, str]
    event_id: str  # stable across activity retries, so Segment deduplicates


# (vendor, playbook name) -> connector; connectors carry the playbook's field mapping.
ConnectorFactory = Callable[[str, str], Connector]


class SyncActivities:
    def __init__(self, connectors: ConnectorFactory) -> None:
        self._connectors = connectors

    @activity.defn(name="sync_lead")
    async def sync_lead(self, inp: SyncLeadInput) -> SyncResult:
        connector = self._connectors(inp.vendor, inp.playbook)
        try:
            results = await _call(connector.upsert_leads, [inp.snapshot])
        except Exception:
            _count_sync(inp.vendor, "error")
            raise
        result = results[0]
        _count_sync(inp.vendor, "ok" if result.ok else "rejected")
        if not result.ok:
            raise ApplicationError(
                f"{inp.vendor} refused {result.email}: {result.message}",
                result.vendor_code, type="VendorRecordError", non_retryable=not result.retryable,
            )
        return result

    @activity.defn(name="emit_analytics")
    async def emit_analytics(self, inp: TrackInput) -> SyncResult:
        connector = self._connectors("segment", "")
        result: SyncResult = await _call(connector.track, inp.email, inp.event,  # type: ignore[attr-defined]
                                         inp.properties, inp.event_id)
        if not result.ok:
            raise ApplicationError(f"segment refused {inp.event} for {inp.email}: {result.message}",
                                   result.vendor_code, non_retryable=not result.retryable)
        return result

    @activity.defn(name="create_owner_task")
    async def create_owner_task(self, inp: OwnerTaskInput) -> str:
        connector = self._connectors(inp.vendor, inp.playbook)
        return await _call(connector.create_task, inp.task)


def _count_sync(vendor: str, outcome: str) -> None:
    activity.metric_meter().create_counter(VENDOR_SYNCS, "lead syncs to a vendor").add(
        1, {"vendor": vendor, "outcome": outcome})


async def _call(fn, *args):  # type: ignore[no-untyped-def]
    """Runs a blocking vendor client call off the event loop, translating vendor errors."""
    try:
        return await asyncio.to_thread(fn, *args)
    except VendorError as exc:
        # A vendor that says when to come back (a daily limit's next probe) is retried then,
        # not after the retry policy's backoff, which by then may have grown to minutes.
        wait = timedelta(seconds=exc.retry_after) if exc.retry_after else None
        raise ApplicationError(str(exc), exc.code, type="VendorError",
                               non_retryable=not exc.retryable, next_retry_delay=wait) from exc

