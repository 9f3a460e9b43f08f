"""200 lead workflows started at once are routed through one team router: split exactly by
weight, the capped member stops at the cap, the away member gets none; owners are listable by
the LeadOwner search attribute."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import date

from temporalio.client import WorkflowHandle

from lifecycle.events import lead_workflow_id
from tests.support.lead_harness import running_worker, terminate_all
from tests.support.routing_helpers import with_team
from workflows.lead import LeadWorkflow
from workflows.lead_models import LeadInput
from workflows.team_client import team_workflow_id

MEMBERS = [
    {"email": "a@example.com", "weight": 2},
    {"email": "b@example.com"},
    {"email": "c@example.com", "daily_cap": 50},
    {"email": "d@example.com", "weight": 5, "away_until": "2099-01-01"},
]


async def owners(client, task_queue: str, expected: int) -> Counter[str]:  # type: ignore[no-untyped-def]
    """Leads per owner, read from the LeadOwner search attribute once all `expected` have one."""
    counts: Counter[str] = Counter()
    for _ in range(300):
        counts = Counter()
        query = f"TaskQueue = '{task_queue}' AND WorkflowType = 'LeadWorkflow' AND LeadOwner IS NOT NULL"
        async for wf in client.list_workflows(query):
            owner = dict((k.name, v) for k, v in wf.typed_search_attributes)["LeadOwner"]
            counts[owner] += 1
        if sum(counts.values()) >= expected:
            return counts
        await asyncio.sleep(0.5)
    raise AssertionError(f"only {sum(counts.values())} of {expected} leads have an owner: {counts}")


async def test_200_leads_at_once_split_100_50_50_with_caps_and_away(dev_env):
    pb = with_team("high_touch", "enterprise-east", MEMBERS)
    tag = uuid.uuid4().hex[:6]
    handles: list[WorkflowHandle] = []

    async def start(i: int) -> None:  # a domain each: no account owner to follow
        email = f"lead{i}@co{i}-{tag}.io"
        handles.append(await dev_env.client.start_workflow(
            LeadWorkflow.run, LeadInput(email=email, playbook_name=pb.name, playbook=pb),
            id=lead_workflow_id(email), task_queue=h.task_queue))

    async with running_worker(dev_env.client) as h:
        try:
            await asyncio.gather(*(start(i) for i in range(200)))
            counts = await owners(dev_env.client, h.task_queue, 200)
            assert counts == {"a@example.com": 100, "b@example.com": 50, "c@example.com": 50}

            await asyncio.gather(*(start(i) for i in range(200, 206)))
            counts = await owners(dev_env.client, h.task_queue, 206)
            assert counts["c@example.com"] == 50 and counts["d@example.com"] == 0  # capped, away
            assert counts["a@example.com"] + counts["b@example.com"] == 156
        finally:
            h.handles.append(dev_env.client.get_workflow_handle(
                team_workflow_id("enterprise-east", h.task_queue)))
            await terminate_all(handles)
    assert date.today().year < 2099
