"""An operator starts a backfill in the Temporal UI: the UI's own HTTP API, JSON input typed by hand."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import uuid

import httpx
import pytest
from temporalio.client import WorkflowFailureError

from tests.support.backfill_helpers import epoch, record_history, seed_hubspot, window
from tests.support.lead_harness import running_worker
from tests.support.ui_server import ui_server
from tests.support.vendor_stack import VENDORS
from workflows.backfill_models import BackfillResult


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
async def ui():  # type: ignore[no-untyped-def]
    async with ui_server(free_port()) as running:
        yield running


async def start_from_ui(ui_url: str, task_queue: str, typed_input: str) -> str:
    """What the UI's Start Workflow form sends: workflow type, task queue and the JSON as typed."""
    workflow_id = f"backfill-ui-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=ui_url, timeout=10) as http:
        for _ in range(100):  # the UI server answers 503 for a moment after the server is ready
            listing = await http.get("/api/v1/namespaces/default/workflows")
            if listing.status_code != 503:
                break
            await asyncio.sleep(0.2)
        token = http.cookies.get("_csrf") or ""
        payload = {"metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
                   "data": base64.b64encode(typed_input.encode()).decode()}
        answer = await http.post(
            f"/api/v1/namespaces/default/workflows/{workflow_id}", headers={"X-CSRF-TOKEN": token},
            json={"workflowId": workflow_id, "workflowType": {"name": "BackfillWorkflow"},
                  "taskQueue": {"name": task_queue}, "input": {"payloads": [payload]},
                  "requestId": str(uuid.uuid4())})
        assert answer.status_code == 200, answer.text
    return workflow_id


async def test_backfill_started_in_the_ui_with_json_input_runs(ui, stack):
    start = epoch(2025, 7, 1)
    _, emails = seed_hubspot(stack, 30, start)
    typed = json.dumps({"source": "hubspot", **window(start, 30), "dry_run": False})
    async with running_worker(ui.env.client, VENDORS, stack.connectors()) as h:
        workflow_id = await start_from_ui(ui.url, h.task_queue, typed)
        handle = ui.env.client.get_workflow_handle(workflow_id, result_type=BackfillResult)
        result = await asyncio.wait_for(handle.result(), 60)
        assert (result.tally.seen, result.tally.created) == (30, 30)
        assert stack.salesforce_lead(emails[3])["Lead_Stage__c"] == "New Lead"
        progress = (await handle.describe()).typed_search_attributes
        assert any(k.name == "BackfillProgress" and str(v).startswith("done: pages=1 seen=30")
                   for k, v in ((p.key, p.value) for p in progress))
        await record_history(handle)


async def test_backfill_with_bad_input_fails_at_once_with_a_readable_message(ui, stack):
    typed = '{"source": "pipedrive", "modified_after": "last tuesday", "dry_run": false}'
    async with running_worker(ui.env.client, VENDORS, stack.connectors()) as h:
        workflow_id = await start_from_ui(ui.url, h.task_queue, typed)
        handle = ui.env.client.get_workflow_handle(workflow_id)
        with pytest.raises(WorkflowFailureError) as failed:
            await asyncio.wait_for(handle.result(), 20)
    message = str(failed.value.cause)
    assert "source" in message and "'hubspot' or 'salesforce'" in message
    assert "modified_after" in message
