"""Talking to team routers: every call is an update-with-start, so a team's router exists from
its first use, seeded from the playbook's team definition."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from config.routing import Team
from lifecycle.routing import Rotation, Seat
from workflows.team_models import (
    Assignment,
    AssignRequest,
    MemberChange,
    RouterInput,
    SyncReport,
    TeamView,
)
from workflows.team_router import TeamRouterWorkflow

# The production task queue (config.settings' default): its routers are plain `team:<name>`.
DEFAULT_TASK_QUEUE = "leadflow"
# Temporal admits a few in-flight updates per workflow (10 on the dev server) and refuses more
# with RESOURCE_EXHAUSTED; far more callers than that turn into a storm of retries in which the
# router's workflow tasks keep failing. So one process keeps at most 8 updates in flight per
# router and queues the rest. What still comes back busy (other processes) or aborted by a
# continue-as-new ("workflow update was aborted", UNAVAILABLE) is tried again with jittered
# backoff; request ids make a repeat harmless.
IN_FLIGHT_PER_ROUTER = 8
_gates: dict[tuple[int, str], asyncio.Semaphore] = {}
RETRIED = (RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.ABORTED, RPCStatusCode.UNAVAILABLE)
BUSY_RETRIES = 60
BUSY_BACKOFF_S = (0.02, 1.0)


class TeamChangeRejected(Exception):
    """A membership change the router refused; the message says why."""


def team_workflow_id(team: str, task_queue: str = DEFAULT_TASK_QUEUE) -> str:
    """`team:<name>`; routers of another deployment (a test's own task queue) sharing the
    namespace are kept apart by a suffix, so no lead is routed by a router nobody serves."""
    return f"team:{team}" if task_queue == DEFAULT_TASK_QUEUE else f"team:{team}@{task_queue}"


class TeamClient:
    def __init__(self, client: Client, task_queue: str, playbook: str) -> None:
        self.client, self.task_queue, self.playbook = client, task_queue, playbook

    def _start(self, team: Team) -> WithStartWorkflowOperation:
        return WithStartWorkflowOperation(
            TeamRouterWorkflow.run, RouterInput(team=team, playbook=self.playbook),
            id=team_workflow_id(team.name, self.task_queue), task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)

    async def _update(self, team: Team, update: Any, arg: Any = None) -> Any:
        key = (id(asyncio.get_running_loop()), team_workflow_id(team.name, self.task_queue))
        gate = _gates.setdefault(key, asyncio.Semaphore(IN_FLIGHT_PER_ROUTER))
        async with gate:
            return await self._update_now(team, update, arg)

    async def _update_now(self, team: Team, update: Any, arg: Any) -> Any:
        args = {} if arg is None else {"arg": arg}
        for attempt in range(BUSY_RETRIES):
            try:
                return await self.client.execute_update_with_start_workflow(
                    update, start_workflow_operation=self._start(team), **args)
            except WorkflowUpdateFailedError as err:
                cause = err.cause
                raise TeamChangeRejected(cause.message if isinstance(cause, ApplicationError)
                                         else str(cause)) from err
            except RPCError as err:
                if err.status not in RETRIED or attempt == BUSY_RETRIES - 1:
                    raise
                low, high = BUSY_BACKOFF_S
                await asyncio.sleep(random.uniform(low, min(high, low * 2 ** attempt)))
        raise AssertionError("unreachable")

    async def assign(self, team: Team, request: AssignRequest) -> Assignment:
        result: Assignment = await self._update(team, TeamRouterWorkflow.assign, request)
        return result

    async def assign_many(self, team: Team, requests: list[AssignRequest]) -> list[Assignment]:
        """Several assignments in one update, answered in order (see activities/routing.py)."""
        result: list[Assignment] = await self._update(team, TeamRouterWorkflow.assign_many, requests)
        return result

    async def change(self, team: Team, change: MemberChange) -> TeamView:
        result: TeamView = await self._update(team, TeamRouterWorkflow.change_member, change)
        return result

    async def sync_owners(self, team: Team) -> SyncReport:
        result: SyncReport = await self._update(team, TeamRouterWorkflow.sync_owners)
        return result

    async def view(self, team: Team) -> TeamView:
        """The running router's view, or the playbook's team when no lead has used it yet."""
        handle = self.client.get_workflow_handle(team_workflow_id(team.name, self.task_queue))
        try:
            view: TeamView = await handle.query(TeamRouterWorkflow.view)
            return view
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
        rot = Rotation(seats=[Seat.of(m) for m in team.members])
        return TeamView(team=team.name, manager=None, timezone=team.calendar.timezone,
                        seats=rot.seats, today={}, day=None, totals={}, running=False)
