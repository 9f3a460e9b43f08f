"""Activities for routing: a lead workflow asks its team's router for an owner (workflows cannot
send updates themselves), and a router reconciles its members with the CRMs' people."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

from temporalio import activity
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError

from activities.vendor_call import vendor_call
from config.playbook_loader import PlaybookError, stock_playbook
from config.routing import Team
from config.vendors import CRMS, Vendor
from connectors.base import Connector, Owner
from lifecycle.account import AccountState, account_owner_for_routing, canonical_domain
from workflows.account import AccountWorkflow
from workflows.account_models import account_workflow_id
from workflows.team_client import TeamClient
from workflows.team_models import (
    ASSIGN_OWNER,
    RECONCILE_OWNERS,
    Assignment,
    AssignOwnerInput,
    AssignRequest,
    CrmPerson,
)

# perf (issue 16): assignments one update carries at most (the router answers them in order).
MAX_ASSIGNMENTS_PER_UPDATE = 100


class _Gathered:
    """The assignments waiting for one router in this worker: while one update is in flight the
    next ones gather, then go together, so a router answers many leads per workflow task (a
    router took a few updates per task and fell behind at 20 new MQLs a second)."""

    def __init__(self) -> None:
        self.waiting: list[tuple[AssignRequest, asyncio.Future[Assignment]]] = []
        self.sender: asyncio.Task[None] | None = None


class RoutingActivities:
    def __init__(self, client: Client, task_queue: str, vendors: Sequence[str],
                 connectors: Callable[[str, str], Connector], accounts: bool = False) -> None:
        self._client, self._task_queue = client, task_queue
        self._accounts = accounts
        self._vendors = [v for v in vendors if v in CRMS]
        self._connectors = connectors
        self._gathered: dict[tuple[str, str], _Gathered] = {}

    @activity.defn(name=ASSIGN_OWNER)
    async def assign_owner(self, inp: AssignOwnerInput) -> Assignment:
        teams = TeamClient(self._client, self._task_queue, inp.playbook)
        request = inp.request
        if self._accounts and request.account and request.account_owner is None:
            # An account rule ("an account in Opportunity routes new leads to the account
            # owner") names the owner; the router still applies its away and cap rules.
            owner = await self._account_owner(request.account, inp.playbook)
            request = request.model_copy(update={"account_owner": owner})
        return await self._assign(teams, inp, request)

    async def _account_owner(self, domain: str, playbook: str) -> str | None:
        with contextlib.suppress(PlaybookError):  # a pinned playbook not shipped: as it is
            domain = canonical_domain(domain, stock_playbook(playbook).account_domains)
        handle = self._client.get_workflow_handle(account_workflow_id(domain, self._task_queue))
        try:
            state: AccountState | None = await handle.query(AccountWorkflow.state)
        except (RPCError, WorkflowQueryFailedError):  # no account yet: the usual routing
            return None
        return account_owner_for_routing(state)

    async def _assign(self, teams: TeamClient, inp: AssignOwnerInput,
                      request: AssignRequest) -> Assignment:
        if activity.info().attempt > 1:  # a retry goes alone (the request id makes it harmless)
            return await teams.assign(inp.team, request)
        gathered = self._gathered.setdefault((inp.playbook, inp.team.name), _Gathered())
        answer: asyncio.Future[Assignment] = asyncio.get_running_loop().create_future()
        gathered.waiting.append((request, answer))
        if gathered.sender is None:
            gathered.sender = asyncio.create_task(self._send(teams, inp.team, gathered))
        return await asyncio.shield(answer)

    @staticmethod
    async def _send(teams: TeamClient, team: Team, gathered: _Gathered) -> None:
        try:
            while gathered.waiting:
                batch = gathered.waiting[:MAX_ASSIGNMENTS_PER_UPDATE]
                del gathered.waiting[:len(batch)]
                try:
                    answers = await teams.assign_many(team, [request for request, _ in batch])
                except Exception as exc:  # each waiting activity fails, and is retried alone
                    for _, answer in batch:
                        if not answer.done():
                            answer.set_exception(exc)
                    continue
                for (_, answer), assignment in zip(batch, answers, strict=True):
                    if not answer.done():
                        answer.set_result(assignment)
        finally:
            gathered.sender = None

    @activity.defn(name=RECONCILE_OWNERS)
    async def reconcile_owners(self, playbook: str) -> list[CrmPerson]:
        """Everyone HubSpot and Salesforce know, one person per email with both ids."""
        people: dict[str, CrmPerson] = {}
        for vendor in self._vendors:
            owners = await vendor_call(self._connectors(vendor, playbook).owners)
            for owner in owners:
                _merge(people, vendor, owner)
        return list(people.values())


def _merge(people: dict[str, CrmPerson], vendor: str, owner: Owner) -> None:
    email = owner.email.strip().lower()
    if not email:
        return
    person = people.setdefault(email, CrmPerson(email=email, name=owner.name))
    if vendor == Vendor.HUBSPOT:
        person.hubspot_id = owner.id
    else:
        person.salesforce_id = owner.id
    # Deactivated in either CRM: the person has left or cannot own records there.
    person.active = person.active and owner.active
