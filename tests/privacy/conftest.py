"""A dev server writing to a SQLite file we can read, and leadflow's real workers with payload
encryption on: the same connect, codec and key store every leadflow process uses."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.ledger import ledger_activity
from config.temporal import connect
from emulators.run_all import env_for
from tests.support.lead_harness import until, workers_on
from tests.support.privacy_stack import NEW_KEYS, PrivacyStack, demo_request, facts, lead_state
from tests.support.vendor_stack import VENDORS, VendorStack, vendor_stack
from workflows import search_attributes as sa
from workflows.lead_client import LeadClient


@pytest.fixture(scope="package")
def vendors() -> Iterator[VendorStack]:
    with vendor_stack() as running:
        yield running


@pytest.fixture(scope="package")
async def privacy_stack(tmp_path_factory: pytest.TempPathFactory,
                        vendors: VendorStack) -> AsyncIterator[PrivacyStack]:
    root = tmp_path_factory.mktemp("privacy")
    db_file = root / "temporal.db"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.prefix) / "bin" / "temporal"),
        search_attributes=sa.REGISTERED_KEYS,
        dev_server_extra_args=["--db-filename", str(db_file)],
    )
    try:
        yield PrivacyStack(env, db_file, root / "data", f"privacy-{uuid.uuid4().hex[:8]}",
                           dict(env_for(vendors.running)))
    finally:
        await env.shutdown()


@pytest.fixture(scope="package")
async def encrypted_workers(privacy_stack: PrivacyStack, vendors: VendorStack) -> AsyncIterator[Client]:
    """Workers with the current keys (old key still listed), the three vendors and the ledger."""
    settings = privacy_stack.settings(NEW_KEYS)
    client = await connect(settings)
    async with workers_on(client, privacy_stack.task_queue, VENDORS, vendors.connectors(),
                          ledger=ledger_activity(settings)):
        yield client


@pytest.fixture
async def two_leads(privacy_stack: PrivacyStack, vendors, encrypted_workers):  # type: ignore[no-untyped-def]
    """Two leads synced to HubSpot with facts in the ledger: one to forget, one to keep."""
    leads = LeadClient(encrypted_workers, privacy_stack.task_queue)
    tag = uuid.uuid4().hex[:8]
    gone, kept = f"ada-{tag}@analytical.io", f"bob-{tag}@analytical.io"
    for email in (gone, kept):
        await leads.send_event(email, demo_request(email))
        await lead_state(leads, email)
        await until(lambda e=email: vendors.hubspot_contact(e), what=f"{email} in HubSpot")
        await until(lambda e=email: any(f.email == e for f in facts(privacy_stack)),
                    what=f"{email} in the ledger")
    return leads, gone, kept
