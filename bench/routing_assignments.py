"""How fast one team router hands out owners: N concurrent update-with-start assignments
against a local Temporal dev server, with leadflow's real worker.

    .venv/bin/python bench/routing_assignments.py --leads 500 --concurrency 100

Prints assignments per second, latency percentiles, the split and how many runs the router
used (it continues as new on the way). One router serializes its team's assignments, so this
is the ceiling for a single team; teams scale independently.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

from config.routing import Member, Team  # noqa: E402
from leadflow.stack import DEV_SERVER_TUNING, temporal_binary  # noqa: E402
from worker import running_workers  # noqa: E402
from workflows import search_attributes as sa  # noqa: E402
from workflows.team_client import TeamClient, team_workflow_id  # noqa: E402
from workflows.team_models import AssignRequest  # noqa: E402


def _no_connectors(vendor: str, playbook: str):  # type: ignore[no-untyped-def]
    raise RuntimeError("no vendors in this benchmark")


async def run(leads: int, concurrency: int) -> None:
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter, dev_server_existing_path=temporal_binary(),
        search_attributes=sa.REGISTERED_KEYS, dev_server_extra_args=DEV_SERVER_TUNING)
    queue = f"bench-{uuid.uuid4().hex[:6]}"
    team = Team(name="bench", members=[Member(email="a@x.io", weight=2), Member(email="b@x.io"),
                                       Member(email="c@x.io")])
    teams = TeamClient(env.client, queue, "demo_led")
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    owners: Counter[str] = Counter()

    async def one(i: int) -> None:
        async with gate:
            started = time.perf_counter()
            result = await teams.assign(team, AssignRequest(request_id=f"r{i}", lead_id=f"lead:{i}"))
            latencies.append(time.perf_counter() - started)
            owners[result.owner.email if result.owner else "-"] += 1

    with ThreadPoolExecutor(max_workers=4) as executor:
        async with running_workers(env.client, queue, [], _no_connectors, executor):
            await one(-1)  # start the router before the clock runs
            began = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(leads)))
            elapsed = time.perf_counter() - began
            runs = [w async for w in env.client.list_workflows(
                f"WorkflowId = '{team_workflow_id(team.name, queue)}'")]
    cuts = statistics.quantiles(latencies, n=100)
    print(f"routing_assignments: {leads} assignments, concurrency {concurrency}")
    print(f"  throughput  {leads / elapsed:8.1f} assignments/s  ({elapsed:.2f} s)")
    print(f"  latency     p50 {cuts[49] * 1000:.0f} ms  p95 {cuts[94] * 1000:.0f} ms  "
          f"max {max(latencies) * 1000:.0f} ms")
    print(f"  split       {dict(sorted(owners.items()))}")
    print(f"  router runs {len(runs)} (continue-as-new on the way)")
    await env.shutdown()
    del env
    gc.collect()
    await asyncio.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(run(args.leads, args.concurrency))


if __name__ == "__main__":
    main()
