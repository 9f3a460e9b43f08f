"""Ingest latency: new leads at fixed rates through POST /v1/events, timed from the request
until the new stage is visible in all three emulated vendors (HubSpot, Salesforce, Segment).

    .venv/bin/python bench/ingest_latency.py --rate 20 --seconds 60    # --rate 2 first, same run

Everything runs on loopback: the `temporal` dev server, the emulators (HubSpot at its Starter
limit, 100 requests / 10 s), leadflow's workers and the ingest service under uvicorn. Each
rate gets its own task queue on the same server. For each rate it prints p50/p95/p99 of the
202 answer and of the end-to-end visibility, HubSpot requests per new MQL (upserts and owner
tasks together), HubSpot 429s, leads lost (never visible everywhere), Temporal history events
per new MQL (each lead workflow's history length, once its owner tasks are made), and workflow
tasks and activities by name per new MQL (every tenth lead's history). After each rate, the same
rate through a skeleton of a lead's Temporal calls with no-op activities (the 'lead' and 'lanes'
floors below): what this machine's Temporal alone makes of that rate.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from config.settings import Settings
from emulators.run_all import env_for, run_all, stop_all
from ingest.server import serving
from leadflow.heap import limit_malloc_arenas
from leadflow.stack import DEV_SERVER_TUNING, temporal_binary
from lifecycle.events import lead_workflow_id
from worker import connector_factory, running_workers
from workflows import search_attributes as sa

VENDORS = ["hubspot", "salesforce", "segment"]
TOKEN = "bench-token"
STAGE = "MQL"  # demo_led: "Demo Requested" moves a new lead to MQL


# The Temporal floor, run after each rate on the same dev server: what the server and an SDK worker
# alone make of a new MQL's shape at that rate, with no vendor, no ingest HTTP and no lead logic.
# A skeleton workflow is started with its first signal (as ingest starts a lead) and makes the
# same Temporal calls, in the same order, as a new lead of the demo_led playbook that ingest starts
# with its workers' published config and that becomes an MQL (tests/replay/histories/
# config_a_worker_serving_another_version_leaves_the_lead_to_ask_1): in its first task a patch
# marker and two upserts, Segment's sync beside the owner's routing (an activity on the lead's
# queue) and two timers (one more and the routing hold); then an upsert, the HubSpot and Salesforce
# syncs, each on its own vendor queue, the hold cancelled and a third timer. It ends once they
# answer (a lead would wait on for its timers). Every
# activity returns at once. `lanes` is the least any design that keeps a queue per vendor can
# cost: one upsert and the three vendor activities side by side.
SHAPES = ("lead", "lanes")
TIMEOUT = timedelta(seconds=120)


@activity.defn(name="bench_noop")
async def noop(step: str) -> str:
    return step


@workflow.defn(name="BenchLeadShape", sandboxed=False)
class LeadShape:
    def __init__(self) -> None:
        self._events = 0

    @workflow.signal(name="event")
    def event(self, _: str) -> None:
        self._events += 1

    @workflow.run
    async def run(self, shape: str) -> None:
        await workflow.wait_condition(lambda: self._events > 0)
        queue = workflow.info().task_queue

        def lane(vendor: str) -> asyncio.Future[str]:
            return workflow.start_activity(noop, vendor, task_queue=f"{queue}-{vendor}",
                                           start_to_close_timeout=TIMEOUT)

        if shape == "lanes":
            workflow.upsert_search_attributes([sa.LEAD_STAGE.value_set("MQL")])
            await asyncio.gather(*(lane(v) for v in VENDORS))
            return
        workflow.patched("bench-bundle")  # the lead's bundled-patches marker (and its upsert)
        workflow.upsert_search_attributes([sa.LEAD_STAGE.value_set("MQL")])
        segment = lane("segment")
        routing = workflow.start_activity(noop, "assign_owner", start_to_close_timeout=TIMEOUT)
        timers = [asyncio.create_task(workflow.sleep(3600.0))]  # kept: pending until the run ends
        routing_hold = asyncio.create_task(workflow.sleep(2.0))  # at most ROUTE_WAIT
        await routing
        workflow.upsert_search_attributes([sa.LEAD_STAGE.value_set("MQL owned")])
        crms = [lane("hubspot"), lane("salesforce")]
        routing_hold.cancel()
        timers.append(asyncio.create_task(workflow.sleep(7200.0)))
        await asyncio.gather(segment, *crms)


async def paced(rate: float, n: int, start_one: Callable[[int], Coroutine[Any, Any, None]]) -> None:
    """Start `n` at `rate` a second, each on time whatever the earlier ones take; wait for all."""
    start, started = time.perf_counter(), list[asyncio.Task[None]]()
    for i in range(n):
        await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
        started.append(asyncio.create_task(start_one(i)))
    await asyncio.gather(*started)


async def drive_shape(client: Client, shape: str, rate: float, seconds: float) -> list[float]:
    """Start `rate` skeletons a second for `seconds`; each one's seconds from start to done."""
    queue = f"shape-{shape}-{uuid.uuid4().hex[:6]}"
    workers = [Worker(client, task_queue=queue, workflows=[LeadShape], activities=[noop])]
    workers += [Worker(client, task_queue=f"{queue}-{v}", activities=[noop]) for v in VENDORS]
    running = [asyncio.create_task(w.run()) for w in workers]
    took: list[float] = []

    async def one(i: int) -> None:
        began = time.perf_counter()
        handle = await client.start_workflow(LeadShape.run, shape, id=f"{queue}-{i}", task_queue=queue,
                                             start_signal="event", start_signal_args=["Demo Requested"])
        await handle.result()
        took.append(time.perf_counter() - began)

    try:
        await paced(rate, max(1, round(rate * seconds)), one)
    finally:
        await asyncio.gather(*(w.shutdown() for w in workers))
        await asyncio.gather(*running, return_exceptions=True)
    return took


def cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far by this process (workers, ingest, emulators, watcher) and by its
    children (the `temporal` dev server), from /proc: where a rate's cost goes on this machine."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {"leadflow": 0.0, "temporal": 0.0}
    me = os.getpid()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(stat.parent.name), int(fields[1])
        if pid == me or ppid == me:
            used["leadflow" if pid == me else "temporal"] += (int(fields[11]) + int(fields[12])) / tick
    return used


def cpu_since(before: dict[str, float]) -> dict[str, float]:
    return {k: v - before[k] for k, v in cpu_seconds().items()}


def print_cpu(name: str, cpu: dict[str, float], n: int, wall: float) -> None:
    print(f"{name:<34} " + ", ".join(f"{k} {v / n * 1000:.0f} ms" for k, v in cpu.items())
          + f" (cores busy: {sum(cpu.values()) / wall:.2f} of {os.cpu_count()} over {wall:.0f} s)")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


class StageWatcher:
    """Which leads show STAGE in all three emulators. It shares this process (and its GIL) with
    the workers it measures, so each look costs what is outstanding, not what the emulators hold:
    HubSpot and Salesforce are read for the emails looked for only, Segment from where the last
    look stopped (copying every Lead each 50 ms was half this process's time at 20/s, py-spy;
    copying every contact and identify call grew with the run as well)."""

    def __init__(self, running: dict) -> None:  # type: ignore[type-arg]
        self.running = running
        self.segment_seen = len(running["segment"].state.events)
        self.segment_staged: set[str] = set()

    def everywhere(self, emails: set[str]) -> set[str]:
        hubspot_state = self.running["hubspot"].state
        hubspot = {e for e in emails if (c := hubspot_state.contact(e)) is not None
                   and c.properties.get("lead_stage") == STAGE}
        salesforce = {r.get("Leadflow_Key__c") for r in self.running["salesforce"].state.select_where(
            "Lead", False, lambda rows: [r for r in rows if r.get("Leadflow_Key__c") in hubspot
                                         and r.get("Lead_Stage__c") == STAGE])}
        new = self.running["segment"].state.events_since(self.segment_seen)
        self.segment_seen += len(new)
        self.segment_staged |= {e.get("userId") for e in new if e.get("type") == "identify"
                                and e.get("traits", {}).get("lead_stage") == STAGE}
        return salesforce & self.segment_staged


