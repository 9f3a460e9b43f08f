"""Inputs and outputs of TeamRouterWorkflow, as the CLI, the activities and the UI send them."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from config.routing import Team
from lifecycle.routing import Person, Rotation, Seat

Via = Literal["account", "rotation", "none"]


class RouterInput(BaseModel):
    """The team as the playbook defines it; `rotation` and the rest are carried by continue-as-new."""

    team: Team
    playbook: str = "demo_led"
    rotation: Rotation | None = None
    manager: Person | None = None
    recent: dict[str, Assignment] = Field(default_factory=dict)


class AssignRequest(BaseModel):
    request_id: str = Field(min_length=1)  # the same id returns the same answer (activity retries)
    lead_id: str
    role: str = ""
    account: str | None = None
    exclude: list[str] = Field(default_factory=list)  # current owner, on reassignment
    # The account's owner of record when an account rule routes its new leads to them (issue 18).
    account_owner: str | None = None


class Assignment(BaseModel):
    team: str
    owner: Person | None
    via: Via
    manager: Person | None = None


class MemberChange(BaseModel):
    """Adds the member if new; only the fields given change. Checked by the update's validator."""

    email: str
    remove: bool = False
    name: str | None = None
    weight: int | None = None
    daily_cap: int | None = None
    no_cap: bool = False
    away_until: date | None = None
    back: bool = False  # clears away_until


class CrmPerson(Person):
    active: bool = True


class SyncReport(BaseModel):
    matched: list[str]  # members now known by their CRM ids
    deactivated: list[str]  # members the CRMs know as inactive: no more leads
    unknown: list[str]  # members neither CRM knows
    vendors: list[str]


class TeamView(BaseModel):
    team: str
    manager: Person | None
    timezone: str
    seats: list[Seat]
    today: dict[str, int]
    day: date | None
    totals: dict[str, int]
    running: bool = True


RouterInput.model_rebuild()


# Activity names on the wire: unchanged, so recorded histories replay.
ASSIGN_OWNER = "assign_owner"
RECONCILE_OWNERS = "reconcile_owners"


class AssignOwnerInput(BaseModel):
    playbook: str
    team: Team
    request: AssignRequest
