"""`leadflow backfill` and `leadflow schedules apply` from a shell, against the dev server."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.support.backfill_helpers import epoch, seed_hubspot, window
from tests.support.lead_harness import running_worker
from tests.support.vendor_stack import VENDORS

LEADFLOW = str(Path(sys.prefix) / "bin" / "leadflow")


async def leadflow(dev_env, task_queue: str, *args: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADFLOW_")}
    env |= {"LEADFLOW_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
            "LEADFLOW_TASK_QUEUE": task_queue, "COLUMNS": "120"}
    process = await asyncio.create_subprocess_exec(
        LEADFLOW, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode()


async def test_backfill_command_runs_the_workflow_and_reports_the_tally(dev_env, stack):
    start = epoch(2025, 11, 1)
    seed_hubspot(stack, 20, start)
    span = window(start, 20)
    async with running_worker(dev_env.client, VENDORS, stack.connectors()) as h:
        code, out = await leadflow(dev_env, h.task_queue, "backfill", "--source", "hubspot",
                                   "--modified-after", span["modified_after"],
                                   "--modified-before", span["modified_before"], "--dry-run")
        assert code == 0, out
        assert "dry run, nothing written: pages=1 seen=20 created=20" in out

        code, out = await leadflow(dev_env, h.task_queue, "schedules", "apply")
        assert code == 0, out
        assert f"schedule {h.task_queue}-reconcile: ReconcileWorkflow every 0:05:00" in out
        await dev_env.client.get_schedule_handle(f"{h.task_queue}-reconcile").delete()


async def test_backfill_command_refuses_bad_input_before_starting_anything(dev_env):
    code, out = await leadflow(dev_env, "unused", "backfill", "--source", "pipedrive",
                               "--modified-after", "2026-01-01")
    assert code == 2
    assert "Input should be 'hubspot' or 'salesforce'" in out
