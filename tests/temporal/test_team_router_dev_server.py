"""A team's router on the dev server: concurrent assignments are serialized and split exactly by
weight, caps and away dates hold, the rotation survives a worker restart and continue-as-new."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowHandle

from config.routing import Member, Team
from tests.support.lead_harness import RECORD_DIR, workers_on
from workflows.team_client import TeamChangeRejected, TeamClient, team_workflow_id
from workflows.team_models import AssignRequest, MemberChange

TOMORROW = date.today() + timedelta(days=2)


async def record_and_end(handle: WorkflowHandle, name: str) -> None:
    """Saves the router's last run for the replay test (LEADFLOW_RECORD_HISTORIES=dir)."""
    if RECORD_DIR:
        history = await handle.fetch_history()
        Path(RECORD_DIR, f"test_{name}_0.json").write_text(history.to_json())
    await handle.terminate("test finished")


def team(name: str) -> Team:
    return Team(name=name, manager="boss@example.com", members=[
        Member(email="a@example.com", weight=2),
        Member(email="b@example.com"),
        Member(email="c@example.com"),
        Member(email="d@example.com", weight=5, away_until=TOMORROW),
    ])


async def assign_many(teams: TeamClient, t: Team, n: int, tag: str) -> Counter[str]:
    results = await asyncio.gather(*(
        teams.assign(t, AssignRequest(request_id=f"{tag}-{i}", lead_id=f"lead:{tag}{i}@x.io"))
        for i in range(n)))
    return Counter(r.owner.email if r.owner else "-" for r in results)


async def test_200_concurrent_assignments_split_100_50_50_and_survive_a_restart(dev_env):
    queue, t = f"test-{uuid.uuid4().hex[:8]}", team(f"split-{uuid.uuid4().hex[:6]}")
    teams = TeamClient(dev_env.client, queue, "demo_led")
    async with workers_on(dev_env.client, queue):
        first = await assign_many(teams, t, 100, "one")
    async with workers_on(dev_env.client, queue):  # a new worker process: the rotation goes on
        second = await assign_many(teams, t, 100, "two")
        total = first + second
        assert total == {"a@example.com": 100, "b@example.com": 50, "c@example.com": 50}
        assert first == {"a@example.com": 50, "b@example.com": 25, "c@example.com": 25}

        again = await teams.assign(t, AssignRequest(request_id="one-7", lead_id="lead:one7@x.io"))
        view = await teams.view(t)
        assert view.totals == dict(total)  # a retried request is answered, not counted again
        assert again.owner is not None and again.manager is not None
        assert again.manager.email == "boss@example.com"

        handle = dev_env.client.get_workflow_handle(team_workflow_id(t.name, queue))
        runs = [e async for e in dev_env.client.list_workflows(f"WorkflowId = '{handle.id}'")]
        assert len(runs) > 1  # it continued as new on the way, carrying the rotation
        await record_and_end(handle, "router_200_concurrent_split")


async def test_caps_and_runtime_changes_are_respected(dev_env):
    queue, t = f"test-{uuid.uuid4().hex[:8]}", team(f"caps-{uuid.uuid4().hex[:6]}")
    teams = TeamClient(dev_env.client, queue, "demo_led")
    async with workers_on(dev_env.client, queue):
        await teams.change(t, MemberChange(email="b@example.com", daily_cap=10))
        counts = await assign_many(teams, t, 40, "cap")
        assert counts["b@example.com"] == 10 and counts["d@example.com"] == 0
        assert counts["a@example.com"] + counts["c@example.com"] == 30

        view = await teams.change(t, MemberChange(email="d@example.com", back=True))
        assert next(s for s in view.seats if s.email == "d@example.com").away_until is None
        await teams.change(t, MemberChange(email="a@example.com", away_until=TOMORROW))
        await teams.change(t, MemberChange(email="c@example.com", remove=True))
        await teams.change(t, MemberChange(email="e@example.com", weight=1, name="Eve"))
        later = await assign_many(teams, t, 12, "later")
        assert later == {"d@example.com": 10, "e@example.com": 2}  # weights 5:1, b capped, a away

        with pytest.raises(TeamChangeRejected, match="not a member"):
            await teams.change(t, MemberChange(email="zed@example.com", remove=True))
        with pytest.raises(TeamChangeRejected, match="weight must be at least 1"):
            await teams.change(t, MemberChange(email="e@example.com", weight=0))
        await record_and_end(dev_env.client.get_workflow_handle(team_workflow_id(t.name, queue)),
                             "router_caps_and_runtime_changes")
