"""The ingest service on loopback (uvicorn, free port) in front of the dev server, the real
workers and the three vendor emulators."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.ingest_client import ingest_api, ingest_settings, temporal_address
from tests.support.lead_harness import Harness, running_worker
from tests.support.vendor_stack import VENDORS, vendor_stack
from workflows.lead_client import LeadClient


@pytest.fixture(scope="package")
def stack() -> Any:
    with vendor_stack() as running:
        yield running


@pytest.fixture(scope="package")
async def workers(dev_env, stack) -> AsyncIterator[Harness]:  # type: ignore[no-untyped-def]
    async with running_worker(dev_env.client, VENDORS, stack.connectors()) as harness:
        yield harness


# One ingest service per module (demo_led, the package's workers); a module that needs another
# playbook, no worker or no vendors defines its own `api`.
@pytest.fixture(scope="module")
async def api(dev_env, stack, workers):  # type: ignore[no-untyped-def]
    settings = ingest_settings(temporal_address(dev_env), workers.task_queue, "demo_led", stack)
    async with ingest_api(settings) as running:
        yield running


@pytest.fixture
def leads(dev_env, workers) -> LeadClient:  # type: ignore[no-untyped-def]
    return LeadClient(dev_env.client, workers.task_queue, "demo_led")
