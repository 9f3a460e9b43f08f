"""A dev server with its Web UI on a free port, for the tests that drive the UI's HTTP API."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from workflows import search_attributes as sa

TEMPORAL = str(Path(sys.prefix) / "bin" / "temporal")  # installed with the project, never downloaded


@dataclass
class UiServer:
    env: WorkflowEnvironment
    url: str


@asynccontextmanager
async def ui_server(ui_port: int) -> AsyncIterator[UiServer]:
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter, dev_server_existing_path=TEMPORAL,
        search_attributes=sa.REGISTERED_KEYS, ui=True, ui_port=ui_port)
    try:
        yield UiServer(env, f"http://127.0.0.1:{ui_port}")
    finally:
        await env.shutdown()