async def drive(url: str, running: dict, leads: int, rate: float, timeout: float) -> dict:  # type: ignore[type-arg]
    sent: dict[str, float] = {}
    acked: list[float] = []
    seen: dict[str, float] = {}
    run = uuid.uuid4().hex[:6]
    tasks_before = task_counts(running)
    watcher = StageWatcher(running)

    async def send(http: httpx.AsyncClient, i: int) -> None:
        email = f"bench-{run}-{i}@acme.io"
        event = {"event_id": f"{run}-{i}", "email": email, "name": "Demo Requested",
                 "occurred_at": datetime.now(UTC).isoformat(), "properties": {"company_size": 300}}
        started = sent[email] = time.perf_counter()
        response = await http.post("/v1/events", json={"events": [event]},
                                   headers={"Authorization": f"Bearer {TOKEN}"})
        response.raise_for_status()
        acked.append(time.perf_counter() - started)

    async def watch() -> None:  # every 50 ms: the figures are good to about that
        deadline = time.perf_counter() + timeout
        while len(seen) < leads and time.perf_counter() < deadline:
            for email in watcher.everywhere({e for e in sent if e not in seen}):
                seen[email] = time.perf_counter() - sent[email]
            await asyncio.sleep(0.05)

    watching = asyncio.create_task(watch())
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        await paced(rate, leads, lambda i: send(http, i))
    await watching
    late = await landed_later(watcher, [e for e in sent if e not in seen], timeout)
    await owner_tasks_done(running, tasks_before, len(sent))
    return {"acked": acked, "visible": list(seen.values()), "missing": leads - len(seen),
            "emails": list(sent), "late": late}


async def landed_later(watcher: StageWatcher, missing: list[str], wait: float) -> int:
    """How many leads not visible everywhere within the timeout land within `wait` more seconds
    (late, not lost)."""
    deadline = time.perf_counter() + wait
    while missing and time.perf_counter() < deadline:
        visible = watcher.everywhere(set(missing))
        missing = [e for e in missing if e not in visible]
        await asyncio.sleep(0.5)
    return len(missing)


def task_counts(running: dict) -> tuple[int, int]:  # type: ignore[type-arg]
    return (len(running["hubspot"].state.records("tasks")),
            len(running["salesforce"].state.select("Task", False)))


