"""Scale: N open leads with SLA timers on one worker process.

    .venv/bin/python bench/scale.py --n 20000          # --n 100000 is accepted, slower

Starts its own `temporal` dev server and the real worker (`python -m worker`, no vendor
configured, its ledger on SQLite under a temporary data directory) as a separate process, then
sends "demo requested" to N new leads through LeadClient (signal-with-start, as ingest does).
Each lead enters MQL and arms its SLA timer. Prints:
- leads started per second: accepted by Temporal, and running in MQL (visible in a list query);
- the worker's RSS after each quarter of N (flat once the workflow cache is full; < 500 MB);
- Temporal history events per lead run (a sample of the leads);
- the lateness of --aligned SLA timers due at the same moment (all fired within 60 s): the
  last --aligned leads use a playbook whose default team's working day opens a little after they
  are all in MQL, so each one's one-minute business-hours SLA falls due at the same instant.

The leads pin their playbook (LeadInput.playbook): the stock demo_led without routing (the
bench measures leads and timers, not the team routers), MQL's SLA 24 h (aligned: 1 business
minute). The worker's workflow cache is --cache runs (LEADFLOW_WORKFLOW_CACHE, default 1,000).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from temporalio.client import Client  # noqa: E402
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402
from temporalio.service import RPCError  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

from config.playbook import Playbook  # noqa: E402
from config.playbook_loader import stock_playbook  # noqa: E402
from leadflow.stack import DEV_SERVER_TUNING, temporal_binary  # noqa: E402
from lifecycle.events import EventKind, LeadEvent, lead_workflow_id  # noqa: E402
from workflows import search_attributes as sa  # noqa: E402
from workflows.lead import LeadWorkflow  # noqa: E402
from workflows.lead_client import LeadClient  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
STAGE = "MQL"
TEAM = "bench-team"


def playbook(opens_at: datetime | None) -> Playbook:
    """demo_led without routing; MQL's SLA 24 h, or (opens_at) one minute of a working day that
    starts at `opens_at` (UTC, every day), so every lead in MQL before then is due together."""
    raw = stock_playbook("demo_led").model_dump(mode="json", by_alias=True)
    raw["routing"] = None
    for stage in raw["stages"]:
        stage["owner_role"] = None if stage["name"] == STAGE else stage.get("owner_role")
        if stage["name"] == STAGE and stage.get("sla"):
            stage["sla"] |= {"within": "24h", "expedite": {}, "business_hours": False}
    if opens_at is not None:
        mql = next(s for s in raw["stages"] if s["name"] == STAGE)
        mql["sla"] |= {"within": "1m", "business_hours": True}
        raw["routing"] = {"default_team": TEAM, "teams": [{
            "name": TEAM, "roles": ["sdr"],
            "members": [{"email": "bench.sdr@example.com", "name": "Bench Sdr"}],
            "calendar": {"timezone": "UTC", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                         "start": opens_at.time().isoformat(), "end": clock(23, 59, 59).isoformat()}}]}
    return Playbook.model_validate(raw)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_worker(address: str, task_queue: str, data: Path, cache: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HUBSPOT_", "SALESFORCE_", "SEGMENT_", "LEADFLOW_"))}
    env |= {"LEADFLOW_TEMPORAL_ADDRESS": address, "LEADFLOW_TASK_QUEUE": task_queue,
            "LEADFLOW_DATA_DIR": str(data), "LEADFLOW_WORKFLOW_CACHE": str(cache),
            "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "worker"], cwd=ROOT, env=env,
                            stdout=(data / "worker.log").open("ab"), stderr=subprocess.STDOUT)


def demo_request() -> LeadEvent:
    return LeadEvent(event_id=uuid.uuid4().hex, kind=EventKind.DEMO_REQUESTED,
                     occurred_at=datetime.now(UTC), properties={"company_size": "300"})


async def in_mql(client: Client, task_queue: str) -> int:
    query = f"WorkflowType = 'LeadWorkflow' AND TaskQueue = '{task_queue}' AND LeadStage = '{STAGE}'"
    return (await client.count_workflows(query)).count


async def start_leads(leads: LeadClient, emails: list[str], concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(email: str) -> None:
        async with gate:
            await leads.send_event(email, demo_request())

    await asyncio.gather(*(one(e) for e in emails))


async def settle(client: Client, task_queue: str, count: int, timeout: float) -> float:
    """Waits until `count` leads are in MQL; returns when (monotonic) or raises after timeout."""
    deadline = time.monotonic() + timeout
    while (seen := await in_mql(client, task_queue)) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {seen} of {count} leads in {STAGE} after {timeout:.0f}s")
        await asyncio.sleep(0.5)
    return time.monotonic()


async def history_events(client: Client, emails: list[str]) -> float:
    lengths = []
    for email in emails:
        desc = await client.get_workflow_handle(lead_workflow_id(email)).describe()
        lengths.append(desc.raw_description.workflow_execution_info.history_length)
    return statistics.fmean(lengths)


async def lateness(client: Client, emails: list[str], due: datetime, concurrency: int = 16) -> list[float]:
    """Seconds from `due` to each lead's first breach (as its workflow saw the timer fire)."""
    gate = asyncio.Semaphore(concurrency)
    late: list[float] = []

    async def one(email: str) -> None:
        handle = client.get_workflow_handle(lead_workflow_id(email))
        state = None
        for _ in range(5):  # a busy worker can miss a query's deadline: ask again
            try:
                async with gate:
                    state = await handle.query(LeadWorkflow.state, rpc_timeout=timedelta(seconds=30))
                break
            except RPCError:
                await asyncio.sleep(1)
        if state is None:
            return  # counted as not read
        breached = [o for o in state.sla_outcomes if o.outcome == "breached"]
        late.append((breached[0].at - due).total_seconds() if breached else float("inf"))

    await asyncio.gather(*(one(e) for e in emails))
    return late


