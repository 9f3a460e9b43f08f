"""Activities for routing: a lead workflow asks its team's router for an owner (workflows cannot
send updates themselves), and a router reconciles its members with the CRMs' people."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

from temporalio import activity
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError

from activities.vendor_call import vendor_call
from config.playbook_loader import PlaybookError, stock_playbook
from config.vendors import CRMS, Vendor
from connectors.base import Connector, Owner
from lifecycle.account import AccountState, account_owner_for_routing, canonical_domain
from workflows.account import AccountWorkflow
from workflows.account_models import account_workflow_id
from workflows.team_client import TeamClient
from workflows.team_models import ASSIGN_OWNER, RECONCILE_OWNERS, Assignment, AssignOwnerInput, CrmPerson


class RoutingActivities:
    def __init__(self, client: Client, task_queue: str, vendors: Sequence[str],
                 connectors: Callable[[str, str], Connector], accounts: bool = False) -> None:
        self._client, self._task_queue = client, task_queue
        self._accounts = accounts
        self._vendors = [v for v in vendors if v in CRMS]
        self._connectors = connectors

    @activity.defn(name=ASSIGN_OWNER)
    async def assign_owner(self, inp: AssignOwnerInput) -> Assignment:
        teams = TeamClient(self._client, self._task_queue, inp.playbook)
        request = inp.request
        if self._accounts and request.account and request.account_owner is None:
            # An account rule ("an account in Opportunity routes new leads to the account
            # owner") names the owner; the router still applies its away and cap rules.
            owner = await self._account_owner(request.account, inp.playbook)
            request = request.model_copy(update={"account_owner": owner})
        return await teams.assign(inp.team, request)

    async def _account_owner(self, domain: str, playbook: str) -> str | None:
        with contextlib.suppress(PlaybookError):  # a pinned playbook not shipped: as it is
            domain = canonical_domain(domain, stock_playbook(playbook).account_domains)
        handle = self._client.get_workflow_handle(account_workflow_id(domain, self._task_queue))
        try:
            state: AccountState | None = await handle.query(AccountWorkflow.state)
        except (RPCError, WorkflowQueryFailedError):  # no account yet: the usual routing
            return None
        return account_owner_for_routing(state)

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
