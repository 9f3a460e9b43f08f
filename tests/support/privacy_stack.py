"""Shared pieces of the privacy tests: a dev server whose SQLite file the tests read, the settings
and environment of its processes, the `leadflow` CLI run beside them."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from config.temporal import connect
from ledger.engine import database_url, make_engine
from ledger.models import FactRow
from lifecycle.events import EventKind, LeadEvent
from privacy.keys import new_key_entry
from tests.support.lead_harness import until

OLD_KEYS = new_key_entry("2026-05")
NEW_KEYS = f"{new_key_entry('2026-11')},{OLD_KEYS}"  # rotation: a new key first, the old one kept
INGEST_SECRETS = {"LEADFLOW_INGEST_TOKEN": "ingest-token-for-privacy-tests",
                  "HUBSPOT_CLIENT_SECRET": "hubspot-app-client-secret",
                  "SALESFORCE_WEBHOOK_SECRET": "salesforce-callout-secret"}


@dataclass
class PrivacyStack:
    temporal: WorkflowEnvironment
    db_file: Path
    data_dir: Path
    task_queue: str
    vendor_env: dict[str, Any] = field(default_factory=dict)  # the emulators' settings

    @property
    def address(self) -> str:
        return str(self.temporal.client.service_client.config.target_host)

    def env(self, keys: str | None = OLD_KEYS, **extra: Any) -> dict[str, str]:
        """The environment of a process of this stack; `keys=None`: encryption off."""
        env = dict(self.vendor_env, **INGEST_SECRETS)
        env.update(LEADFLOW_TEMPORAL_ADDRESS=self.address, LEADFLOW_TASK_QUEUE=self.task_queue,
                   LEADFLOW_DATA_DIR=str(self.data_dir), LEADFLOW_INGEST_HOST="127.0.0.1")
        if keys is not None:
            env["LEADFLOW_ENCRYPTION_KEYS"] = keys
        env.update(extra)
        return env

    def settings(self, keys: str | None = OLD_KEYS, **extra: Any) -> Settings:
        return Settings(_env_file=None, **self.env(keys, **extra))  # type: ignore[call-arg]

    async def client(self, keys: str = OLD_KEYS) -> Client:
        return await connect(self.settings(keys))




async def lead_state(leads, email: str, what: str = "the lead's state"):  # type: ignore[no-untyped-def]
    """The lead's state once its workflow has run its first task (a query answers None before)."""
    return await until(lambda: leads.state(email), timeout=30, what=what)


async def leadflow_cli(stack: PrivacyStack, *args: str, keys: str = NEW_KEYS) -> Ran:
    """`leadflow ARGS` in its own process, configured like the stack's other processes (without
    blocking this event loop: the workers it talks to run on it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEADFLOW_", "HUBSPOT_"))}
    env.update(stack.env(keys))
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.prefix) / "bin" / "leadflow"), *args, env=env, cwd=stack.data_dir.parent,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return Ran(proc.returncode or 0, out.decode(), err.decode())


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def demo_request(email: str) -> LeadEvent:
    return LeadEvent(event_id=f"ev-{uuid.uuid4().hex}", kind=EventKind.DEMO_REQUESTED,
                     name="Demo Requested", occurred_at=datetime.now(UTC), actor="product",
                     properties={"name": "Ada Lovelace", "company": "Analytical Engines"})


def facts(stack: PrivacyStack) -> list[FactRow]:
    with Session(make_engine(database_url(stack.settings(NEW_KEYS)))) as session:
        return list(session.scalars(select(FactRow)))
