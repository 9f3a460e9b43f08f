"""Two worker processes sharing one HubSpot private-app token stay under its limit together:
the `X-HubSpot-RateLimit-Remaining` header is app-wide, so each paces by what the other spent."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

from temporalio.api.enums.v1 import EventType

from emulators import hubspot
from lifecycle.events import lead_workflow_id
from tests.support.hs_helpers import connector_for
from tests.support.lead_harness import fact, until
from workflows.lead_client import LeadClient

ROOT = Path(__file__).resolve().parents[2]
LEADS = 60
LIMIT, INTERVAL_MS = 6, 2000  # 3 a second for both processes, over a shorter window


def start_worker(address: str, hub: hubspot.Running, task_queue: str, data: Path,
                 log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HUBSPOT_", "SALESFORCE_", "SEGMENT_", "LEADFLOW_"))}
    env |= {"LEADFLOW_TEMPORAL_ADDRESS": address, "LEADFLOW_TASK_QUEUE": task_queue,
            "LEADFLOW_DATA_DIR": str(data), "HUBSPOT_ACCESS_TOKEN": hub.token,
            "HUBSPOT_BASE_URL": hub.url, "PYTHONUNBUFFERED": "1"}
    data.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen([sys.executable, "-m", "worker"], cwd=ROOT, env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


async def test_two_workers_on_one_token_get_no_429(dev_env, tmp_path):
    hub = hubspot.start()
    # As `leadflow setup hubspot` leaves a portal (the task key property included, so owner
    # tasks go in batches); then the tight limit, with a fresh window for the burst.
    connector_for(hub).provision()
    hub.state.limiter.configure(LIMIT, INTERVAL_MS)
    hub.state.limiter.reset()
    provisioning = hub.state.total_calls()
    address = dev_env.client.service_client.config.target_host
    task_queue = f"shared-{uuid.uuid4().hex[:8]}"
    workers = [start_worker(address, hub, task_queue, tmp_path / f"w{i}", tmp_path / f"w{i}.log")
               for i in range(2)]
    leads = LeadClient(dev_env.client, task_queue)
    emails = [f"shared-{uuid.uuid4().hex[:8]}@acme.io" for _ in range(LEADS)]
    try:
        await asyncio.sleep(2)  # both polling before the burst
        began = asyncio.get_running_loop().time()
        await asyncio.gather(*(leads.send_event(e, fact("demo_requested")) for e in emails))

        def done() -> bool:  # every MQL written and its SDR's task made
            return (sum(1 for e in emails if (c := hub.state.contact(e))
                        and c.properties.get("lead_stage") == "MQL") == LEADS
                    and len(hub.state.records("tasks")) >= LEADS)

        await until(done, timeout=180, every=0.5, what="all MQLs and their tasks in HubSpot")
        elapsed = asyncio.get_running_loop().time() - began
        served = set().union(*await asyncio.gather(
            *(_hubspot_workers(dev_env.client, email) for email in emails)))
    finally:
        await asyncio.gather(*(_terminate(dev_env.client, email) for email in emails))
        for worker in workers:
            worker.terminate()
            worker.wait()
        hub.stop()

    assert len(served) >= 2, "both worker processes served the leads' activities"
    assert hub.state.statuses[429] == 0
    sent = hub.state.total_calls() - provisioning
    print(f"{sent} HubSpot requests in {elapsed:.1f}s "
          f"({sent / elapsed:.1f}/s, limit {LIMIT / INTERVAL_MS * 1000:.0f}/s)")
    assert sent / elapsed <= LIMIT / INTERVAL_MS * 1000


async def _hubspot_workers(client, email: str) -> set[str]:  # type: ignore[no-untyped-def]
    """Identities of the worker processes that ran this lead's HubSpot activities."""
    queues: dict[int, str] = {}
    who: set[str] = set()
    async for e in client.get_workflow_handle(lead_workflow_id(email)).fetch_history_events():
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            queues[e.event_id] = e.activity_task_scheduled_event_attributes.task_queue.name
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            started = e.activity_task_started_event_attributes
            if queues.get(started.scheduled_event_id, "").endswith("-hubspot"):
                who.add(started.identity)
    return who


async def _terminate(client, email: str) -> None:  # type: ignore[no-untyped-def]
    with contextlib.suppress(Exception):  # already ended
        await client.get_workflow_handle(lead_workflow_id(email)).terminate("test finished")
