"""Everything that crosses LeadWorkflow's boundary: its inputs and outputs (as an operator types
them into the Temporal UI), the messages of the activities it runs, and their names on the wire.

Activities import these; the workflow imports no activity module. An activity is named here
once (`SYNC_LEAD`, ...) and registered under that name in activities/, so the workflow, the
worker and the recorded histories agree.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, Field, ValidatorFunctionWrapHandler, WrapValidator, field_validator

from config.playbook import Playbook
from config.vendors import CRMS
from connectors.base import LeadSnapshot, OwnerTask
from lifecycle import effects as fx
from lifecycle.events import EventKind, LeadEvent, normalize_email
from lifecycle.frameworks import Completeness, completeness, framework_of
from lifecycle.qualification import icp_status
from lifecycle.state import Handoff, LeadState

if TYPE_CHECKING:
    from config.playbook_catalog import PlaybookCatalog


class FailedTask(BaseModel):
    """An owner task a vendor refused: `resync` tries it again there, in this run or the next."""

    vendor: str
    notice: fx.NotifyOwner

# perf (issue 16): every lead run decodes its playbook (from its input or lead_config), about
# 75 KB of frozen models; runs with the same playbook share one decoded copy instead of each
# cached run holding its own. Equal JSON, equal (immutable) playbook: nothing a run decides changes.
_DECODED_PLAYBOOKS: dict[str, Playbook] = {}
MAX_SHARED_PLAYBOOKS = 64


def _shared(value: Any, handler: ValidatorFunctionWrapHandler) -> Playbook:
    if not isinstance(value, dict):
        return handler(value)  # type: ignore[no-any-return]
    key = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    found = _DECODED_PLAYBOOKS.get(key)
    if found is None:
        found = handler(value)
        if len(_DECODED_PLAYBOOKS) >= MAX_SHARED_PLAYBOOKS:
            _DECODED_PLAYBOOKS.clear()  # (atomic: workflow tasks run on several threads)
        _DECODED_PLAYBOOKS[key] = found
    return found


SharedPlaybook = Annotated[Playbook, WrapValidator(_shared)]


class LeadInput(BaseModel):
    """Start a lead: `{"email": "ada@acme.io", "playbook_name": "demo_led"}` is enough."""

    email: str
    playbook_name: str = "demo_led"
    fields: dict[str, str] = Field(default_factory=dict)
    source: str | None = None
    # A backfill starts a lead in the stage it found in the CRM (marked imported), and names
    # the vendors it already wrote that stage to, so the lead does not sync them one by one.
    initial_stage: str | None = None
    synced: dict[str, str] = Field(default_factory=dict)
    # Set by continue-as-new (or a client that pins a playbook version); operators leave them out.
    playbook: SharedPlaybook | None = None
    state: LeadState | None = None
    fingerprints: dict[str, str] = Field(default_factory=dict)
    ledger_seq: int = 0
    record_ids: dict[str, str] = Field(default_factory=dict)  # vendor -> the lead's record id
    # vendor -> the field values (by the vendor's names) leadflow last wrote there: a CRM
    # reporting one of them back is an echo (field-sync-v1).
    written_fields: dict[str, dict[str, str]] = Field(default_factory=dict)
    # Work the previous run had not done yet: a sync to check, effects waiting for routing,
    # and per vendor the owner tasks / analytics waiting for that vendor's record.
    sync_pending: bool = False
    pending_effects: list[fx.Effect] = Field(default_factory=list)
    held_effects: dict[str, list[fx.Effect]] = Field(default_factory=dict)
    # The lead's account once its first report resolved it, and a report not sent yet (account-v1).
    account: str | None = None
    account_pending: bool = False
    failed_tasks: list[FailedTask] = Field(default_factory=list)  # for the next resync
    # What lead_config would answer, from a starter inside the worker (a backfill) or one that
    # read what the workers published (LeadClient, workflows/queue_config.py): the run then skips
    # that activity (bundled-patches-v3). Never carried to the next run.
    config: LeadConfig | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return normalize_email(value, strict=False)  # replays leads started before strict emails


class LeadCommand(BaseModel):
    """A person's command: `{"kind": "confirm_sql", "properties": {"use_case": "..."}}`."""

    kind: EventKind
    properties: dict[str, str] = Field(default_factory=dict)
    actor: str = ""
    event_id: str | None = None


class MergeRequest(BaseModel):
    """This lead was merged into another in a CRM: hand the timeline over and close."""

    survivor_email: str
    actor: str = ""

    @field_validator("survivor_email")
    @classmethod
    def _email(cls, value: str) -> str:
        return normalize_email(value, strict=False)  # replays leads started before strict emails


class AbsorbRequest(BaseModel):
    merged_id: str
    merged_state: LeadState


class DeleteRequest(BaseModel):
    reason: str
    actor: str = ""


class LeadClosed(BaseModel):
    """How a lead workflow ended: merged into another lead, or deleted in the CRM."""

    email: str
    outcome: str
    stage: str
    survivor_email: str | None = None  # set when merged: later events for `email` go there


