"""Talking to lead workflows from Python: events as signal-with-start, commands as update-with-start.

A product backend can use this directly, without the HTTP hop:

    leads = LeadClient(await config.temporal.connect(load_settings()), "leadflow")
    await leads.send_event("ada@acme.io", event)

A lead it starts carries the config its workers published (workflows/queue_config.py), so the
lead need not ask them first; keep one LeadClient per process, it caches that config.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from config.playbook import Playbook
from config.playbook_catalog import PlaybookCatalog
from config.playbook_loader import playbook_catalog
from lifecycle.events import LeadEvent, check_event_size, lead_workflow_id
from lifecycle.selection import lead_attributes
from lifecycle.state import Closure, LeadState
from workflows import queue_config_client as queue_config
from workflows.lead import CLOSURE_MEMO, LeadWorkflow
from workflows.lead_models import (
    EVENT_SIGNAL,
    DeleteRequest,
    LeadClosed,
    LeadCommand,
    LeadConfig,
    LeadInput,
    LeadView,
    MergeRequest,
    PlaybookMigration,
    PlaybookRef,
    QueueConfig,
)

T = TypeVar("T")
# How long a published queue config is used before it is read again: a worker that boots with
# other vendors or playbooks reaches new leads this much later (leads started meanwhile get what
# the workers answered before, as a lead_config answered by a worker about to stop would).
CONFIG_TTL_S = 10.0
# How many merges an event follows (a merged into b merged into c ...) before giving up.
MAX_MERGE_HOPS = 5


def started(handle: WorkflowHandle) -> bool:
    """Whether the signal-with-start that made `handle` started a new lead (False when unknown).
    Temporal answers it (`SignalWithStartWorkflowExecutionResponse.started`); the SDK keeps the
    answer on the handle without a public name, so a missing one reads as "not known to be new"."""
    response = getattr(handle, "_start_workflow_response", None)
    return bool(getattr(response, "started", False))


async def closure_in(desc: WorkflowExecutionDescription) -> Closure | None:
    """The closure a lead's description holds: a running tombstone's memo (None otherwise)."""
    if desc.status != WorkflowExecutionStatus.RUNNING:
        return None
    found = await desc.memo_value(CLOSURE_MEMO, None)
    return Closure.model_validate(found) if found else None


class CommandRejected(Exception):
    """A person's command the playbook does not allow; the message says why."""


class MigrationRefused(Exception):
    """A lead that cannot move to the requested playbook version; the message says why."""


