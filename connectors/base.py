"""The vendor-neutral shape every connector speaks.

Activities hand connectors `LeadSnapshot`s and get one `SyncResult` back per lead,
in the same order, so a failure inside a vendor batch is always mapped back to the
lead it belongs to.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal, Protocol

from pydantic import BaseModel, Field


class LeadSnapshot(BaseModel):
    """What leadflow knows about one lead, as it should appear in every system."""

    email: str
    stage: str
    previous_stage: str | None = None
    cause: str = ""
    score: int = 0
    owner_id: str | None = None
    disqualification_reason: str | None = None
    loss_reason: str | None = None
    # A disqualified or lost lead whose reason only the CRM knows so far (a rep set the stage
    # there): the reason fields are left as they are, never blanked.
    keep_crm_reasons: bool = False
    follow_up_date: date | None = None
    # Issue 19: the lead's fit grade (A-D) and ICP status (pass, fail, unknown); None when the
    # playbook has no grades:/icp: section, and then nothing is written for them.
    fit_grade: str | None = None
    icp: str | None = None
    # Plain contact attributes (firstname, company, ...), copied as they are.
    properties: dict[str, str] = Field(default_factory=dict)
    # The properties already carry this vendor's own names, from the playbook's `fields:`
    # ("" clears a field); otherwise they are HubSpot-style names (config.lead_fields.DEFAULT_FIELDS).
    vendor_named: bool = False


class AccountSnapshot(BaseModel):
    """What leadflow knows about one account (company), as the HubSpot company and the
    Salesforce Account should show it; `domain` associates it with the vendor's record."""

    domain: str
    stage: str | None = None
    furthest_stage: str | None = None
    active_evaluation: bool = False
    demo_completed: bool = False
    leads: int = 0
    owner_id: str | None = None  # the owner of record's id in this vendor
    record_id: str | None = None  # the vendor's record, once an upsert answered it


class SyncResult(BaseModel):
    email: str
    ok: bool
    record_id: str | None = None
    vendor_code: str | None = None
    message: str | None = None
    retryable: bool = False
    # sync_lead with owner tasks: task key -> why the vendor refused that task for good
    failed_tasks: dict[str, str] = Field(default_factory=dict)


class ChangedRecord(BaseModel):
    """A record a person or another system changed in a vendor, read back for reconcile."""

    email: str
    record_id: str
    stage_value: str | None = None
    modified_at: datetime
    properties: dict[str, str | None] = Field(default_factory=dict)
    deleted: bool = False
    merged_into: str | None = None


class ChangedPage(BaseModel):
    records: list[ChangedRecord]
    next_cursor: str | None = None


class Owner(BaseModel):
    id: str
    email: str
    name: str = ""
    active: bool = True


class OwnerTask(BaseModel):
    email: str
    owner_id: str | None
    subject: str
    body: str
    due_at: datetime | None = None
    # leadflow's key for this task, the same on every retry: a connector that finds a task
    # with it already written returns that one instead of creating a second.
    key: str | None = None
    # The lead's record id in the vendor, as its last upsert answered: the task attaches to it
    # without a lookup (None: the connector finds the record by email).
    record_id: str | None = None


class Finding(BaseModel):
    """One check `leadflow doctor` ran against a vendor: ok, failed, or a step for a person."""

    vendor: str
    check: str
    status: Literal["ok", "failed", "manual"]
    detail: str = ""


class Connector(Protocol):
    name: str

    def upsert_leads(self, leads: list[LeadSnapshot]) -> list[SyncResult]: ...

    def changed_since(
        self, since: datetime, until: datetime | None, cursor: str | None
    ) -> ChangedPage: ...

    def owners(self) -> list[Owner]: ...

    def create_task(self, task: OwnerTask) -> str: ...

    def create_tasks(self, tasks: list[OwnerTask]) -> list[SyncResult]:
        """Tasks on records whose id is known, in batch requests; one result per task, in order
        (`record_id` of a result is the task's id)."""
        ...

    def provision(self) -> list[str]: ...


class VendorError(Exception):
    """A vendor refused a request. `retryable` tells the activity layer what to do with it;
    `retry_after` (seconds), when the vendor's answer says how long a retry should wait."""

    def __init__(self, vendor: str, code: str, message: str, *, retryable: bool,
                 retry_after: float | None = None) -> None:
        super().__init__(f"{vendor} {code}: {message}")
        self.vendor = vendor
        self.code = code
        self.retryable = retryable
        self.retry_after = retry_after
