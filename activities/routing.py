"""Activities for routing: a lead workflow asks its team's router for an owner (workflows cannot
send updates themselves), and a router reconciles its members with the CRMs' people."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from temporalio import activity
from temporalio.client import Client

from activities.vendor_call import vendor_call
from config.vendors import CRMS, Vendor
from connectors.base import Connector, Owner
from workflows.team_client import TeamClient
from workflows.team_models import ASSIGN_OWNER, RECONCILE_OWNERS, Assignment, AssignOwnerInput, CrmPerson


class RoutingActivities:
    def __init__(self, client: Client, task_queue: str, vendors: Sequence[str],
                 connectors: Callable[[str, str], Connector]) -> None:
        self._client, self._task_queue = client, task_queue
        self._vendors = [v for v in vendors if v in CRMS]
        self._connectors = connectors

    @activity.defn(name=ASSIGN_OWNER)
    async def assign_owner(self, inp: AssignOwnerInput) -> Assignment:
        teams = TeamClient(self._client, self._task_queue, inp.playbook)
        return await teams.assign(inp.team, inp.request)

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