async def owner_tasks_done(running: dict, before: tuple[int, int], leads: int,  # type: ignore[type-arg]
                           timeout: float = 30) -> None:
    """MQL notifies its SDR with a task in HubSpot and Salesforce: let those land before the
    workers stop (they are not part of the latency figure, but of the request count)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        hubspot, salesforce = task_counts(running)
        if hubspot - before[0] >= leads and salesforce - before[1] >= leads:
            return
        await asyncio.sleep(0.2)


def report(name: str, values: list[float]) -> None:
    if not values:
        print(f"{name:<34} no samples")
        return
    ms = [v * 1000 for v in values]
    print(f"{name:<34} n={len(ms):<4} p50={percentile(ms, 50):7.0f} ms  p95={percentile(ms, 95):7.0f} ms"
          f"  p99={percentile(ms, 99):7.0f} ms  mean={statistics.fmean(ms):7.0f} ms")


async def history_events(client, emails: list[str]) -> int:  # type: ignore[no-untyped-def]
    total = 0
    for email in emails:
        desc = await client.get_workflow_handle(lead_workflow_id(email)).describe()
        total += desc.raw_description.workflow_execution_info.history_length
    return total


async def task_breakdown(client, emails: list[str]) -> str:  # type: ignore[no-untyped-def]
    """Workflow tasks and activities per new MQL, from every tenth lead's history: what each MQL
    costs the server (a create_owner_task shows a lead whose routing outlasted ROUTE_WAIT)."""
    sample, tasks, activities = emails[::10], 0, Counter[str]()
    for email in sample:
        history = await client.get_workflow_handle(lead_workflow_id(email)).fetch_history()
        for event in history.events:
            tasks += event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
            if event.HasField("activity_task_scheduled_event_attributes"):
                activities[event.activity_task_scheduled_event_attributes.activity_type.name] += 1
    return f"{tasks / len(sample):.2f} workflow tasks; " + ", ".join(
        f"{name} {n / len(sample):.2f}" for name, n in activities.most_common()) + f" ({len(sample)} leads)"


async def one_rate(env, running: dict, rate: float, seconds: float, timeout: float) -> None:  # type: ignore[no-untyped-def,type-arg]
    settings = Settings(_env_file=None, **env_for(running),  # type: ignore[call-arg,arg-type]
                        LEADFLOW_TEMPORAL_ADDRESS=env.client.service_client.config.target_host,
                        LEADFLOW_TASK_QUEUE=f"bench-{uuid.uuid4().hex[:6]}",
                        LEADFLOW_PLAYBOOK="demo_led", LEADFLOW_INGEST_TOKEN=TOKEN,
                        LEADFLOW_INGEST_HOST="127.0.0.1")
    connectors = connector_factory(settings)
    connectors("hubspot", "demo_led").provision()
    hubspot = running["hubspot"].state
    leads = max(1, round(rate * seconds))
    calls, too_many = hubspot.total_calls(), hubspot.statuses[429]
    others_before = {v: dict(running[v].state.calls) for v in ("salesforce", "segment")}
    cpu_before, wall_before = cpu_seconds(), time.perf_counter()
    with ThreadPoolExecutor(max_workers=16) as executor:
        async with running_workers(env.client, settings.task_queue, VENDORS, connectors, executor):
            async with serving(settings, port=0) as url:
                result = await drive(url, running, leads, rate, timeout)
            events = await history_events(env.client, result["emails"])
    hubspot_calls = hubspot.total_calls() - calls
    wall = time.perf_counter() - wall_before
    cpu = cpu_since(cpu_before)
    breakdown = await task_breakdown(env.client, result["emails"])  # not in the CPU figure
    print(f"\ningest latency: {leads} new MQLs at {rate:g}/s through POST /v1/events "
          f"(dev server, 3 emulators, loopback)")
    report("request -> 202 (Temporal accepted)", result["acked"])
    report("request -> stage in all 3 vendors", result["visible"])
    print(f"{'HubSpot requests per new MQL':<34} {hubspot_calls / leads:.3f} ({hubspot_calls} requests, "
          f"upserts and owner tasks)")
    print(f"{'HubSpot 429s':<34} {hubspot.statuses[429] - too_many}")
    for vendor, before in others_before.items():
        after = dict(running[vendor].state.calls)
        made = {k: n - before.get(k, 0) for k, n in after.items() if n > before.get(k, 0)}
        print(f"{vendor.capitalize() + ' requests per new MQL':<34} {sum(made.values()) / leads:.3f} ("
              + ", ".join(f"{k} {n}" for k, n in sorted(made.items(), key=lambda kv: -kv[1])) + ")")
    print(f"{'not visible everywhere in time':<34} {result['missing']} within {timeout:.0f}s; "
          f"{result['missing'] - result['late']} of them within {timeout:.0f}s more, "
          f"{result['late']} never")
    print(f"{'Temporal history events per MQL':<34} {events / leads:.1f}")
    print(f"{'per MQL':<34} {breakdown}")
    print_cpu("CPU per MQL", cpu, leads, wall)


async def floor(client: Client, shape: str, rate: float, seconds: float) -> None:
    """The same rate through a skeleton of the lead's Temporal calls (LeadShape)."""
    cpu_before, wall = cpu_seconds(), time.perf_counter()
    took = await drive_shape(client, shape, rate, seconds)
    wall = time.perf_counter() - wall
    cpu = cpu_since(cpu_before)
    print(f"\nTemporal floor, '{shape}' shape: {len(took)} skeletons at {rate:g}/s, no-op activities")
    report("start -> done", took)
    print_cpu("CPU per skeleton", cpu, len(took), wall)


async def main(args: argparse.Namespace) -> None:
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter, search_attributes=sa.REGISTERED_KEYS,
        dev_server_existing_path=temporal_binary(),
        dev_server_extra_args=DEV_SERVER_TUNING)
    running = run_all(True, True, True)
    try:
        for rate in args.rate:
            await one_rate(env, running, rate, args.seconds, args.timeout)
            for shape in SHAPES:
                await floor(env.client, shape, rate, args.seconds)
    finally:
        stop_all(running)
        await env.shutdown()
        del env
        gc.collect()
        await asyncio.sleep(0.1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, nargs="+", default=[20.0],
                        help="new MQLs per second; each rate in turn (2 is always run, first)")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long each rate is driven")
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for the last lead")
    parsed = parser.parse_args()
    # Rate 2 first: a faster rate the machine cannot keep up with leaves the server a backlog.
    parsed.rate = [2.0, *(r for r in parsed.rate if r != 2.0)]
    limit_malloc_arenas()  # as `leadflow up` and `leadflow worker` do
    asyncio.run(main(parsed))
