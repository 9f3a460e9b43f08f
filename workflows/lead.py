"""LeadWorkflow: one long-running workflow per lead that owns its stage.

Handlers only decide (pure, synchronous): facts arrive as signals, commands as updates
whose validators refuse illegal ones before anything is written. The main loop runs what
the decisions ask for: vendor syncs in the background, owner tasks, ledger writes, and the
durable SLA and follow-up timers, whose due times live in the state so any event can move them.

Live `workflow.patched` ids (retire one once no running lead's history predates it: a run
started before a patch keeps the old path until it continues-as-new or closes):
| id                         | since     | what it guards                                                |
| routing-v1                 | routing   | leads entering an owned stage ask their team's router         |
| crm-conflict-race-v1       | CRM sync  | a CRM change during a sync is written over again              |
| strict-email-v1            | issue 14  | a new lead's email must pass the strict normal form           |
| bounded-ledger-batches-v1  | issue 14  | ledger writes go in batches of at most LEDGER_BATCH_BYTES     |
| carry-pending-v1           | issue 14  | continue-as-new carries pending syncs, routing and owner tasks |
| sync-any-field-v1          | issue 14  | every change (score, fields, owner) is synced, not only stages |
| vendor-lanes-v1            | issue 14  | each vendor syncs on its own; a task waits only for its vendor |
| merge-forward-v1           | issue 14  | events reaching a lead closing for a merge go to the survivor |
| task-record-id-v1          | issue 16  | owner tasks name the record id the lead's last upsert answered |
| playbook-promises-v1       | issue 13  | the engine's current rules (`legacy=False`); facts named like |
|                            |           | commands are touches; a deleted or merged lead is a tombstone |
| bundled-patches-v1         | issue 16  | a run that records it takes every id above as patched without |
|                            |           | asking each; keeps one SLA/follow-up timer per due time, not  |
|                            |           | one per wait; and a lead's first routing comes before its CRM |
|                            |           | writes (at most ROUTE_WAIT), so one upsert carries the owner  |
| playbook-select-v1         | issue 19  | a run whose lead_config names switch targets may take a       |
|                            |           | `to_playbook:` transition into another playbook's motion      |
| playbook-migrate-v1        | issue 19  | the migrate_playbook update moves the lead to a new version   |
| rules-v1                   | issue 19  | time-based transitions and handoff acceptance fire on the     |
|                            |           | lead's timers (`lifecycle.rule_timers.rule_clocks`)           |
| field-sync-v1              | issue 18  | snapshots carry the playbook's `fields:` by vendor name; CRM  |
|                            |           | field changes follow their rules (echoes dropped, overwrites) |
| account-v1                 | issue 18  | each stage or owner change is reported to the lead's account  |
| event-batches-v1           | issue 14  | a workflow task decides at most EVENTS_PER_TASK events; the   |
|                            |           | rest queue in an inbox, worked off after a 1 ms timer         |
| bounded-fields-v1          | issue 14  | event properties become fields within lifecycle.fields bounds |
| score-decay-timer-v1       | issue 13  | a lead wakes when about a point has decayed (1 h to 7 d) and  |
|                            |           | writes its lower score (CRMs, LeadScore) with no event        |
| patches-read-early-v1      | issue 14  | every id above is read in `__init__`, in the run's first task |
| lead-config-activity-v1    | issue 14  | lead_config runs as an activity, no longer a local activity   |
| bundled-patches-v2         | issue 16  | a run that records it takes every id above as patched, asking |
|                            |           | one id (each id costs a marker and a search-attribute upsert) |
| bundled-patches-v3         | issue 16  | as v2, and: owner tasks ride in their vendor's sync_lead      |
|                            |           | activity with the record's write; the routing hold's timer is |
|                            |           | cancelled once the owner is known (no fire, no extra task);   |
|                            |           | a run whose input carries its LeadConfig (backfill) skips the |
|                            |           | lead_config activity; search-attribute upserts carry only the |
|                            |           | keys that changed                                             |
| bundled-patches-v4         | issue 14  | as v3, and: a run ends only once its one ledger writer has    |
|                            |           | written every batch (it used to start a second writer and end |
|                            |           | when the first of the two finished, dropping a batch)         |

Where `patched()` may be called (issue 14): only in `__init__` (or in `run()` before its first await).
During replay Temporal answers `patched(id)` from the markers of the workflow task being replayed
(sdk-core looks ahead one task), so a first call must fall in the same workflow task in the original
run and in every replay. Code after `await lead_config` does not: when a query reaches the lead while
that local activity runs (LeadClient queries a lead it just started), sdk-core writes the activity's
marker in the first task but hands the result to the workflow only in a second, forced task, and on
replay it hands it over in the first. A marker first written after that point (bounded-ledger-batches-v1
in tests/replay/known_unreplayable/) is then met after `patched()` already answered False: the task
fails with a nondeterminism error on every retry, after any worker restart or cache eviction. So a run
with patches-read-early-v1 reads every id of the table in `__init__` (EARLY_PATCHES), where the SDK
memoizes its answer for the later call sites; a run recorded before it keeps reading them where it did,
which replays as it ran unless that run met the split (no workflow code can rescue those). A new
patch id is read in `__init__` (directly or through EARLY_PATCHES), never first after an await.
The same split also moves the signals that reached the lead during its first task: the original run
applied them before the code after lead_config, a replay applies them after it, and the commands
differ (a nondeterminism error on an UpsertWorkflowSearchAttributes or ActivityTaskScheduled event).
No placement of a call avoids that, so a run with lead-config-activity-v1 fetches its config with an
ordinary activity, whose result is an event in history that replay delivers where the run saw it.
A run started with bundled-patches-v2 reads that one id in `__init__` and every other as patched:
a new patch id is added to the table (and so to the bundle's meaning) only together with a new
bundle id (bundled-patches-v3, ...) read before it; older runs keep asking ids one by one.

playbook-promises-v1 is read once per run (in `__init__`), so a run that replays an older history
keeps the old rules until it continues as new. With both playbook-promises-v1 and merge-forward-v1,
a lead merged away queues what reaches it between the merge request and its closure, forwards that
queue to the survivor (FORWARD_EVENTS), then stays open as a tombstone that signals each later event
to the survivor.

With event-batches-v1, a workflow task decides at most EVENTS_PER_TASK events and absorbs: the
handlers decide them at once while the task has room, later ones wait in `_inbox`, which the main
loop works off in order, a task at a time, so thousands of signals that queued while no worker
ran never make one activation overrun the deadlock detector (TMPRL1101). Queued events stay in
this run's history until decided: the run continues as new only with an empty inbox, and a
command waits for the events that arrived before it (its validator then leaves the refusal to
the handler).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

import pydantic
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from config import metrics as mx
    from config.playbook import Playbook
    from config.playbook_versions import is_version, playbook_hash
    from config.vendors import Vendor
    from connectors.base import LeadSnapshot, OwnerTask, SyncResult
    from lifecycle import effects as fx
    from lifecycle.account import LeadReport
    from lifecycle.closure import close
    from lifecycle.engine import Decision, brings_crm_reason, decay, decide, new_lead
    from lifecycle.events import (
        COMMAND_VERBS,
        TIMER_KINDS,
        EventKind,
        LeadEvent,
        as_fact,
        lead_workflow_id,
        normalize_email,
    )
    from lifecycle.field_sync import lead_echoes
    from lifecycle.ledger_entry import LedgerBatch, LedgerEntry, entry_for
    from lifecycle.merge import absorb
    from lifecycle.migration import MigrationRefused, migrate
    from lifecycle.motion import JOINED_PREFIX, decide_with_motions
    from lifecycle.routing import assign
    from lifecycle.rule_timers import rule_clocks
    from lifecycle.scoring import next_decay_at
    from lifecycle.state import LeadState, StageChange
    from workflows import search_attributes as sa
    from workflows.account_models import JOIN_ACCOUNT, AccountJoined, JoinAccount
    from workflows.lead_models import (
        ABSORB_SIGNAL,
        CREATE_OWNER_TASK,
        EMIT_ANALYTICS,
        EVENT_SIGNAL,
        FORWARD_EVENTS,
        FORWARD_MERGE,
        LEAD_CONFIG,
        RECORD_LEDGER,
        SYNC_LEAD,
        TASK_VENDORS,
        AbsorbRequest,
        DeleteRequest,
        FailedTask,
        ForwardEvents,
        ForwardMerge,
        LeadClosed,
        LeadCommand,
        LeadConfig,
        LeadInput,
        LeadView,
        MergeRequest,
        OwnerTaskInput,
        PlaybookMigration,
        PlaybookRef,
        SyncLeadInput,
        TrackInput,
        vendor_queue,
    )
    from workflows.team_models import ASSIGN_OWNER, Assignment, AssignOwnerInput, AssignRequest
    from workflows.vendor_snapshot import fingerprint, snapshot

# Owner tasks name the record, so the vendor worker batches them without a lookup.
TASK_RECORD_ID = "task-record-id-v1"
FIELD_SYNC = "field-sync-v1"
# perf (issue 16): Temporal's core records two history events (a marker and an upsert of the
# TemporalChangeVersion search attribute) for every patch id a new run asks: 18 of the 64 events
# of a routed MQL with owner tasks. A run started since this patch asks only it and takes every id
# of the table above (all of which it would have found patched); a run started before asks each
# id as it always did. A patch added later is asked on its own (`workflow.patched`), as before.
BUNDLED_PATCHES = "bundled-patches-v1"
# Since BUNDLED_PATCHES a lead's CRM writes wait this long at most for its first routing, so one
# upsert carries stage and owner; a slow router (a CRM outage while it reconciles) then costs only
# the second write it used to.
ROUTE_WAIT = timedelta(seconds=2)
# The ids BUNDLED_PATCHES stands for (the table as it was then).
BUNDLED_V1_IDS = frozenset({"routing-v1", "crm-conflict-race-v1", "strict-email-v1",
                            "bounded-ledger-batches-v1", "carry-pending-v1", "sync-any-field-v1",
                            "vendor-lanes-v1", "merge-forward-v1", TASK_RECORD_ID,
                            "playbook-promises-v1"})
# A run started since this patch asks only it and takes every id of the table as patched,
# BUNDLED_PATCHES and the ids added after it included (one marker for ~20 ids).
BUNDLED_PATCHES_V2 = "bundled-patches-v2"
# Every id of the table, v2's meaning included, and what the table's row for it names (owner
# tasks in the sync activity: two activities and two workflow tasks fewer per routed MQL).
BUNDLED_PATCHES_V3 = "bundled-patches-v3"
# v3's meaning, and: a run ending (continue-as-new, closure) waits for the ledger writer it has,
# where it used to start a second one beside it and end when the first of the two finished,
# dropping the batch the other had not written yet.
BUNDLED_PATCHES_V4 = "bundled-patches-v4"

# Bounded history per run; Temporal may suggest continuing earlier.
MAX_EVENTS_PER_RUN = 500
ACCOUNT_PATCH = "account-v1"
# -- event batches (issue 14): how many queued signals one workflow task decides
# A cached run decides 500 queued events in about 50 ms, a replay (sandbox included) in about
# 0.5 s on a loaded 2-core machine: far inside the SDK's 2 s deadlock detector (TMPRL1101).
# Each pause costs a timer round trip (about 1 s on the dev server), so batches stay large.
BATCHES_PATCH = "event-batches-v1"
EVENTS_PER_TASK = 500
BATCH_PAUSE = timedelta(milliseconds=1)  # a timer that ends the task; the next one goes on
# -- end event batches
DECAY_PATCH = "score-decay-timer-v1"  # issue 13: decay wake-ups (lifecycle.scoring.next_decay_at)
PROMISES_PATCH = "playbook-promises-v1"
SELECT_PATCH = "playbook-select-v1"  # switching motion (to_playbook)
MIGRATE_PATCH = "playbook-migrate-v1"
RULES_PATCH = "rules-v1"
# Issue 14: read in `__init__` by runs that started with EARLY_PATCH (see the module docstring).
EARLY_PATCH = "patches-read-early-v1"
CONFIG_ACTIVITY_PATCH = "lead-config-activity-v1"  # issue 14: see the module docstring
EARLY_PATCHES = ("routing-v1", "crm-conflict-race-v1", "bounded-ledger-batches-v1", TASK_RECORD_ID,
                 SELECT_PATCH, MIGRATE_PATCH)
CLOSURE_MEMO = "closure"  # what ingest reads (describe) to answer events for a closed lead
VENDOR_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1),
                           maximum_interval=timedelta(minutes=5))
# Each record_ledger payload stays far below Temporal's 2 MB payload limit however many events
# queued for one task (each event is at most MAX_EVENT_BYTES, so one entry is too).
LEDGER_BATCH_BYTES = 256 * 1024
LEDGER_RETRY = RetryPolicy(initial_interval=timedelta(seconds=2),
                           maximum_interval=timedelta(minutes=10))


def _checked_input(inp: object, extra: tuple[object, ...]) -> LeadInput:
    """The one LeadInput a lead starts with; anything else fails the workflow, never its task."""
    if extra or inp is None:
        raise ApplicationError(f"LeadWorkflow takes exactly one input, {{\"email\": ..., "
                               f"\"playbook_name\": ...}}; it was given {len(extra) + (inp is not None)}",
                               type="InvalidInput", non_retryable=True)
    if isinstance(inp, LeadInput):
        return inp
    checked = LeadInput.model_validate(inp)
    # perf (issue 16): `*extra` makes the SDK decode the input untyped, as plain JSON, and it keeps
    # those arguments for the whole run. A pinned playbook or a continued run's state is about
    # 80 KB of dicts and lists per cached run, next to the models decoded from it (bench/scale.py).
    # Emptied here, a cached run holds its input once. Replay decodes the input afresh.
    if isinstance(inp, dict):
        inp.clear()
    return checked


def _first_batch(entries: list[LedgerEntry]) -> tuple[list[LedgerEntry], list[LedgerEntry]]:
    """The leading entries that fit LEDGER_BATCH_BYTES (at least one), and the rest."""
    size, end = 0, 0
    while end < len(entries):
        size += len(entries[end].model_dump_json())
        if end and size > LEDGER_BATCH_BYTES:
            break
        end += 1
    return entries[:end], entries[end:]


@workflow.defn(name="LeadWorkflow", failure_exception_types=[pydantic.ValidationError])
class LeadWorkflow:
    # `*extra` and the default keep the SDK from failing the workflow *task* (forever) on a start
    # with another number of inputs (`temporal workflow start --input A --input B`): with them the
    # SDK decodes without type hints and _checked_input fails the workflow with the reason.
    @workflow.init
    def __init__(self, inp: LeadInput | None = None, *extra: object) -> None:
        inp = _checked_input(inp, extra)
        # perf (issue 16): one patch id for the whole table; see _patched.
        self._bundle4 = workflow.patched(BUNDLED_PATCHES_V4)
        self._bundle3 = self._bundle4 or workflow.patched(BUNDLED_PATCHES_V3)
        self._bundle2 = self._bundle3 or workflow.patched(BUNDLED_PATCHES_V2)
        self._bundled = self._bundle2 or workflow.patched(BUNDLED_PATCHES)
        self._timer: asyncio.Task[None] | None = None  # since BUNDLED_PATCHES: see _wait_on_timer
        self._timer_due: datetime | None = None
        # Decided once per run, before any handler: a replayed older run keeps its old rules.
        self._legacy = not self._patched(PROMISES_PATCH)
        self._input = inp
        self._playbook: Playbook | None = inp.playbook
        self._vendors: list[str] = []
        self._ledger_on = False
        self._state: LeadState | None = inp.state
        self._early: list[LeadEvent | AbsorbRequest] = []  # arrived before the playbook loaded
        self._batched = self._patched(BATCHES_PATCH)  # read once per run, like the others
        self._inbox: list[LeadEvent | AbsorbRequest] = []  # queued, decided by the loop in order
        self._task_mark, self._decided_in_task = -1, 0  # this workflow task, and what it decided
        self._bounded_fields = self._patched("bounded-fields-v1")
        self._decay_timer = self._patched(DECAY_PATCH)
        # The decay wake-up: one timer of its own, left running while events come (waking
        # early only finds less to write), so an event costs no timer cancel-and-restart.
        self._decay_sleeper: asyncio.Task[None] | None = None
        self._decay_due = False
        # Decided once per run, before any handler can commit (see the table above).
        self._carry_pending = self._patched("carry-pending-v1")
        self._sync_any_field = self._patched("sync-any-field-v1")
        self._lanes_on = self._patched("vendor-lanes-v1")
        self._merge_forward = self._patched("merge-forward-v1")
        self._routing_first = False  # the routing in flight is the lead's first (see _holding)
        self._hold_until: datetime | None = None
        self._rules = self._patched(RULES_PATCH)
        self._field_sync = self._patched(FIELD_SYNC)
        self._written: dict[str, dict[str, str]] = {v: dict(f) for v, f in inp.written_fields.items()}
        # account-v1: the lead reports to its AccountWorkflow (when the worker runs accounts).
        self._account_on, self._accounts_run = self._patched(ACCOUNT_PATCH), False
        self._account, self._account_dirty, self._account_busy = inp.account, inp.account_pending, False
        if not self._bundled and workflow.patched(EARLY_PATCH):
            for patch in EARLY_PATCHES:  # the SDK memoizes each answer for the later call sites
                workflow.patched(patch)
        self._config_activity = self._patched(CONFIG_ACTIVITY_PATCH)
        self._sync_dirty = inp.state is None or inp.sync_pending
        self._synced: dict[str, str] = dict(inp.synced)
        self._fingerprints: dict[str, str] = dict(inp.fingerprints)
        self._record_ids: dict[str, str] = dict(inp.record_ids)  # vendor -> the lead's record id
        self._tasks: list[fx.Effect] = list(inp.pending_effects)  # in order, held while routing
        # Per vendor: owner tasks and analytics waiting for that vendor's record to be written.
        self._held: dict[str, list[fx.Effect]] = {v: list(e) for v, e in inp.held_effects.items()}
        self._lanes: dict[str, asyncio.Task[None]] = {}  # one sync loop per vendor
        self._lane_dirty: set[str] = set()
        self._draining = False
        self._late: list[LeadEvent | AbsorbRequest] = []  # reached us while merging away
        self._routing: asyncio.Task[None] | None = None  # holds later owner tasks for the new owner
        # Owner tasks a vendor refused, retried by resync; carried across continue-as-new.
        self._failed_tasks: list[tuple[str, fx.NotifyOwner]] = [
            (t.vendor, t.notice) for t in inp.failed_tasks]
        self._ledger: list[LedgerEntry] = []
        self._ledger_seq = inp.ledger_seq
        self._jobs: set[asyncio.Task[None]] = set()
        self._task_seq = 0  # numbers this run's owner tasks: their keys in the CRMs
        self._sync_task: asyncio.Task[None] | None = None
        self._ledger_task: asyncio.Task[None] | None = None
        self._events_this_run = 0
        self._woken = False
        self._closing: DeleteRequest | MergeRequest | None = None
        self._search: sa.Values = {}
        self._omit_search: set[str] = set()  # from lead_config (see run)
        self._targets: dict[str, Playbook] = {}  # playbooks a to_playbook transition may join
        if self._playbook is not None and self._state is None:
            self._start(self._playbook)

    @workflow.run
    async def run(self, inp: LeadInput | None = None, *extra: object) -> LeadClosed:
        inp = self._input
        if inp.state is None and self._patched("strict-email-v1"):
            try:  # what ingest, the CLI and LeadClient check; an operator's start too
                normalize_email(inp.email)
            except ValueError as exc:
                raise ApplicationError(str(exc), type="InvalidInput", non_retryable=True) from None
        if inp.config is not None and self._bundle3:  # the worker's answer, in the input
            config = inp.config
        elif self._config_activity:  # a local activity's result may reach the workflow a task late
            try:
                config: LeadConfig = await workflow.execute_activity(
                    LEAD_CONFIG, inp.playbook_name, result_type=LeadConfig,
                    start_to_close_timeout=timedelta(seconds=30))
            except ActivityError as err:  # an unknown playbook: the run fails with the reason
                raise ApplicationError(str(err.cause or err), type=getattr(err.cause, "type", None),
                                       non_retryable=True) from None
        else:
            config = await workflow.execute_local_activity(
                LEAD_CONFIG, inp.playbook_name, result_type=LeadConfig,
                start_to_close_timeout=timedelta(seconds=30))
        self._vendors, self._ledger_on = config.vendors, config.ledger
        # Recorded in the lead_config result, so a replay leaves out what the run left out.
        self._omit_search = set(config.omit_search_attributes)
        if config.switch_targets and self._patched(SELECT_PATCH):
            self._targets = config.switch_targets
        self._accounts_run = config.accounts
        for vendor in [v for v in self._held if v not in self._vendors]:
            del self._held[vendor]  # a vendor this worker no longer syncs takes no tasks
        if self._playbook is None:
            self._playbook = config.playbook
            self._start(config.playbook)
        if self._batched:  # the loop decides them, in bounded batches, before anything later
            self._inbox[:0] = self._early
        else:
            for early in self._early:
                self._absorb(early) if isinstance(early, AbsorbRequest) else self._apply(early)
        self._early.clear()
        while True:
            while self._inbox or not self._ready_to_continue():
                self._decide_queued()
                self._run_effects()
                if self._inbox:  # a backlog: end this workflow task, go on in the next
                    self._upsert_search_attributes()
                    await workflow.sleep(BATCH_PAUSE)
                else:
                    await self._wait()
                self._fire_due_timers()
            await self._drain()
            if self._inbox:  # arrived while draining: decided here, never left behind
                self._draining = False
                continue
            if self._closing is None:
                break
            if self._legacy:
                return await self._close(self._closing)
            await self._close_for_good(self._closing)
        closure = None if self._legacy or self._state is None else self._state.closure
        # A tombstone's next run keeps the memo that ingest and LeadClient read.
        workflow.continue_as_new(self._carry_over(), memo={
            CLOSURE_MEMO: closure.model_dump(mode="json")} if closure else None)

    def _patched(self, patch_id: str) -> bool:
        """`workflow.patched` for an id of the table above: every id is patched in a run that
        started with bundled-patches-v2, the ids of its time in one with bundled-patches-v1."""
        if self._bundle2 or (self._bundled and patch_id in BUNDLED_V1_IDS):
            return True
        return workflow.patched(patch_id)

    # -- handlers ---------------------------------------------------------------------------

    @workflow.signal(name=EVENT_SIGNAL)
    def on_event(self, event: LeadEvent) -> None:
        if not self._legacy:
            event = as_fact(event)  # a person's command comes only through the command update
        if self._forwarding():
            self._late.append(event)
        elif self._state is None:
            self._early.append(event)
        elif self._batched and (self._inbox or not self._room_in_task()):
            self._inbox.append(event)
        elif not self._is_echo(event):
            self._apply(event)

    @workflow.signal(name=ABSORB_SIGNAL)
    def on_absorb(self, request: AbsorbRequest) -> None:
        if self._forwarding():
            self._late.append(request)
        elif self._state is None:
            self._early.append(request)
        elif self._batched and (self._inbox or not self._room_in_task()):
            self._inbox.append(request)
        else:
            self._absorb(request)

    @workflow.signal(name="merge_into")
    def on_merge_into(self, request: MergeRequest) -> None:
        self._close_on(request)

    @workflow.signal(name="deleted")
    def on_deleted(self, request: DeleteRequest) -> None:
        self._close_on(request)

    def _close_on(self, request: DeleteRequest | MergeRequest) -> None:
        if not self._legacy and self._state is not None and self._state.closure is not None:
            return  # closed already (a redelivered deletion or merge)
        self._closing = request
        self._woken = True

    @workflow.update(name="command")
    async def command(self, cmd: LeadCommand) -> LeadView:
        # A command follows the events that reached the lead before it.
        await workflow.wait_condition(lambda: self._state is not None and not self._inbox)
        decision = self._decide(self._as_event(cmd))
        if decision.rejection:
            raise ApplicationError(decision.rejection, type="CommandRejected", non_retryable=True)
        self._commit(decision, self._as_event(cmd))
        return self.view()

    @command.validator
    def validate_command(self, cmd: LeadCommand) -> None:
        if cmd.kind not in COMMAND_VERBS:
            raise ValueError(f"{cmd.kind.value} is a fact, not a command: send it as an event signal")
        if self._closing is not None:
            raise ValueError("this lead is closing (merged or deleted)")
        if self._state is not None and not self._inbox:  # else the handler decides, after them
            rejection = self._decide(self._as_event(cmd)).rejection
            if rejection:
                raise ValueError(rejection)

    @workflow.update(name="resync")
    def resync(self) -> LeadView:
        """Retries the vendor sync, and the owner tasks that failed, after an operator fixed
        what made them fail."""
        assert self._state is not None
        if not self._legacy:
            failed, self._failed_tasks = self._failed_tasks, []
            for vendor, notice in failed:  # only where it failed: the other CRMs have theirs
                self._spawn(self._create_task(vendor, notice))
        self._state.sync_errors.clear()
        self._fingerprints.clear()
        self._sync_dirty = self._woken = True
        return self.view()

    @workflow.update(name="migrate_playbook")
    async def migrate_playbook(self, request: PlaybookMigration) -> LeadView:
        """Moves the lead to a newer version of its playbook (`leadflow playbook migrate`)."""
        await workflow.wait_condition(lambda: self._state is not None)
        assert self._state is not None and self._playbook is not None
        try:
            decision, detail = migrate(self._playbook, request.playbook, self._state, workflow.now())
        except MigrationRefused as exc:
            raise ApplicationError(str(exc), type="MigrationRefused", non_retryable=True) from None
        self._patched(MIGRATE_PATCH)
        self._playbook = request.playbook
        self._commit(decision, None, detail=detail + (f" by {request.actor}" if request.actor else ""))
        return self.view()

    @migrate_playbook.validator
    def validate_migration(self, request: PlaybookMigration) -> None:
        if self._closing is not None:
            raise ValueError("this lead is closing (merged or deleted)")
        if self._state is not None and self._playbook is not None:
            if not is_version(self._playbook, request.from_version):
                raise ValueError(f"the lead runs {self._playbook.name} {self._playbook.version or ''} "
                                 f"({playbook_hash(self._playbook)}), not {request.from_version}")
            try:
                migrate(self._playbook, request.playbook, self._state, workflow.now())
            except MigrationRefused as exc:
                raise ValueError(str(exc)) from None

    @workflow.query(name="playbook")
    def playbook_ref(self) -> PlaybookRef | None:
        """The playbook version the lead runs (its carried copy) and its stage."""
        if self._state is None or self._playbook is None:
            return None
        return PlaybookRef(name=self._playbook.name, version=self._playbook.version,
                           hash=playbook_hash(self._playbook), stage=self._state.stage,
                           closed=self._state.closure is not None)

    @workflow.query(name="state")
    def state(self) -> LeadState | None:
        return self._state

    @workflow.query(name="history")
    def history(self) -> list[StageChange]:
        return self._state.history if self._state else []

    @workflow.query(name="view")
    def view(self) -> LeadView:
        assert self._state is not None
        return LeadView.of(self._state, self._playbook)

    # -- deciding ---------------------------------------------------------------------------

    def _start(self, playbook: Playbook) -> None:
        inp = self._input
        try:
            decision = new_lead(playbook, inp.email, workflow.now(), inp.fields, inp.source,
                                imported_stage=inp.initial_stage, legacy=self._legacy)
        except KeyError as exc:
            raise ApplicationError(f"initial_stage: unknown stage {exc} in playbook {playbook.name}",
                                   type="InvalidInput", non_retryable=True) from exc
        self._state = decision.state
        for vendor, stage in inp.synced.items():  # a backfill already wrote these
            if stage == decision.state.stage:
                self._fingerprints[vendor] = fingerprint(self._snapshot(decision.state, vendor, stage))
        self._commit(decision, None, kind="created")

    def _as_event(self, cmd: LeadCommand) -> LeadEvent:
        update = workflow.current_update_info()
        return LeadEvent(
            event_id=cmd.event_id or (update.id if update else str(workflow.uuid4())),
            kind=cmd.kind, occurred_at=workflow.now(), actor=cmd.actor,
            properties=cmd.properties,
        )

    def _decide(self, event: LeadEvent) -> Decision:
        assert self._playbook is not None and self._state is not None
        if self._targets:  # may join another playbook's motion (lifecycle/motion.py)
            return decide_with_motions(self._playbook, self._state, event, workflow.now(),
                                       self._targets, legacy=self._legacy,
                                       bounded_fields=self._bounded_fields)
        return decide(self._playbook, self._state, event, workflow.now(), legacy=self._legacy,
                      bounded_fields=self._bounded_fields)

    def _apply(self, event: LeadEvent) -> None:
        closure = self._state.closure if self._state else None
        if closure is not None and closure.survivor and event.kind not in COMMAND_VERBS:
            self._spawn(self._forward(closure.survivor, event))
            return
        if event.kind == EventKind.CRM_FIELDS_CHANGED:
            event = self._without_echoes(event)
        decision = self._decide(event)
        if decision.accepted:  # a refused fact is dropped: facts are not requests
            self._commit(decision, event, detail=decision.detail)
        if event.kind == EventKind.CRM_STAGE_CHANGED:
            self._settle_crm_conflict(event)
        for system in decision.rewrite if self._field_sync else []:
            if system in self._vendors:  # leadflow's values go back over that CRM's edit
                self._fingerprints.pop(system, None)
                self._sync_dirty = self._woken = True

    def _room_in_task(self) -> int:
        """How many more events this workflow task may decide (and counts one taken). The
        history length names the task: it grows between tasks, never within one."""
        length = workflow.info().get_current_history_length()
        if length != self._task_mark:
            self._task_mark, self._decided_in_task = length, 0
        room = EVENTS_PER_TASK - self._decided_in_task
        if room > 0:
            self._decided_in_task += 1
        return room

    def _decide_queued(self) -> None:
        """Decides the oldest queued events and absorbs, as many as this task has room for."""
        taken = 0
        while taken < len(self._inbox) and self._room_in_task() > 0:
            taken += 1
        batch, self._inbox = self._inbox[:taken], self._inbox[taken:]
        for item in batch:
            if isinstance(item, AbsorbRequest):
                self._absorb(item)
            elif not self._is_echo(item):
                self._apply(item)

    def _is_echo(self, event: LeadEvent) -> bool:
        """A CRM change that only reports what leadflow itself wrote there."""
        if event.kind == EventKind.CRM_FIELDS_CHANGED:
            return not self._field_sync  # a run on older code knows no field rules
        if event.kind != EventKind.CRM_STAGE_CHANGED:
            return False
        assert self._state is not None and self._playbook is not None
        if not self._legacy and brings_crm_reason(self._playbook, self._state, event):
            return False
        if not self._legacy and "stage" not in event.properties:
            return True  # a reason the lead already has (leadflow's own write, reported back)
        system = event.properties.get("system", "")
        return event.properties.get("stage") == self._synced.get(system)

    def _without_echoes(self, event: LeadEvent) -> LeadEvent:
        """The CRM's field values, less those equal to what leadflow last wrote to it."""
        system = event.properties.get("system", "")
        assert self._playbook is not None
        echoes = lead_echoes(self._playbook.fields, system, self._written.get(system, {}))
        kept = {k: v for k, v in event.properties.items() if k == "system" or echoes.get(k) != v}
        return event.model_copy(update={"properties": kept})

    def _settle_crm_conflict(self, event: LeadEvent) -> None:
        """A person's CRM stage the playbook refused: leadflow wins, so its stage is written back."""
        assert self._state is not None
        system = event.properties.get("system", "")
        if "stage" not in event.properties:  # a reason alone, set beside the stage
            return
        if self._state.stage != event.properties.get("stage") and system in self._vendors:
            self._synced[system] = event.properties.get("stage", "")
            self._fingerprints.pop(system, None)
            self._sync_dirty = self._woken = True

    def _absorb(self, request: AbsorbRequest) -> None:
        assert self._playbook is not None and self._state is not None
        marker = f"merge:{request.merged_id}"
        if self._state.has_seen(marker):
            return
        merged = absorb(self._playbook, self._state, request.merged_state, workflow.now())
        merged.remember(marker, workflow.now())
        self._commit(Decision(state=merged), None, detail=f"absorbed {request.merged_id}")
        self._sync_dirty = True

    def _commit(self, decision: Decision, event: LeadEvent | None, kind: str = "decision",
                detail: str = "") -> None:
        previous = None if kind == "created" else self._state
        self._state = decision.state
        joined = self._targets.get(self._state.playbook) if previous is not None and \
            self._playbook is not None and self._state.playbook != self._playbook.name else None
        if joined is not None:  # a to_playbook transition: the lead runs the other motion now
            detail = detail or f"{JOINED_PREFIX}{joined.name} from {self._playbook.name}"
            self._playbook = joined
        self._events_this_run += 1
        if not self._legacy and previous is not None and (
                previous.disqualification_reason, previous.loss_reason) != (
                self._state.disqualification_reason, self._state.loss_reason):
            self._sync_dirty = True  # a reason set in one CRM reaches the others
        if not self._legacy and previous is not None and event is not None \
                and event.kind in TIMER_KINDS and previous.score != self._state.score:
            self._sync_dirty = True  # the decayed score reaches the CRMs' lead_score
        if not self._legacy and previous is not None and previous.closure != self._state.closure:
            workflow.upsert_memo({CLOSURE_MEMO: self._state.closure.model_dump(mode="json")
                                  if self._state.closure else None})
        self._record(kind, previous, event, decision.effects, detail=detail)
        self._count(previous, event, decision.effects)
        if self._account_on and (previous is None or (previous.stage, previous.owner, previous.closure)
                                 != (self._state.stage, self._state.owner, self._state.closure)):
            self._account_dirty = True
        for effect in decision.effects:
            if isinstance(effect, fx.SyncStage):
                self._sync_dirty = True
            elif isinstance(effect, (fx.NotifyOwner, fx.EmitAnalytics, fx.RouteLead)):
                self._tasks.append(effect)
        if self._sync_any_field:  # a score, field or owner change matters to the vendors too;
            self._sync_dirty = True  # the fingerprints skip vendors that would see nothing new
        self._woken = True  # timers and search attributes follow the state

    def _count(self, before: LeadState | None, event: LeadEvent | None, effects: list[fx.Effect]) -> None:
        """Metrics through the workflow's meter, which records nothing while a task replays."""
        assert self._state is not None
        meter, tags = workflow.metric_meter(), {"playbook": self._state.playbook}
        if before is None or before.stage != self._state.stage:
            meter.create_counter(mx.STAGE_TRANSITIONS, "leads entering a stage").add(
                1, tags | {"from_stage": before.stage if before else "", "to_stage": self._state.stage})
        if event is not None and event.kind == EventKind.SLA_BREACHED and effects and before:
            meter.create_counter(mx.SLA_BREACHES, "SLAs that ran out").add(1, tags | {"stage": before.stage})

    def _record(self, kind: str, before: LeadState | None, event: LeadEvent | None,
                effects: list[fx.Effect], vendor: str | None = None, detail: str = "") -> None:
        # Whether the worker keeps a ledger is known only after lead_config: keep entries until then.
        assert self._state is not None
        self._ledger_seq += 1
        self._ledger.append(entry_for(
            workflow.info().workflow_id, self._ledger_seq, kind, before, self._state,
            workflow.now(), event, effects, imported=self._input.initial_stage is not None
            and kind == "created", vendor=vendor, detail=detail))

    # -- the loop ---------------------------------------------------------------------------

    async def _wait(self) -> None:
        self._upsert_search_attributes()
        due = self._next_due()
        self._woken = False
        timeout = None if due is None else max((due - workflow.now()).total_seconds(), 0)
        if timeout == 0:
            return
        if self._bundled:  # perf (issue 16): one timer per due time, not one per wait
            await self._wait_on_timer(due)
            return
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self._woken or bool(self._inbox)
                                          or self._ready_to_continue(), timeout=timeout)

    async def _wait_on_timer(self, due: datetime | None) -> None:
        """Waits for a wake-up or the due time. The durable timer is kept across waits and
        replaced only when the due time moves (the updatable-timer pattern), where a timeout on
        each wait started and cancelled a timer every time the lead woke up (two events each)."""
        if due != self._timer_due:
            if self._timer is not None:
                self._timer.cancel()
            self._timer_due = due
            self._timer = None if due is None else asyncio.create_task(
                asyncio.sleep((due - workflow.now()).total_seconds()))
        timer = self._timer
        await workflow.wait_condition(lambda: self._woken or bool(self._inbox)
                                      or self._ready_to_continue()
                                      or (timer is not None and timer.done()))

    def _next_due(self) -> datetime | None:
        assert self._state is not None
        if self._decay_timer and self._decay_sleeper is None and self._state.closure is None:
            assert self._playbook is not None
            at = next_decay_at(self._playbook.scoring, self._state.score_items, workflow.now())
            if at is not None:
                self._decay_sleeper = asyncio.create_task(self._sleep_until_decay(at))
        dues = [due for due, _ in self._clocks()]
        if self._hold_until is not None and self._hold_until > workflow.now():
            dues.append(self._hold_until)  # the CRMs write without the owner then
        return min(dues, default=None)

    def _clocks(self) -> list[tuple[datetime, EventKind]]:
        s = self._state
        assert s is not None
        clocks = [(c.due_at, kind) for c, kind in ((s.sla, EventKind.SLA_BREACHED),
                                                    (s.follow_up, EventKind.FOLLOW_UP_DUE))
                  if c is not None]
        return clocks + rule_clocks(s) if self._rules else clocks

    async def _sleep_until_decay(self, at: datetime) -> None:
        await workflow.sleep(at - workflow.now())
        self._decay_due = self._woken = True

    def _fire_due_timers(self) -> None:
        assert self._state is not None and self._playbook is not None
        now = workflow.now()
        if self._decay_due:
            self._decay_due, self._decay_sleeper = False, None  # the next counts from now
            lower = decay(self._playbook, self._state, now) if self._state.closure is None else None
            if lower is not None:
                self._commit(lower, None, detail="score decayed")
        for due, kind in self._clocks():
            if due <= now:
                self._apply(LeadEvent(event_id=f"{kind.value}@{due.isoformat()}",
                                      kind=kind, occurred_at=now))

    def _run_effects(self) -> None:
        if self._account_dirty and self._accounts_run and not self._account_busy and (
                self._state is not None and self._state.account_domain is not None):
            self._account_busy = True  # free mail has no account
            self._spawn(self._report_to_account())
        if not self._ledger_on:
            self._ledger.clear()
        elif self._ledger and self._ledger_task is None:
            self._ledger_task = asyncio.create_task(self._write_ledger())
        if self._state is not None and self._state.closure is not None:
            # A closed lead writes nothing to the vendors: a sync would bring the record back.
            self._sync_dirty = False
            self._tasks.clear()
            self._held.clear()
            self._lane_dirty.clear()
            return
        if self._lanes_on:
            self._run_lanes()
            return
        if self._sync_dirty and self._vendors and self._sync_task is None:
            self._sync_task = asyncio.create_task(self._sync_all())
        if self._sync_task is not None:
            return  # owner tasks attach to the record, so the record is written first
        while self._tasks and self._routing is None:
            effect = self._tasks.pop(0)
            if isinstance(effect, fx.RouteLead):
                if self._patched("routing-v1"):
                    self._routing = asyncio.create_task(self._route(effect))
                continue
            if isinstance(effect, fx.EmitAnalytics):
                if Vendor.SEGMENT in self._vendors:
                    self._spawn(self._track(effect))
                continue
            for vendor in TASK_VENDORS:
                if vendor in self._vendors:
                    self._spawn(self._create_task(vendor, effect))  # type: ignore[arg-type]

    def _run_lanes(self) -> None:
        """Each vendor syncs on its own, so one vendor's long retry holds only itself; an owner
        task or analytics event waits only for its own vendor's record."""
        if self._sync_dirty and self._vendors:
            self._sync_dirty = False
            self._lane_dirty.update(self._vendors)
        hold = TASK_VENDORS if self._holding() else ()  # perf (issue 16)
        for vendor in self._vendors:  # a list: its order is deterministic, a set's is not
            if vendor in self._lane_dirty and vendor not in self._lanes and vendor not in hold:
                self._lanes[vendor] = asyncio.create_task(self._sync_lane(vendor))
        while self._tasks and self._routing is None:  # later tasks are for the routed owner
            effect = self._tasks.pop(0)
            if isinstance(effect, fx.RouteLead):
                self._routing_first = not effect.reassign
                self._routing = asyncio.create_task(self._route(effect))
                continue
            targets = (Vendor.SEGMENT,) if isinstance(effect, fx.EmitAnalytics) else TASK_VENDORS
            for vendor in self._vendors:
                if vendor in targets:
                    self._held.setdefault(vendor, []).append(effect)
        for vendor in self._vendors:
            if self._held.get(vendor) and vendor not in self._lanes and vendor not in self._lane_dirty:
                for effect in self._held.pop(vendor):
                    if isinstance(effect, fx.EmitAnalytics):
                        self._spawn(self._track(effect))
                    elif isinstance(effect, fx.NotifyOwner):
                        self._spawn(self._create_task(vendor, effect))

    def _holding(self) -> bool:
        """Since BUNDLED_PATCHES: whether the CRMs wait for the lead's first routing (an owner
        task or a reassignment never waits: its owner is the one it has)."""
        assert self._state is not None
        if not self._bundled or self._state.owner is not None:
            if self._bundle3:  # the owner is known: the hold's timer ends now, not at its due time
                self._hold_until = None
            return False
        if not ((self._routing is not None and self._routing_first) or any(
                isinstance(e, fx.RouteLead) and not e.reassign for e in self._tasks)):
            self._hold_until = None
            return False
        if self._hold_until is None:
            self._hold_until = workflow.now() + ROUTE_WAIT
        return workflow.now() < self._hold_until

    def _spawn(self, coro) -> None:  # type: ignore[no-untyped-def]
        job = asyncio.create_task(coro)
        self._jobs.add(job)
        job.add_done_callback(self._jobs.discard)

    async def _write_ledger(self) -> None:
        """Ledger writes retry until the ledger is back; they never hold up vendor syncs."""
        try:
            while self._ledger:
                if self._patched("bounded-ledger-batches-v1"):
                    batch, self._ledger = _first_batch(self._ledger)
                else:
                    batch, self._ledger = self._ledger, []
                await workflow.execute_activity(
                    RECORD_LEDGER, LedgerBatch(entries=batch),
                    start_to_close_timeout=timedelta(seconds=30), retry_policy=LEDGER_RETRY)
        finally:
            self._ledger_task = None
            self._woken = True

    async def _sync_all(self) -> None:
        try:
            while self._sync_dirty:
                self._sync_dirty = False
                await asyncio.gather(*(self._sync_one(v) for v in self._vendors))
        finally:
            self._sync_task = None
            self._woken = True

    async def _sync_lane(self, vendor: str) -> None:
        try:
            while vendor in self._lane_dirty and not self._draining:
                self._lane_dirty.discard(vendor)
                await self._sync_one(vendor)
        finally:
            del self._lanes[vendor]
            self._woken = True

    async def _sync_one(self, vendor: str) -> None:
        assert self._state is not None and self._playbook is not None
        lead = self._snapshot(self._state, vendor, self._synced.get(vendor))
        mark = fingerprint(lead)
        notices = self._riding_tasks(vendor)
        if self._fingerprints.get(vendor) == mark:
            for notice in notices:  # nothing to write: the tasks go on their own
                self._spawn(self._create_task(vendor, notice))
            return
        tasks = [self._owner_task(vendor, notice) for notice in notices]
        try:
            result = await workflow.execute_activity(
                SYNC_LEAD, SyncLeadInput(vendor=vendor, playbook=self._playbook.name, snapshot=lead,
                                         tasks=tasks),
                task_queue=vendor_queue(workflow.info().task_queue, vendor),
                start_to_close_timeout=timedelta(minutes=2), retry_policy=VENDOR_RETRY,
                result_type=SyncResult)
        except ActivityError as err:
            self._state.sync_errors[vendor] = str(err.cause or err)
            self._record("sync_error", self._state, None, [], vendor=vendor,
                         detail=self._state.sync_errors[vendor])
            if notices:  # they go on their own once the lane ends, as they did before v3
                self._held[vendor] = [*notices, *self._held.get(vendor, [])]
            return
        for task, notice in zip(tasks, notices, strict=True):
            if task.key in result.failed_tasks:
                self._task_failed(vendor, notice, result.failed_tasks[task.key])
        if self._synced.get(vendor) != lead.previous_stage and self._patched("crm-conflict-race-v1"):
            self._sync_dirty = True  # a person's CRM change arrived meanwhile: write leadflow's again
            return
        self._synced[vendor], self._fingerprints[vendor] = lead.stage, mark
        if lead.vendor_named:
            self._written[vendor] = dict(lead.properties)
        if result.record_id:
            self._record_ids[vendor] = result.record_id
        if self._state.sync_errors.pop(vendor, None) is not None:
            self._record("sync_ok", self._state, None, [], vendor=vendor)

    def _snapshot(self, state: LeadState, vendor: str, previous_stage: str | None) -> LeadSnapshot:
        return snapshot(state, vendor, previous_stage, None if self._legacy else self._playbook,
                        fields=self._field_sync)

    def _riding_tasks(self, vendor: str) -> list[fx.NotifyOwner]:
        """Since bundled-patches-v3: the owner tasks held for `vendor` ride in its sync activity,
        which makes them (batched across leads) once the record is written."""
        if not self._bundle3 or vendor not in TASK_VENDORS:
            return []
        held = self._held.pop(vendor, [])
        rest: list[fx.Effect] = [e for e in held if not isinstance(e, fx.NotifyOwner)]
        if rest:
            self._held[vendor] = rest
        return [e for e in held if isinstance(e, fx.NotifyOwner)]

    def _owner_task(self, vendor: str, notice: fx.NotifyOwner) -> OwnerTask:
        assert self._state is not None
        subject = f"[Escalation] {notice.subject}" if notice.escalate else notice.subject
        self._task_seq += 1  # the key is the same on every retry of its activity, and unique
        key = f"{workflow.info().run_id}:{self._task_seq}"
        return OwnerTask(email=self._state.email, owner_id=self._task_owner(vendor, notice.escalate),
                         subject=subject, body=notice.body, due_at=workflow.now(), key=key)

    def _task_failed(self, vendor: str, notice: fx.NotifyOwner, why: str) -> None:
        assert self._state is not None
        self._state.sync_errors[f"{vendor}:task"] = why
        self._failed_tasks.append((vendor, notice))  # resync tries it again

    async def _create_task(self, vendor: str, notice: fx.NotifyOwner) -> None:
        assert self._state is not None and self._playbook is not None
        task = self._owner_task(vendor, notice)
        if vendor in self._record_ids and self._patched(TASK_RECORD_ID):
            task.record_id = self._record_ids[vendor]
        try:
            await workflow.execute_activity(
                CREATE_OWNER_TASK, OwnerTaskInput(vendor=vendor, playbook=self._playbook.name,
                                                    task=task),
                task_queue=vendor_queue(workflow.info().task_queue, vendor),
                start_to_close_timeout=timedelta(minutes=2), retry_policy=VENDOR_RETRY)
        except ActivityError as err:
            self._task_failed(vendor, notice, str(err.cause or err))

    def _task_owner(self, vendor: str, escalate: bool) -> str | None:
        """Whose task: a routed lead's owner (or manager, on escalation) by their id in `vendor`."""
        s = self._state
        assert s is not None
        if s.team is None:
            return s.owner
        return (s.manager_ids if escalate and s.manager_ids else s.owner_ids).get(vendor)

    async def _route(self, effect: fx.RouteLead) -> None:
        """Asks the team's router for an owner; the owner is then synced and gets the tasks."""
        assert self._state is not None and self._playbook is not None
        try:
            result = await self._assign(effect)
        finally:
            self._routing = None
            self._woken = True
        if result is not None:
            self._commit(Decision(state=assign(self._state, result.team, result.owner, result.manager)),
                         None, detail=f"owner {result.owner.email if result.owner else 'none'} "
                                      f"from team {result.team} ({result.via})")
            self._sync_dirty = True

    async def _assign(self, effect: fx.RouteLead) -> Assignment | None:
        assert self._state is not None and self._playbook is not None and self._playbook.routing
        request = AssignRequest(request_id=str(workflow.uuid4()), lead_id=workflow.info().workflow_id,
                                role=effect.role, account=self._state.account_domain,
                                exclude=effect.exclude)
        try:
            team = self._playbook.routing.team(effect.team)
            result: Assignment = await workflow.execute_activity(
                ASSIGN_OWNER, AssignOwnerInput(playbook=self._playbook.name, team=team, request=request),
                result_type=Assignment, start_to_close_timeout=timedelta(seconds=30),
                retry_policy=VENDOR_RETRY)
        except (ActivityError, KeyError) as err:
            self._state.sync_errors["routing"] = str(getattr(err, "cause", None) or err)
            return None
        self._state.sync_errors.pop("routing", None)
        return result

    async def _track(self, effect: fx.EmitAnalytics) -> None:
        assert self._state is not None
        event_id = f"{workflow.info().workflow_id}:{self._ledger_seq}:{effect.event}"
        try:
            await workflow.execute_activity(
                EMIT_ANALYTICS, TrackInput(email=self._state.email, event=effect.event,
                                             properties=effect.properties, event_id=event_id),
                task_queue=vendor_queue(workflow.info().task_queue, Vendor.SEGMENT),
                start_to_close_timeout=timedelta(minutes=2), retry_policy=VENDOR_RETRY)
        except ActivityError as err:
            self._state.sync_errors["segment:analytics"] = str(err.cause or err)

    async def _report_to_account(self) -> None:
        """The lead's stage and owner as they stand, to its account (account-v1); the first
        report resolves which account that is (a CRM association, account_domains, the domain)."""
        assert self._state is not None and self._playbook is not None
        try:
            while self._account_dirty:
                self._account_dirty = False
                s = self._state
                report = LeadReport(lead_id=workflow.info().workflow_id, email=s.email, stage=s.stage,
                                    seq=self._ledger_seq, at=workflow.now(), owner=s.owner,
                                    owner_ids=s.owner_ids, closed=s.closure is not None)
                try:
                    joined: AccountJoined = await workflow.execute_activity(
                        JOIN_ACCOUNT, JoinAccount(report=report, playbook_name=self._playbook.name,
                                                  domains=self._playbook.account_domains,
                                                  account=self._account),
                        start_to_close_timeout=timedelta(seconds=30), retry_policy=VENDOR_RETRY,
                        result_type=AccountJoined)
                except ActivityError as err:
                    self._state.sync_errors["account"] = str(err.cause or err)
                    return
                self._account = joined.account
                self._state.sync_errors.pop("account", None)
        finally:
            self._account_busy = False
            self._woken = True

    def _upsert_search_attributes(self) -> None:
        s = self._state
        assert s is not None
        values: sa.Values = {
            "LeadStage": f"{sa.CLOSED_PREFIX}{s.closure.how}" if s.closure else s.stage,
            "LeadScore": s.score, "LeadOwner": s.owner,
            "LeadSource": s.source, "SlaDueAt": s.sla.due_at if s.sla else None,
            "FollowUpAt": s.follow_up.due_at if s.follow_up else None,
            "AccountDomain": s.account_domain,
            "SyncStatus": "error" if s.sync_errors else "ok", "LeadTeam": s.team,
        }
        for name in self._omit_search:
            values[name] = None  # unset: personal, and the deployment keeps it out of visibility
        if values != self._search:
            # Since bundled-patches-v3 only what changed is sent: all of it the first time a run
            # that continued as new sets them (it inherits its previous run's), none of the unset
            # ones in a new lead's first run (it has none).
            if not self._bundle3 or (not self._search and self._input.state is not None):
                workflow.upsert_search_attributes(sa.updates(values))
            else:
                workflow.upsert_search_attributes(sa.changes(self._search, values))
            self._search = values

    # -- ending a run -------------------------------------------------------------------------

    def _ready_to_continue(self) -> bool:
        return self._closing is not None or self._events_this_run >= MAX_EVENTS_PER_RUN or (
            workflow.info().is_continue_as_new_suggested())

    def _forwarding(self) -> bool:
        return self._merge_forward and isinstance(self._closing, MergeRequest)

    async def _drain(self) -> None:
        """Waits for what is in flight; what is only pending is carried to the next run."""
        self._draining = True  # sync lanes stop after their current write
        await workflow.wait_condition(lambda: self._sync_task is None and not self._jobs
                                      and not self._lanes and self._routing is None
                                      and workflow.all_handlers_finished())
        if self._ledger and self._ledger_on and (self._ledger_task is None or not self._bundle4):
            self._ledger_task = asyncio.create_task(self._write_ledger())
        await workflow.wait_condition(lambda: self._ledger_task is None)

    async def _close(self, request: DeleteRequest | MergeRequest) -> LeadClosed:
        """Ends this lead's workflow; its history stays in Temporal and in the ledger."""
        assert self._state is not None and self._playbook is not None
        if isinstance(request, MergeRequest):
            outcome = f"merged into {await self._forward_merge(request)}"
        else:
            outcome = f"deleted: {request.reason}"
        self._record("decision", self._state, None, [], detail=outcome)
        await self._drain()
        if self._merge_forward and isinstance(request, MergeRequest):
            await self._forward_late_arrivals(request)
        survivor_email = request.survivor_email if isinstance(request, MergeRequest) else None
        return LeadClosed(email=self._state.email, outcome=outcome, stage=self._state.stage,
                          survivor_email=survivor_email)

    async def _forward_late_arrivals(self, request: MergeRequest) -> None:
        """Events (and absorbs) that reached this lead after the merge go on to the survivor.
        A signal arriving as the workflow completes makes Temporal refuse the completion and
        deliver it here first, so this loop sees every one."""
        assert self._playbook is not None
        while True:
            await workflow.wait_condition(workflow.all_handlers_finished)
            if not self._late:
                return
            batch, self._late = self._late, []
            await workflow.execute_activity(
                FORWARD_EVENTS, ForwardEvents(survivor_email=request.survivor_email,
                                                playbook_name=self._playbook.name, items=batch),
                start_to_close_timeout=timedelta(seconds=30), retry_policy=VENDOR_RETRY)

    async def _close_for_good(self, request: DeleteRequest | MergeRequest) -> None:
        """Closes the lead and keeps its workflow open as a tombstone: a running workflow
        outlives Temporal's retention of closed ones, so a later event for this email still
        finds the closure (ingest answers it as skipped, or hands it to the survivor)."""
        assert self._state is not None and self._playbook is not None
        survivor = None
        if isinstance(request, MergeRequest):
            survivor, how = request.survivor_email, "merged"
            reason = outcome = f"merged into {await self._forward_merge(request)}"
            if self._merge_forward:  # what arrived since the merge request: nothing is lost
                await self._forward_late_arrivals(request)
        else:
            how, reason, outcome = "deleted", request.reason, f"deleted: {request.reason}"
        # From here on the tombstone itself forwards each later event (see _apply).
        self._closing = None
        self._draining = False  # a reopened lead syncs again
        self._synced.clear()  # the CRM records are gone: a reopened lead writes them afresh
        self._fingerprints.clear()
        self._record_ids.clear()  # and its tasks must not name a deleted record
        closed = close(self._state, how, workflow.now(), reason, request.actor, survivor)
        self._commit(Decision(state=closed), None, detail=outcome)

    async def _forward_merge(self, request: MergeRequest) -> str:
        """Hands this lead's timeline to the survivor; returns the survivor's workflow id."""
        assert self._state is not None and self._playbook is not None
        survivor: str = await workflow.execute_activity(
            FORWARD_MERGE, ForwardMerge(
                survivor_email=request.survivor_email, playbook_name=self._playbook.name,
                merged_id=workflow.info().workflow_id, merged_state=self._state),
            start_to_close_timeout=timedelta(seconds=30), retry_policy=VENDOR_RETRY,
            result_type=str)
        return survivor

    async def _forward(self, survivor: str, event: LeadEvent) -> None:
        """A merged-away email's fact belongs to the surviving lead."""
        handle = workflow.get_external_workflow_handle(lead_workflow_id(survivor))
        try:
            await handle.signal(EVENT_SIGNAL, event)
        except FailureError as err:  # the survivor itself is gone: nothing to tell
            workflow.logger.warning("cannot forward %s to the survivor: %s", event.event_id, err)

    def _carry_over(self) -> LeadInput:
        assert self._state is not None
        name = self._playbook.name if self._playbook and self._targets else self._input.playbook_name
        carried = LeadInput(email=self._state.email, playbook_name=name,
                            playbook=self._playbook, state=self._state, synced=self._synced,
                            fingerprints=self._fingerprints, ledger_seq=self._ledger_seq,
                            record_ids=self._record_ids, written_fields=self._written)
        if self._carry_pending:  # work not done yet goes along with the state, never dropped
            carried.sync_pending = self._sync_dirty or bool(self._lane_dirty)
            carried.pending_effects, carried.held_effects = self._tasks, self._held
        if self._account_on:
            carried.account, carried.account_pending = self._account, self._account_dirty
        carried.failed_tasks = [FailedTask(vendor=v, notice=n) for v, n in self._failed_tasks]
        return carried
