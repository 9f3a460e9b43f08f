"""Events that queued while the worker was down (issue 14): each within MAX_EVENT_BYTES, together
far over Temporal's 2 MB payload limit, must not wedge the lead when the worker comes back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError

from activities.ledger import LedgerActivities
from ledger.engine import make_engine, migrate
from ledger.writer import LedgerWriter
from lifecycle.events import MAX_EVENT_BYTES, EventKind, LeadEvent, check_event_size, lead_workflow_id
from tests.support.lead_harness import unique_email, until, workers_on
from tests.support.ledger_harness import count_facts
from workflows.lead_client import LeadClient

QUEUED = 100  # x ~30 KB: about 3 MB of events for one lead's first workflow task


async def test_many_large_queued_events_are_applied_and_recorded(dev_env, tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    migrate(engine)
    queue = f"queued-{uuid.uuid4().hex[:8]}"
    leads = LeadClient(dev_env.client, queue, "demo_led")
    email = unique_email("queued")
    for i in range(QUEUED):
        event = LeadEvent(event_id=f"note-{i}", kind=EventKind.OTHER, name="Note Taken",
                          occurred_at=datetime.now(UTC),
                          properties={f"note_{i % 3}": "x" * (MAX_EVENT_BYTES - 2500)})
        check_event_size(event)  # each one is within the limit
        await leads.send_event(email, event)
    ledger = LedgerActivities(LedgerWriter(engine)).record_ledger
    async with workers_on(dev_env.client, queue, ledger=ledger):
        try:
            state = await until(lambda: _applied(leads, email), timeout=90, what="all queued events applied")
            assert state.events_applied == QUEUED and state.touches == {"New Lead": QUEUED}
            await until(lambda: count_facts(engine, lead_id=lead_workflow_id(email), kind="touch") == QUEUED,
                        timeout=180, what="every touch in the ledger")
        finally:
            await dev_env.client.get_workflow_handle(lead_workflow_id(email)).terminate("test finished")
    engine.dispose()


async def _applied(leads: LeadClient, email: str):  # type: ignore[no-untyped-def]
    try:  # a query fails (times out) while the lead's workflow task is failing
        state = await leads.state(email)
    except (RPCError, WorkflowQueryFailedError):
        return None
    return state if state is not None and state.events_applied >= QUEUED else None
