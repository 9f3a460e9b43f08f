"""The Temporal Schedules leadflow runs: continuous reconcile, every LEADFLOW_RECONCILE_EVERY.

`apply_schedules` is idempotent: it creates the schedule, or updates it in place when it
exists (the interval or playbook changed), keeping its id, so the UI's history and any
running backfill of the schedule stay put.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from config.durations import parse_duration
from config.settings import Settings
from workflows.backfill_models import ReconcileInput


def reconcile_schedule_id(settings: Settings) -> str:
    return f"{settings.task_queue}-reconcile"


def reconcile_interval(settings: Settings) -> timedelta:
    every = parse_duration(settings.reconcile_every)
    if not isinstance(every, timedelta) or every <= timedelta(0):
        raise ValueError(f"LEADFLOW_RECONCILE_EVERY: expected a duration like 5m or 30s, "
                         f"got {settings.reconcile_every!r}")
    return every


def reconcile_lag(settings: Settings) -> timedelta:
    lag = parse_duration(settings.reconcile_lag)
    if not isinstance(lag, timedelta) or lag < timedelta(0):
        raise ValueError(f"LEADFLOW_RECONCILE_LAG: expected a duration like 1m or 0s, "
                         f"got {settings.reconcile_lag!r}")
    return lag


def reconcile_schedule(settings: Settings) -> Schedule:
    every = reconcile_interval(settings)
    action = ScheduleActionStartWorkflow(
        "ReconcileWorkflow",
        ReconcileInput(window_seconds=int(every.total_seconds()), playbook_name=settings.playbook,
                       lag_seconds=int(reconcile_lag(settings).total_seconds())),
        id=f"{settings.task_queue}-reconcile-run", task_queue=settings.task_queue)
    # Runs queue rather than skip: each one owns its window, and a backfill of the schedule
    # must run every slot of the range, one after another.
    return Schedule(action=action, spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
                    policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.BUFFER_ALL))


async def apply_schedules(client: Client, settings: Settings) -> None:
    """Create or update leadflow's schedules so they match the settings."""
    schedule = reconcile_schedule(settings)
    try:
        await client.create_schedule(reconcile_schedule_id(settings), schedule)
    except ScheduleAlreadyRunningError:
        handle = client.get_schedule_handle(reconcile_schedule_id(settings))

        def replace(current: ScheduleUpdateInput) -> ScheduleUpdate:
            schedule.state = current.description.schedule.state  # keep a pause an operator set
            return ScheduleUpdate(schedule=schedule)

        await handle.update(replace)