async def bench(n: int, aligned: int, concurrency: int, timeout: float, cache: int) -> None:
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter, search_attributes=sa.REGISTERED_KEYS,
        dev_server_existing_path=temporal_binary(),
        dev_server_extra_args=DEV_SERVER_TUNING)
    task_queue = f"scale-{uuid.uuid4().hex[:6]}"
    run = uuid.uuid4().hex[:6]
    emails = [f"scale-{run}-{i}@acme.io" for i in range(n)]
    body, timed = emails[:n - aligned], emails[n - aligned:]
    with tempfile.TemporaryDirectory() as tmp:
        worker = start_worker(env.client.service_client.config.target_host, task_queue, Path(tmp),
                              cache)
        try:
            await asyncio.sleep(3)  # polling before the first lead
            print(f"scale benchmark: N={n} leads on one worker process (pid {worker.pid}, "
                  f"workflow cache {cache}), "
                  f"{aligned} of them with aligned SLA timers; load average at start "
                  f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            leads = LeadClient(env.client, task_queue, playbook(None))
            rss: list[tuple[int, float]] = [(0, rss_mb(worker.pid))]
            began = time.monotonic()
            accepted = 0.0
            quarter = max(1, len(body) // 4)
            for q in range(0, len(body), quarter):
                part = body[q:q + quarter]
                t0 = time.monotonic()
                await start_leads(leads, part, concurrency)
                accepted += time.monotonic() - t0
                await settle(env.client, task_queue, q + len(part), timeout)
                rss.append((q + len(part), rss_mb(worker.pid)))
                print(f"  {q + len(part):>7} leads in {STAGE} after {time.monotonic() - began:7.1f}s  "
                      f"worker RSS {rss[-1][1]:6.1f} MB  load {os.getloadavg()[0]:.2f}", flush=True)
            body_s = time.monotonic() - began
            rate = len(body) / body_s
            # The aligned leads: their team's day opens once they are all (surely) in MQL.
            margin = 30 + 2 * aligned / max(rate, 1.0)
            opens = (datetime.now(UTC) + timedelta(seconds=margin)).replace(microsecond=0)
            due = opens + timedelta(minutes=1)
            if opens.date() != due.date() or opens.time() >= clock(23, 58):
                raise SystemExit("the aligned timers would cross midnight UTC: run again in a few minutes")
            timed_leads = LeadClient(env.client, task_queue, playbook(opens))
            await start_leads(timed_leads, timed, concurrency)
            ready = await settle(env.client, task_queue, n, timeout)
            rss.append((n, rss_mb(worker.pid)))
            if datetime.now(UTC) >= opens:
                print(f"  WARNING: the aligned leads reached {STAGE} only after their day opened")
            print(f"  {n:>7} leads in {STAGE} after {ready - began:7.1f}s; {aligned} timers due at "
                  f"{due:%H:%M:%S} UTC", flush=True)
            await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 5)
            late = await lateness(env.client, timed, due)
            late_fired = sorted(v for v in late if v != float("inf"))
            unread = aligned - len(late)
            events = await history_events(env.client, body[:: max(1, len(body) // 50)][:50])
            rss.append((n, rss_mb(worker.pid)))
        finally:
            worker.terminate()
            worker.wait(timeout=60)
            await env.shutdown()

    print(f"\nscale: {n} open leads with SLA timers on one worker process")
    print(f"  leads started      {len(body) / accepted:.1f}/s accepted by Temporal (signal-with-start, "
          f"{concurrency} at once); {rate:.1f}/s end to end (running in {STAGE}, list query)")
    print("  worker RSS         " + ", ".join(f"{k}: {v:.0f} MB" for k, v in rss)
          + f"  (max {max(v for _, v in rss):.0f} MB; limit 500 MB)")
    print(f"  history events     {events:.1f} per lead run (sample of 50)")
    if late_fired:
        print(f"  SLA timer lateness {len(late_fired)} of {aligned} fired; "
              f"p50 {percentile(late_fired, 50):.2f}s "
              f"p99 {percentile(late_fired, 99):.2f}s max {late_fired[-1]:.2f}s "
              f"(all within 60 s: {len(late_fired) == aligned and late_fired[-1] <= 60}; "
              f"{unread} not read)")
    else:
        print(f"  SLA timer lateness none of {aligned} fired")
    print(f"  load average       {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="open leads in all")
    parser.add_argument("--aligned", type=int, default=1000, help="of them, timers due together")
    parser.add_argument("--concurrency", type=int, default=32, help="starts in flight at once")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait per step")
    parser.add_argument("--cache", type=int, default=1000,
                        help="the worker's LEADFLOW_WORKFLOW_CACHE (lead runs kept in memory)")
    args = parser.parse_args()
    args.aligned = min(args.aligned, args.n // 2)

    async def run() -> None:
        await bench(args.n, args.aligned, args.concurrency, args.timeout, args.cache)
        gc.collect()
        await asyncio.sleep(0.1)

    asyncio.run(run())


if __name__ == "__main__":
    main()
