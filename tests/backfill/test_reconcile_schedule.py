"""Continuous reconcile: the schedule is applied idempotently, and `temporal schedule backfill`
over a past range runs one reconcile per slot that repairs drift planted in an emulator."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import Client, ScheduleIntervalSpec
from temporalio.common import SearchAttributeKey

from config.settings import Settings
from leadflow.schedules import apply_schedules, reconcile_schedule_id
from tests.support.backfill_helpers import record_history
from tests.support.lead_harness import running_worker, unique_email, until
from tests.support.vendor_stack import VENDORS
from workflows.backfill_models import ReconcileResult

TEMPORAL = str(Path(sys.prefix) / "bin" / "temporal")
SCHEDULED = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
EVERY = 10


def settings_for(task_queue: str, every: str) -> Settings:
    return Settings(_env_file=None, LEADFLOW_TASK_QUEUE=task_queue,  # type: ignore[call-arg]
                    LEADFLOW_RECONCILE_EVERY=every)


async def interval_of(client: Client, schedule_id: str) -> timedelta:
    spec = (await client.get_schedule_handle(schedule_id).describe()).schedule.spec
    assert len(spec.intervals) == 1 and isinstance(spec.intervals[0], ScheduleIntervalSpec)
    return spec.intervals[0].every


async def test_apply_schedules_creates_once_and_updates_in_place(dev_env):
    client, queue = dev_env.client, f"sched-{unique_email()[5:13]}"
    await apply_schedules(client, settings_for(queue, "5m"))
    await apply_schedules(client, settings_for(queue, "5m"))
    schedule_id = reconcile_schedule_id(settings_for(queue, "5m"))
    assert await interval_of(client, schedule_id) == timedelta(minutes=5)
    await apply_schedules(client, settings_for(queue, "2m"))
    assert await interval_of(client, schedule_id) == timedelta(minutes=2)
    ids = [s.id async for s in await client.list_schedules()]
    assert ids.count(schedule_id) == 1
    await client.get_schedule_handle(schedule_id).delete()


async def test_schedule_backfill_runs_one_reconcile_per_slot_and_repairs_drift(dev_env, stack):
    client = dev_env.client
    async with running_worker(client, VENDORS, stack.connectors()) as h:
        email = unique_email("drift")
        await h.start_lead(email)
        await until(lambda: stack.salesforce_lead(email).get("Lead_Stage__c") == "New Lead")
        # A rep jumps the lead to SQL in Salesforce, skipping the confirmation the playbook needs.
        stack.salesforce.rep_set_status(stack.salesforce_lead(email)["Id"], "Working",
                                        Lead_Stage__c="SQL")
        planted = datetime.now(UTC)
        slot = _next_slot(planted + timedelta(seconds=1))
        await asyncio.sleep((slot - datetime.now(UTC)).total_seconds() + 0.5)

        settings = settings_for(h.task_queue, f"{EVERY}s")
        await apply_schedules(client, settings)
        schedule_id = reconcile_schedule_id(settings)
        first, end = slot - timedelta(seconds=3 * EVERY), slot + timedelta(seconds=1)
        cli = subprocess.run(
            [TEMPORAL, "schedule", "backfill", "--schedule-id", schedule_id,
             "--start-time", _iso(first), "--end-time", _iso(end), "--overlap-policy", "BufferAll",
             "--address", client.service_client.config.target_host, "--namespace", client.namespace],
            capture_output=True, text=True, timeout=30)
        assert cli.returncode == 0, cli.stderr

        query = (f"WorkflowType = 'ReconcileWorkflow' AND TaskQueue = '{h.task_queue}' AND "
                 f"TemporalScheduledStartTime < '{_iso(end)}' AND ExecutionStatus = 'Completed'")
        # The range [first, slot + 1s) holds four slots: first, first + 10s, ..., slot.
        await until(lambda: _at_least(client, query, 4), timeout=60)
        runs = [w async for w in client.list_workflows(query)]
        await client.get_schedule_handle(schedule_id).delete()

        slots = sorted(w.typed_search_attributes.get(SCHEDULED) for w in runs)
        assert slots == [first + timedelta(seconds=EVERY * i) for i in range(4)]  # one run per slot
        results = {w.id: await client.get_workflow_handle(w.id, result_type=ReconcileResult).result()
                   for w in runs}
        covering = [r for r in results.values() if r.window_start <= planted < r.window_end]
        assert len(covering) == 1 and covering[0].drift_repaired >= 1, results
        assert all(r.window_end - r.window_start == timedelta(seconds=EVERY) for r in results.values())
        # leadflow wins by the playbook's conflict policy: its stage is written back.
        await until(lambda: stack.salesforce_lead(email).get("Lead_Stage__c") == "New Lead")
        assert stack.salesforce_lead(email)["Status"] == "New"
        repairing = next(i for i, r in results.items() if r is covering[0])
        await record_history(client.get_workflow_handle(repairing))


def _next_slot(after: datetime) -> datetime:
    seconds = (int(after.timestamp()) // EVERY + 1) * EVERY
    return datetime.fromtimestamp(seconds, UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


async def _at_least(client: Client, query: str, count: int) -> bool:
    return (await client.count_workflows(query)).count >= count
