"""A CRM merge racing events for the merged-away email (issue 14): every acknowledged event
reaches the survivor, and the merged-away lead never runs again: it stays a tombstone (issue 13)
whose closure names the survivor."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from lifecycle.events import EventKind, LeadEvent, lead_workflow_id
from tests.support.lead_harness import running_worker, unique_email, until
from workflows.lead_client import LeadClient
from workflows.lead_models import LeadCommand


async def merged_into(leads: LeadClient, email: str, survivor: str) -> bool:
    """The lead is a tombstone of a merge into `survivor` (and was never reopened)."""
    closure = await leads.closure(email)
    return closure is not None and closure.how == "merged" and closure.survivor == survivor


def download() -> LeadEvent:
    return LeadEvent(event_id=uuid.uuid4().hex, kind=EventKind.CONTENT_DOWNLOAD,
                     occurred_at=datetime.now(UTC))


async def test_events_racing_a_merge_all_reach_the_survivor(dev_env):
    async with running_worker(dev_env.client) as h:
        leads = LeadClient(dev_env.client, h.task_queue)
        pairs = [(unique_email("merged"), unique_email("survivor")) for _ in range(3)]
        for merged, survivor in pairs:
            await leads.send_event(merged, download())
            await leads.send_event(survivor, download())
            h.handles += [dev_env.client.get_workflow_handle(lead_workflow_id(e))
                          for e in (merged, survivor)]

        async def stream(merged: str, survivor: str) -> list[str]:
            """Events keep coming for the merged-away email before, during and after the merge."""
            acknowledged = []
            for i in range(40):
                if i == 10:
                    await leads.merge(merged, survivor, actor="hubspot:merge")
                event = download()
                await leads.send_event(merged, event)  # acknowledged once this returns
                acknowledged.append(event.event_id)
                if i > 10:
                    await asyncio.sleep(0.05)
            return acknowledged

        sent = await asyncio.gather(*(stream(m, s) for m, s in pairs))
        for (merged, survivor), acknowledged in zip(pairs, sent, strict=True):
            async def all_seen(survivor: str = survivor, acknowledged: list[str] = acknowledged) -> bool:
                state = await leads.state(survivor)
                return all(state.has_seen(e) for e in acknowledged)

            await until(all_seen, what=f"every acknowledged event on {survivor}")
            await until(lambda m=merged, s=survivor: merged_into(leads, m, s),  # type: ignore[misc]
                        what="the merged-away lead a tombstone, never running again")


async def test_a_command_for_a_merged_away_lead_goes_to_the_survivor(dev_env):
    async with running_worker(dev_env.client) as h:
        leads = LeadClient(dev_env.client, h.task_queue)
        merged, survivor = unique_email("merged"), unique_email("survivor")
        for email in (merged, survivor):
            await leads.send_event(email, download())
            h.handles.append(dev_env.client.get_workflow_handle(lead_workflow_id(email)))
        await leads.merge(merged, survivor)
        await until(lambda: merged_into(leads, merged, survivor), what="the merged-away lead closed")
        view = await leads.command(merged, LeadCommand(kind="snooze", properties={"path": "too_early"}))
        assert view.email == survivor and view.stage == "Nurture"
        assert await merged_into(leads, merged, survivor)


async def test_a_merge_into_a_lead_that_was_itself_merged_lands_on_the_last_survivor(dev_env):
    async with running_worker(dev_env.client) as h:
        leads = LeadClient(dev_env.client, h.task_queue)
        a, b, c = unique_email("a"), unique_email("b"), unique_email("c")
        for email in (a, b, c):
            await leads.send_event(email, download())
            h.handles.append(dev_env.client.get_workflow_handle(lead_workflow_id(email)))
        await leads.merge(b, c)  # b is gone into c first ...
        await until(lambda: merged_into(leads, b, c), what="b closed")
        await leads.merge(a, b)  # ... then the CRM reports a merged into b

        async def on_c() -> bool:
            return (await leads.state(c)).has_seen(f"merge:lead:{a}")

        await until(on_c, what="a's timeline on c")
        assert await merged_into(leads, b, c), "b runs again"
