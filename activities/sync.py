"""Activities that make a lead's decisions land in the vendors, one vendor per task queue.

Each vendor's activities run on their own task queue (`vendor_queue`) so one queue-wide
rate limit is that vendor's shared budget. Vendor validation errors become non-retryable
failures naming record, field and code; transient ones are retried by Temporal.
"""

from __future__ import annotations

from collections.abc import Callable

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.vendor_call import vendor_call
from config.metrics import VENDOR_SYNCS
from config.vendors import Vendor
from connectors.base import Connector, SyncResult
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


class SyncActivities:
    def __init__(self, connectors: ConnectorFactory) -> None:
        self._connectors = connectors

    @activity.defn(name=SYNC_LEAD)
    async def sync_lead(self, inp: SyncLeadInput) -> SyncResult:
        connector = self._connectors(inp.vendor, inp.playbook)
        try:
            results = await vendor_call(connector.upsert_leads, [inp.snapshot])
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
        connector = self._connectors(inp.vendor, inp.playbook)
        return await vendor_call(connector.create_task, inp.task)


def _count_sync(vendor: str, outcome: str) -> None:
    activity.metric_meter().create_counter(VENDOR_SYNCS, "lead syncs to a vendor").add(
        1, {"vendor": vendor, "outcome": outcome})

