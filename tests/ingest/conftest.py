"""The ingest service on loopback (uvicorn, free port) in front of the dev server, the real
workers and the three vendor emulators."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError

from config.settings import Settings  # noqa: E402
from emulators.run_all import env_for  # noqa: E402
from ingest.server import serving  # noqa: E402
from lifecycle.state import LeadState  # noqa: E402
from tests.support.ingest_client import IngestApi  # noqa: E402
from tests.support.lead_harness import Harness, running_worker  # noqa: E402
from tests.support.vendor_stack import VENDORS, VendorStack, vendor_stack  # noqa: E402
from workflows.lead_client import LeadClient  # noqa: E402

SECRETS = {
    "LEADFLOW_INGEST_TOKEN": "ingest-token-for-tests",
    "SEGMENT_WEBHOOK_SECRET": "segment-shared-secret",
    "HUBSPOT_CLIENT_SECRET": "hubspot-app-client-secret",
    "SALESFORCE_WEBHOOK_SECRET": "salesforce-callout-secret",
}


def ingest_settings(temporal_address: str, task_queue: str, playbook: str,
                    stack: VendorStack | None = None) -> Settings:
    env: dict[str, Any] = dict(env_for(stack.running)) if stack else {}
    env.update(SECRETS, LEADFLOW_TEMPORAL_ADDRESS=temporal_address, LEADFLOW_TASK_QUEUE=task_queue,
               LEADFLOW_PLAYBOOK=playbook, LEADFLOW_INGEST_HOST="127.0.0.1")
    return Settings(_env_file=None, **env)  # type: ignore[call-arg]


@asynccontextmanager
async def ingest_api(settings: Settings) -> AsyncIterator[IngestApi]:
    async with serving(settings, port=0) as url:
        api = IngestApi(url, SECRETS)
        try:
            yield api
        finally:
            await api.aclose()


@pytest.fixture(scope="package")
def stack() -> Any:
    with vendor_stack() as running:
        yield running


@pytest.fixture(scope="package")
async def workers(dev_env, stack) -> AsyncIterator[Harness]:  # type: ignore[no-untyped-def]
    async with running_worker(dev_env.client, VENDORS, stack.connectors()) as harness:
        yield harness


def temporal_address(env) -> str:  # type: ignore[no-untyped-def]
    return str(env.client.service_client.config.target_host)


async def lead_state(leads: LeadClient, email: str, check: Callable[[LeadState], bool],
                     timeout: float = 30) -> LeadState:
    """The lead's state once `check` holds (its workflow may not have run its first task yet)."""
    deadline = asyncio.get_running_loop().time() + timeout
    seen: LeadState | None = None
    while asyncio.get_running_loop().time() < deadline:
        with contextlib.suppress(WorkflowQueryFailedError, RPCError):
            seen = await leads.state(email)
            if seen is not None and check(seen):
                return seen
        await asyncio.sleep(0.2)
    raise AssertionError(f"{email}: expected state not reached in {timeout}s; last seen {seen}")


def product_event(email: str, name: str, **props: Any) -> dict[str, Any]:
    return {"event_id": uuid.uuid4().hex, "email": email, "name": name,
            "occurred_at": datetime.now(UTC).isoformat(), "properties": props}
