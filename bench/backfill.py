"""Backfill benchmark: N HubSpot contacts (emulated) through to lead workflows, Salesforce and Segment.

    .venv/bin/python bench/backfill.py --n 3000 --timeout 170

Starts its own Temporal dev server, the three vendor emulators (rate limits on) and leadflow's
workers in this process, seeds N contacts, runs one BackfillWorkflow and prints:
leads/s (backfill done, and every lead workflow running in its stage), vendor API calls per
lead, and the ratio to the ceiling the emulated rate limits allow (HubSpot search: 5 requests/s
of 200 contacts; the other vendors are written 100-200 leads a call and are not the bound).
Stops at --timeout and reports how far it got. Then, on the same dev server, it starts the
same number of trivial workflows (set one search attribute, wait: the least a lead can cost the
server) and prints the backfill's end-to-end rate as a share of theirs.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from temporalio import workflow  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402
from temporalio.worker import UnsandboxedWorkflowRunner, Worker  # noqa: E402

from config.settings import Settings  # noqa: E402
from emulators.run_all import env_for, run_all, stop_all  # noqa: E402
from leadflow.heap import limit_malloc_arenas  # noqa: E402
from leadflow.stack import DEV_SERVER_TUNING, temporal_binary  # noqa: E402
from worker import configured_vendors, connector_factory, running_workers  # noqa: E402
from workflows import search_attributes as sa  # noqa: E402
from workflows.backfill import BackfillProgress, BackfillWorkflow  # noqa: E402
from workflows.backfill_models import BackfillInput  # noqa: E402


@workflow.defn(name="BenchTrivialLead", sandboxed=False)
class TrivialLead:
    """The least a lead can cost: one search attribute set, then a wait."""

    @workflow.run
    async def run(self) -> None:
        workflow.upsert_search_attributes([sa.LEAD_STAGE.value_set("New Lead")])
        await workflow.wait_condition(lambda: False)


async def trivial_rate(client: Client, n: int, concurrency: int, timeout: float) -> float:
    """Trivial workflows started per second, counted once their search attribute is visible."""
    task_queue = f"trivial-{uuid.uuid4().hex[:6]}"
    gate = asyncio.Semaphore(concurrency)
    worker = Worker(client, task_queue=task_queue, workflows=[TrivialLead],
                    workflow_runner=UnsandboxedWorkflowRunner())
    query = (f"WorkflowType = 'BenchTrivialLead' AND TaskQueue = '{task_queue}' "
             "AND LeadStage IS NOT NULL")

    async def start(i: int) -> None:
        async with gate:
            await client.start_workflow(TrivialLead.run, id=f"{task_queue}-{i}", task_queue=task_queue)

    async with worker:
        began = time.monotonic()
        await asyncio.gather(*(start(i) for i in range(n)))
        while (await client.count_workflows(query)).count < n and time.monotonic() - began < timeout:
            await asyncio.sleep(0.5)
        elapsed = time.monotonic() - began
        seen = (await client.count_workflows(query)).count
        for i in range(n):
            await client.get_workflow_handle(f"{task_queue}-{i}").terminate("bench done")
    return seen / elapsed


SEARCH_PER_SECOND = 5.0  # HubSpot's search limit, which the connector paces to
SEARCH_PAGE = 200


def vendor_calls(running: dict) -> dict[str, int]:  # type: ignore[type-arg]
    return {"hubspot": running["hubspot"].state.total_calls(),
            "salesforce": sum(running["salesforce"].state.calls.values()),
            "segment": sum(running["segment"].state.calls.values())}


async def calls_settle(running: dict, quiet: float = 3.0, timeout: float = 60.0) -> None:  # type: ignore[type-arg]
    """Until no vendor call was made for `quiet` seconds: with accounts, each lead's report to its
    account is synced after the lead is in its stage, and its calls count per lead too."""
    last, began = vendor_calls(running), time.monotonic()
    changed = began
    while time.monotonic() - changed < quiet and time.monotonic() - began < timeout:
        await asyncio.sleep(0.5)
        if (now := vendor_calls(running)) != last:
            last, changed = now, time.monotonic()


async def settled(client: Client, task_queue: str) -> int:
    query = f"WorkflowType = 'LeadWorkflow' AND TaskQueue = '{task_queue}' AND LeadStage IS NOT NULL"
    return (await client.count_workflows(query)).count


async def bench(n: int, timeout: float, concurrency: int, accounts: bool = False) -> None:
    running = run_all(True, True, True)
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter, search_attributes=sa.REGISTERED_KEYS,
        dev_server_existing_path=temporal_binary(),
        dev_server_extra_args=DEV_SERVER_TUNING)
    try:
        settings = Settings(_env_file=None, **env_for(running))  # type: ignore[call-arg]
        connectors = connector_factory(settings)
        connectors("hubspot", "demo_led").provision()
        start = datetime(2025, 1, 1, tzinfo=UTC)
        running["hubspot"].state.seed_contacts(n, start, timedelta(seconds=1), prefix="bench")
        task_queue = f"bench-{uuid.uuid4().hex[:6]}"
        before = vendor_calls(running)
        with ThreadPoolExecutor(max_workers=16) as executor:
            async with running_workers(env.client, task_queue, configured_vendors(settings),
                                       connectors, executor, accounts=accounts):
                end_to_end = await run_one(env.client, task_queue, running, before, n, start, timeout,
                                           concurrency, accounts)
        trivial = await trivial_rate(env.client, n, concurrency, timeout)
        print(f"  trivial workflows  {trivial:.1f}/s on the same dev server (one search attribute, "
              f"then wait); backfill end to end / trivial = {end_to_end / trivial:.0%}")
    finally:
        await env.shutdown()
        stop_all(running)


async def run_one(client: Client, task_queue: str, running: dict, before: dict[str, int],  # type: ignore[type-arg]
                  n: int, start: datetime, timeout: float, concurrency: int, accounts: bool) -> float:
    inp = BackfillInput(source="hubspot", modified_after=start,
                        modified_before=start + timedelta(seconds=n), concurrency=concurrency)
    began = time.monotonic()
    handle = await client.start_workflow(BackfillWorkflow.run, inp, id=f"bench-{task_queue}",
                                         task_queue=task_queue)
    done_at = None
    progress = None
    while time.monotonic() - began < timeout:
        progress = await handle.query(BackfillWorkflow.progress)
        if progress.done and done_at is None:
            done_at = time.monotonic() - began
        if done_at is not None and await settled(client, task_queue) >= n:
            break
        await asyncio.sleep(0.5)
    elapsed = time.monotonic() - began
    running_leads = await settled(client, task_queue)
    if accounts:
        await calls_settle(running)
    calls = {k: v - before[k] for k, v in vendor_calls(running).items()}
    report(n, progress, done_at, elapsed, running_leads, calls, running)
    return running_leads / elapsed


def report(n: int, progress: BackfillProgress | None, done_at: float | None, elapsed: float,  # type: ignore[type-arg]
           running_leads: int, calls: dict[str, int], running: dict) -> None:
    tally = progress.tally if progress else None
    processed = tally.created + tally.unchanged + tally.updated if tally else 0
    ceiling = SEARCH_PER_SECOND * SEARCH_PAGE  # leads/s the HubSpot search limit allows
    total_calls = sum(calls.values())
    print(f"backfill benchmark: N={n}")
    print(f"  backfill workflow  {'done' if done_at else 'NOT done'} in "
          f"{done_at or elapsed:.1f}s: {processed} leads -> {processed / (done_at or elapsed):.1f} leads/s")
    print(f"  lead workflows     {running_leads} running in their stage after {elapsed:.1f}s -> "
          f"{running_leads / elapsed:.1f} leads/s end to end")
    print(f"  vendor API calls   {calls} = {total_calls / max(processed, 1):.4f} per lead "
          f"(HubSpot {calls['hubspot'] / max(processed, 1):.4f}, "
          f"Salesforce {calls['salesforce'] / max(processed, 1):.4f}, "
          f"Segment {calls['segment'] / max(processed, 1):.4f})")
    print(f"  ceiling            {ceiling:.0f} leads/s (HubSpot search {SEARCH_PER_SECOND:.0f}/s x "
          f"{SEARCH_PAGE}); ratio backfill {processed / (done_at or elapsed) / ceiling:.3f}, "
          f"end to end {running_leads / elapsed / ceiling:.3f}")
    print(f"  limits respected   HubSpot 429s: {running['hubspot'].state.statuses[429]}, "
          f"Salesforce API usage {running['salesforce'].state.api_usage}/"
          f"{running['salesforce'].state.daily_limit} a day")
    if tally and tally.failures:
        print(f"  failures           {tally.failures[:5]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--timeout", type=float, default=170.0, help="seconds before giving up")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--accounts", action="store_true",
                        help="leads report to their accounts (LEADFLOW_ACCOUNTS, the worker's default)")
    args = parser.parse_args()
    limit_malloc_arenas()  # as `leadflow up` and `leadflow worker` do

    async def run() -> None:
        await bench(args.n, args.timeout, args.concurrency, args.accounts)
        gc.collect()
        await asyncio.sleep(0.1)

    asyncio.run(run())


if __name__ == "__main__":
    main()