class LeadClient:
    def __init__(self, client: Client, task_queue: str, playbook: Playbook | str = "demo_led",
                 catalog: PlaybookCatalog | None = None) -> None:
        """`playbook` starts new leads; with a `catalog`, its `selection:` rules pick one per new
        lead from what the first event or command says (source, product, country, ...)."""
        self.client = client
        self.task_queue = task_queue
        self.playbook = playbook
        self.catalog = catalog
        self._published: QueueConfig | None = None  # by the workers of task_queue, read at ...
        self._read_at = -CONFIG_TTL_S  # ... this time.monotonic()
        self._configs: dict[str, LeadConfig | None] = {}  # playbook name -> built from _published

    async def _input(self, email: str, fields: dict[str, str] | None = None,
                     attributes: dict[str, str] | None = None) -> LeadInput:
        pb = self.playbook
        name = pb if isinstance(pb, str) else pb.name
        if isinstance(pb, str) and self.catalog is not None:
            name = self.catalog.select(lead_attributes(email, attributes, fields))
        return LeadInput(email=email, playbook_name=name, fields=fields or {},
                         playbook=None if isinstance(pb, str) else pb,
                         config=await self._config(name))

    async def _config(self, name: str) -> LeadConfig | None:
        """What the lead's worker would answer lead_config with, as its workers published it
        (workflows/queue_config.py), read at most every CONFIG_TTL_S; None when unknown (no
        worker published, or it serves another version of the playbook): the lead asks then.
        Only a new lead reads it (Temporal ignores a running lead's start input)."""
        if time.monotonic() - self._read_at >= CONFIG_TTL_S:
            published = await queue_config.published(self.client, self.task_queue)
            self._read_at = time.monotonic()  # "none published" too: one read per CONFIG_TTL_S
            if published != self._published:
                self._published, self._configs = published, {}
        if self._published is None:
            return None
        if name not in self._configs:
            self._configs[name] = self._published.lead_config(self.catalog or playbook_catalog(), name)
        return self._configs[name]

    async def send_event(self, email: str, event: LeadEvent) -> WorkflowHandle:
        """Durable once this returns: Temporal has accepted the signal (and started the lead).
        An event for a lead that was merged into another goes to the survivor. ValueError for an
        email that is none or an event over MAX_EVENT_BYTES."""
        check_event_size(event)
        # No closure is read first (one Temporal call per event, none more): a merge's tombstone
        # is running and forwards each event to the survivor itself, and a lead of an older run
        # that completed is followed all the same. `started(handle)` tells whether it is new.
        return await self.signal_with_start(email, EVENT_SIGNAL, event, event.properties,
                                            read_closure=False)

    async def signal_with_start(self, email: str, signal: str, arg: object,
                                attributes: dict[str, str] | None = None,
                                read_closure: bool = True) -> WorkflowHandle:
        """Signals the lead, starting it if new (in the playbook selected by `attributes`); a lead
        closed by a merge forwards to its survivor (found from its closure first unless
        `read_closure` is False: only events are forwarded by the tombstone itself, an absorb is
        not)."""

        async def attempt(email: str, policy: WorkflowIDReusePolicy) -> WorkflowHandle:
            return await self.client.start_workflow(
                LeadWorkflow.run, await self._input(email, attributes=attributes), id=lead_workflow_id(email),
                task_queue=self.task_queue, start_signal=signal, start_signal_args=[arg],
                id_reuse_policy=policy)

        return await self._following_merges(email, attempt, read_closure)

    async def command(self, email: str, cmd: LeadCommand) -> LeadView:
        """Runs a command on the lead (starting it if new, following a merge to its survivor);
        raises CommandRejected with the reason."""

        async def attempt(email: str, policy: WorkflowIDReusePolicy) -> LeadView:
            start = WithStartWorkflowOperation(
                LeadWorkflow.run, await self._input(email, attributes=cmd.properties),
                id=lead_workflow_id(email), task_queue=self.task_queue, id_reuse_policy=policy,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
            try:
                return await self.client.execute_update_with_start_workflow(
                    LeadWorkflow.command, cmd, start_workflow_operation=start)  # type: ignore[arg-type]
            except WorkflowUpdateFailedError as err:
                cause = err.cause
                message = cause.message if isinstance(cause, ApplicationError) else str(cause)
                raise CommandRejected(message) from err

        return await self._following_merges(email, attempt)

    async def _following_merges(self, email: str,
                                attempt: Callable[[str, WorkflowIDReusePolicy], Awaitable[T]],
                                read_closure: bool = True) -> T:
        """Runs `attempt` on the lead's workflow without restarting one that completed.

        A lead merged away now stays open as a tombstone whose closure (memo) names the survivor,
        which gets the message. A merged or deleted lead of an older run completed instead;
        Temporal refuses to start it again (reuse is allowed only after a failed run) and its
        result says where the lead went: a merged lead's survivor gets the message, a deleted lead
        starts afresh (a new person with that email). A deleted tombstone is still running: it
        gets the message, and only a person's reopen brings it back."""
        policy = WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY
        for _ in range(MAX_MERGE_HOPS + 1):
            closure = await self.closure(email) if read_closure else None
            if closure is not None and closure.survivor is not None:
                email = closure.survivor  # a tombstone of a merge: the survivor gets it directly
                continue
            try:
                return await attempt(email, policy)
            except WorkflowAlreadyStartedError:
                closed = await self.client.get_workflow_handle(
                    lead_workflow_id(email), result_type=LeadClosed).result()
                if closed.survivor_email is None:
                    policy = WorkflowIDReusePolicy.ALLOW_DUPLICATE
                else:
                    email = closed.survivor_email
        raise RuntimeError(f"{email}: more than {MAX_MERGE_HOPS} merges to follow")

    async def merge(self, merged_email: str, survivor_email: str, actor: str = "") -> None:
        """A CRM merged two leads: the merged-away lead hands its timeline to the survivor."""
        handle = self.client.get_workflow_handle(lead_workflow_id(merged_email))
        await handle.signal(LeadWorkflow.on_merge_into,
                            MergeRequest(survivor_email=survivor_email, actor=actor))

    async def delete(self, email: str, reason: str, actor: str = "") -> None:
        """The lead was deleted in a CRM: its workflow closes, its history is kept."""
        handle = self.client.get_workflow_handle(lead_workflow_id(email))
        await handle.signal(LeadWorkflow.on_deleted, DeleteRequest(reason=reason, actor=actor))

    async def resync(self, email: str) -> LeadView:
        """Writes the lead to every vendor again and retries the owner tasks a vendor refused,
        once an operator fixed what made them fail (a missing scope, a picklist value)."""
        handle = self.client.get_workflow_handle(lead_workflow_id(email))
        return await handle.execute_update(LeadWorkflow.resync)

    async def closure(self, email: str) -> Closure | None:
        """Whether the lead was deleted or merged away (its workflow keeps that in a memo, read
        without a worker); None for a lead that is open or unknown."""
        return await self.closure_of(self.client.get_workflow_handle(lead_workflow_id(email)))

    async def closure_of(self, handle: WorkflowHandle) -> Closure | None:
        """The closure of the lead behind `handle` (as `closure`)."""
        try:
            desc = await handle.describe()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return None
            raise
        return await closure_in(desc)

    async def view(self, email: str) -> LeadView:
        """Stage, owner, clocks, and the qualification: fit grade, ICP, handoff, frameworks."""
        view: LeadView = await self.client.get_workflow_handle(lead_workflow_id(email)).query(
            LeadWorkflow.view)
        return view

    async def state(self, email: str) -> LeadState | None:
        handle = self.client.get_workflow_handle(lead_workflow_id(email))
        state: LeadState | None = await handle.query(LeadWorkflow.state)
        return state

    async def playbook_version(self, email: str) -> PlaybookRef | None:
        """The playbook version the lead runs and its stage."""
        handle = self.client.get_workflow_handle(lead_workflow_id(email))
        ref: PlaybookRef | None = await handle.query(LeadWorkflow.playbook_ref)
        return ref

    async def migrate(self, email: str, request: PlaybookMigration) -> LeadView:
        """Moves a running lead to a newer version of its playbook; MigrationRefused says why not."""
        handle = self.client.get_workflow_handle(lead_workflow_id(email))
        try:
            return await handle.execute_update(LeadWorkflow.migrate_playbook, request)
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            why = cause.message if isinstance(cause, ApplicationError) else str(cause)
            raise MigrationRefused(why) from err