class LeadView(BaseModel):
    email: str
    stage: str
    score: int
    owner: str | None
    sla_due_at: datetime | None
    follow_up_at: datetime | None
    sync_errors: dict[str, str]
    team: str | None = None
    # Issue 19: fit grade, ICP status and why it is no pass, a handoff waiting for acceptance,
    # and how complete each qualification framework the playbook names is.
    fit_grade: str | None = None
    icp: str | None = None
    icp_reasons: list[str] = Field(default_factory=list)
    handoff: Handoff | None = None
    frameworks: list[Completeness] = Field(default_factory=list)

    @classmethod
    def of(cls, s: LeadState, pb: Playbook | None = None) -> LeadView:
        named = [f for st in pb.stages for r in st.required_fields if (f := framework_of(r))] if pb else []
        return cls(email=s.email, stage=s.stage, score=s.score, owner=s.owner,
                   sla_due_at=s.sla.due_at if s.sla else None,
                   follow_up_at=s.follow_up.due_at if s.follow_up else None,
                   sync_errors=dict(s.sync_errors), team=s.team, fit_grade=s.fit_grade, icp=s.icp,
                   icp_reasons=icp_status(pb, s.fields)[1] if pb else [], handoff=s.handoff,
                   frameworks=completeness(dict.fromkeys(named), s.fields))


# Signal names that signal-with-start needs as strings (it takes no typed reference).
EVENT_SIGNAL = "event"
ABSORB_SIGNAL = "absorb"

# Activity names on the wire: unchanged, so recorded histories replay.
LEAD_CONFIG = "lead_config"
SYNC_LEAD = "sync_lead"
CREATE_OWNER_TASK = "create_owner_task"
EMIT_ANALYTICS = "emit_analytics"
RECORD_LEDGER = "record_ledger"
FORWARD_MERGE = "forward_merge"
FORWARD_EVENTS = "forward_events"

TASK_VENDORS = CRMS  # the systems where owners work their tasks


def vendor_queue(task_queue: str, vendor: str) -> str:
    return f"{task_queue}-{vendor}"


class SyncLeadInput(BaseModel):
    vendor: str
    playbook: str
    snapshot: LeadSnapshot
    # bundled-patches-v3: owner tasks for this record, made once it is written (tasks batched
    # across leads, attached to the record id the upsert answered); refused ones come back in
    # SyncResult.failed_tasks.
    tasks: list[OwnerTask] = Field(default_factory=list)


class OwnerTaskInput(BaseModel):
    vendor: str
    playbook: str
    task: OwnerTask


class TrackInput(BaseModel):
    email: str
    event: str
    properties: dict[str, str]
    event_id: str  # stable across activity retries, so Segment deduplicates


class LeadConfig(BaseModel):
    playbook: SharedPlaybook
    vendors: list[str]
    ledger: bool = False  # whether this worker records the lead's facts in the ledger
    omit_search_attributes: list[str] = []  # personal ones the deployment keeps out of visibility
    # The playbooks the lead's `to_playbook:` transitions lead into, by name (a switch of motion).
    switch_targets: dict[str, SharedPlaybook] = {}  # shared like `playbook` (perf, issue 16)
    accounts: bool = False  # whether this worker runs AccountWorkflows (leads report to them)


class QueueConfig(BaseModel):
    """What the workers of a task queue answer lead_config with, but the playbooks themselves:
    those are named by the content hash of the current version each worker serves. Published by
    each worker at boot (workflows/queue_config.py) for the starters of new leads."""

    vendors: list[str]
    ledger: bool = False
    omit_search_attributes: list[str] = []
    accounts: bool = False
    playbooks: dict[str, str] = {}  # name -> playbook_hash of the current version

    def lead_config(self, catalog: PlaybookCatalog, name: str) -> LeadConfig | None:
        """The LeadConfig this queue's workers would answer for a lead of `name`, built from
        `catalog`; None unless the workers serve that playbook and each playbook it may switch
        into in the very versions `catalog` holds (same content hash)."""
        found = catalog.current.get(name)
        if found is None or self.playbooks.get(name) != found.hash:
            return None
        targets = catalog.switch_targets(found.playbook)
        if any(self.playbooks.get(t) != catalog.current[t].hash for t in targets):
            return None
        return LeadConfig(playbook=found.playbook, vendors=self.vendors, ledger=self.ledger,
                          omit_search_attributes=self.omit_search_attributes,
                          switch_targets=targets, accounts=self.accounts)


class PlaybookMigration(BaseModel):
    """`leadflow playbook migrate`: move the lead to `playbook` (a newer version of its playbook)
    if it runs the version `from_version` names (a `version:` label or a content-hash prefix)."""

    playbook: Playbook
    from_version: str
    actor: str = ""


class PlaybookRef(BaseModel):
    """Which playbook version a lead runs (the copy it carries), and its stage."""

    name: str
    version: str | None
    hash: str
    stage: str
    closed: bool = False  # deleted or merged away: a tombstone, not migrated


class ForwardMerge(BaseModel):
    survivor_email: str
    playbook_name: str
    merged_id: str
    merged_state: LeadState


class ForwardEvents(BaseModel):
    """Signals that reached a lead while it closed for a merge, for the survivor, in order."""

    survivor_email: str
    playbook_name: str
    items: list[LeadEvent | AbsorbRequest]
