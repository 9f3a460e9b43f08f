"""The ingest service on loopback (uvicorn, free port) in front of the dev server, the real
workers and the three vendor emulators."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.lead_harness import Harness, running_worker
from tests.support.vendor_stack import VENDORS, vendor_stack


@pytest.fixture(scope="package")
def stack() -> Any:
    with vendor_stack() as running:
        yield running


@pytest.fixture(scope="package")
async def workers(dev_env, stack) -> AsyncIterator[Harness]:  # type: ignore[no-untyped-def]
    async with running_worker(dev_env.client, VENDORS, stack.connectors()) as harness:
        yield harness
