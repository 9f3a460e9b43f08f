"""The worker's Prometheus endpoint: Temporal SDK metrics plus leadflow's own counters."""

from __future__ import annotations

import asyncio
import socket
import urllib.request
from datetime import UTC, datetime, timedelta

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from config.metrics import runtime_for
from config.playbook import Playbook
from config.playbook_loader import stock_playbook
from lifecycle.events import EventKind, LeadEvent
from tests.support.lead_harness import running_worker, unique_email
from tests.support.vendor_stack import vendor_stack
from workflows.lead_client import LeadClient


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


def series(text: str, name: str, **labels: str) -> float:
    """The sum of every sample of `name` whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def short_mql_sla() -> Playbook:
    data = stock_playbook("demo_led").model_dump(by_alias=True)
    for stage in data["stages"]:
        if stage["name"] == "MQL":
            stage["sla"]["within"] = timedelta(seconds=2)
    return Playbook.model_validate(data)


async def test_metrics_endpoint_counts_stage_moves_vendor_syncs_and_sla_breaches(dev_env):
    port = free_port()
    client = await Client.connect(dev_env.client.service_client.config.target_host,
                                  namespace=dev_env.client.namespace,
                                  data_converter=pydantic_data_converter,
                                  runtime=runtime_for("127.0.0.1", port))
    playbook = short_mql_sla()
    email = unique_email("metrics")
    with vendor_stack() as vendors:
        async with running_worker(client, ["hubspot"], vendors.connectors()) as harness:
            leads = LeadClient(client, harness.task_queue, playbook)
            handle = await leads.send_event(email, LeadEvent(
                event_id="m1", kind=EventKind.DEMO_REQUESTED, occurred_at=datetime.now(UTC)))
            harness.handles.append(handle)
            text = ""
            for _ in range(100):  # the SLA runs out 2 s after the lead enters MQL
                text = scrape(port)
                if series(text, "leadflow_sla_breaches", stage="MQL", playbook="demo_led") >= 1:
                    break
                await asyncio.sleep(0.2)

    assert series(text, "leadflow_stage_transitions", to_stage="MQL", from_stage="New Lead") >= 1
    assert series(text, "leadflow_stage_transitions", to_stage="New Lead", from_stage="") >= 1
    assert series(text, "leadflow_sla_breaches", stage="MQL", playbook="demo_led") >= 1, text
    assert series(text, "leadflow_vendor_syncs", vendor="hubspot", outcome="ok") >= 1
    assert series(text, "leadflow_vendor_syncs", outcome="error") == 0
    # the SDK's own metrics share the endpoint, labelled with the task queue
    assert series(text, "temporal_workflow_task_schedule_to_start_latency_count",
                  task_queue=harness.task_queue) >= 1
    print("\n".join(line for line in text.splitlines() if line.startswith("leadflow_")))
