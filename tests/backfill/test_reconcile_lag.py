"""HubSpot's CRM search finds a change some seconds after it is written. A change made just
before a reconcile window closes is missed by that window; the next window reads back by the
lag margin (LEADFLOW_RECONCILE_LAG) and repairs it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from tests.support.lead_harness import running_worker, unique_email, until
from tests.support.vendor_stack import VENDORS
from workflows.backfill_models import ReconcileInput, ReconcileResult

INDEX_DELAY_S = 2.0


async def reconcile(client, task_queue: str, end: datetime, lag_seconds: int) -> ReconcileResult:  # type: ignore[no-untyped-def]
    return await client.execute_workflow(
        "ReconcileWorkflow", ReconcileInput(window_seconds=300, window_end=end, systems=["hubspot"],
                                            lag_seconds=lag_seconds),
        id=f"reconcile-lag-{uuid.uuid4().hex[:8]}", task_queue=task_queue,
        result_type=ReconcileResult)


async def test_a_change_hidden_by_search_lag_is_repaired_by_the_next_window(dev_env, stack):
    client = dev_env.client
    stack.hubspot.search_index_delay_s = INDEX_DELAY_S
    try:
        async with running_worker(client, VENDORS, stack.connectors()) as h:
            email = unique_email("lag")
            await h.start_lead(email)
            await until(lambda: stack.hubspot_contact(email).get("lead_stage") == "New Lead")
            await asyncio.sleep(INDEX_DELAY_S)
            # A rep moves the contact a moment before the window closes.
            with stack.hubspot.lock:
                record = stack.hubspot.store.find("contacts", email, "email")
                stack.hubspot.store.update(record, {"lifecyclestage": "salesqualifiedlead",
                                                    "lead_stage": "SQL"})
            closes = datetime.now(UTC) + timedelta(milliseconds=500)
            await asyncio.sleep(0.5)

            first = await reconcile(client, h.task_queue, closes, lag_seconds=0)
            assert first.drift_found == 0  # the index has not caught up with the change yet
            await asyncio.sleep(INDEX_DELAY_S)
            following = closes + timedelta(seconds=300)
            without_margin = await reconcile(client, h.task_queue, following, lag_seconds=0)
            assert without_margin.drift_found == 0  # back-to-back windows: missed for good

            with_margin = await reconcile(client, h.task_queue, following, lag_seconds=10)
            assert with_margin.window_start == closes - timedelta(seconds=10)
            assert with_margin.drift_repaired >= 1
            # leadflow's stage wins by the playbook's conflict policy and is written back.
            await until(lambda: stack.hubspot_contact(email).get("lead_stage") == "New Lead")
    finally:
        stack.hubspot.search_index_delay_s = 0.0
