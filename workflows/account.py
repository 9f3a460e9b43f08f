"""AccountWorkflow: one entity workflow per company (id `account:<domain>`) that keeps the account's
aggregate and writes it to the HubSpot company and the Salesforce Account.

Its leads report every stage or owner change with the `lead_changed` signal (sent by the
`join_account` activity as signal-with-start, so the account exists from its first lead). The
handler only queues the report; the run folds queued reports in order through the pure
`lifecycle.account.apply_reports` (the playbook's `account_rules` included), keeps the search
attributes current, and syncs the account's fields to each CRM through the vendor's batched
writer when they changed. Long lives continue-as-new with the compact aggregate once every
handler has finished; reports that arrive meanwhile are carried, never dropped.

Live `workflow.patched` ids (read in `__init__`, before the run's first await; see workflows/lead.py):
| id                  | since    | what it guards                                                     |
| account-batches-v1  | issue 16 | a workflow task folds at most REPORTS_PER_TASK reports, the rest   |
|                     |          | after a 1 ms timer; the run continues as new once it folded        |
|                     |          | MAX_REPORTS_PER_RUN even while reports keep coming (at most        |
|                     |          | MAX_CARRIED go along), so a burst at one company never wedges it   |

Why account-batches-v1: 20,000 new leads at one domain (bench/scale.py) sent the account ~10,000
reports while its first workflow task folded the earlier ones, each fold deep-copying the
account (2,000 leads). The task timed out on every attempt (WorkflowTaskTimedOut), the run
never reached continue-as-new, and at 10,000 signals Temporal refused every further report
("exceeded workflow execution limit for signal events").
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

import pydantic
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from config.playbook import Playbook
    from config.vendors import CRMS
    from connectors.base import AccountSnapshot, SyncResult
    from lifecycle.account import AccountState, LeadReport, apply_reports, new_account
    from workflows import search_attributes as sa
    from workflows.account_models import (
        LEAD_CHANGED_SIGNAL,
        SYNC_ACCOUNT,
        AccountInput,
        AccountView,
        SyncAccountInput,
    )
    from workflows.lead_models import LEAD_CONFIG, LeadConfig, vendor_queue

# Bounded history per run; Temporal may suggest continuing earlier.
MAX_REPORTS_PER_RUN = 500
BATCHES_PATCH = "account-batches-v1"
REPORTS_PER_TASK = 500  # folded in one workflow task (an account of 2,000 leads: ~0.1 s)
MAX_CARRIED = 1000  # reports continue-as-new carries at most (about 0.3 KB each)
BATCH_PAUSE = timedelta(milliseconds=1)  # a timer that ends the task; the next one goes on
VENDOR_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1),
                           maximum_interval=timedelta(minutes=5))


def account_snapshot(state: AccountState, vendor: str, record_id: str | None) -> AccountSnapshot:
    return AccountSnapshot(domain=state.domain, stage=state.stage,
                           furthest_stage=state.furthest_stage,
                           active_evaluation=state.active_evaluation,
                           demo_completed=state.demo_completed, leads=len(state.leads),
                           owner_id=state.owner_ids.get(vendor), record_id=record_id)


def _fingerprint(snap: AccountSnapshot) -> str:
    """What the vendor record shows (the record id only says where it is)."""
    return hashlib.sha256(snap.model_dump_json(exclude={"record_id"}).encode()).hexdigest()[:16]


@workflow.defn(name="AccountWorkflow", failure_exception_types=[pydantic.ValidationError])
class AccountWorkflow:
    @workflow.init
    def __init__(self, inp: AccountInput) -> None:
        self._input = inp
        self._playbook: Playbook | None = inp.playbook
        self._state: AccountState | None = inp.state
        self._queue: list[LeadReport] = list(inp.pending)
        self._record_ids = dict(inp.record_ids)
        self._synced = dict(inp.synced)
        self._errors: dict[str, str] = {}
        self._vendors: list[str] = []
        self._omit: set[str] = set()
        self._folded = 0
        self._search: sa.Values = {}
        self._batched = workflow.patched(BATCHES_PATCH)

    @workflow.run
    async def run(self, inp: AccountInput) -> None:
        config: LeadConfig = await workflow.execute_local_activity(
            LEAD_CONFIG, inp.playbook_name, result_type=LeadConfig,
            start_to_close_timeout=timedelta(seconds=30))
        self._vendors = [v for v in config.vendors if v in CRMS]
        self._omit = set(config.omit_search_attributes)
        if self._playbook is None:
            self._playbook = config.playbook
        if self._state is None:
            self._state = new_account(self._playbook, inp.domain)
        while not self._ready_to_continue():
            self._fold()
            self._upsert_search_attributes()
            if self._batched and self._queue:  # a burst: fold on in the next workflow task
                await workflow.sleep(BATCH_PAUSE)
                continue
            await self._sync()
            await workflow.wait_condition(lambda: bool(self._queue) or self._ready_to_continue())
        # Reports that reach the account from here on wait in the queue and go with the state.
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(AccountInput(
            domain=inp.domain, playbook_name=inp.playbook_name, playbook=self._playbook,
            state=self._state, record_ids=self._record_ids, synced=self._synced,
            pending=self._queue))

    @workflow.signal(name=LEAD_CHANGED_SIGNAL)
    def lead_changed(self, report: LeadReport) -> None:
        self._queue.append(report)  # folded by the run, once the playbook is known

    @workflow.query(name="state")
    def state(self) -> AccountState | None:
        return self._state

    @workflow.query(name="view")
    def view(self) -> AccountView | None:
        if self._state is None:
            return None
        return AccountView.of(self._state, self._record_ids, self._errors)

    def _ready_to_continue(self) -> bool:
        due = self._folded >= MAX_REPORTS_PER_RUN or workflow.info().is_continue_as_new_suggested()
        return due and (not self._batched or len(self._queue) <= MAX_CARRIED)

    def _fold(self) -> None:
        assert self._playbook is not None and self._state is not None
        take = REPORTS_PER_TASK if self._batched else len(self._queue)  # before it: all at once
        reports, self._queue = self._queue[:take], self._queue[take:]
        self._state = apply_reports(self._playbook, self._state, reports)
        self._folded += len(reports)

    async def _sync(self) -> None:
        """Each CRM whose copy of the account is out of date gets the account's fields."""
        assert self._state is not None
        await asyncio.gather(*(self._sync_one(v) for v in self._vendors))

    async def _sync_one(self, vendor: str) -> None:
        assert self._state is not None and self._playbook is not None
        snap = account_snapshot(self._state, vendor, self._record_ids.get(vendor))
        mark = _fingerprint(snap)
        if self._synced.get(vendor) == mark:
            return
        try:
            result: SyncResult = await workflow.execute_activity(
                SYNC_ACCOUNT, SyncAccountInput(vendor=vendor, playbook=self._playbook.name,
                                               snapshot=snap),
                task_queue=vendor_queue(workflow.info().task_queue, vendor),
                start_to_close_timeout=timedelta(minutes=2), retry_policy=VENDOR_RETRY,
                result_type=SyncResult)
        except ActivityError as err:
            self._errors[vendor] = str(err.cause or err)
            self._synced[vendor] = mark  # tried: the next change of the account tries again
            return
        self._errors.pop(vendor, None)
        self._synced[vendor] = mark
        if result.record_id:
            self._record_ids[vendor] = result.record_id

    def _upsert_search_attributes(self) -> None:
        s = self._state
        assert s is not None
        values: sa.Values = {sa.ACCOUNT_DOMAIN.name: s.domain, sa.ACCOUNT_STAGE.name: s.stage,
                             sa.ACCOUNT_OWNER.name: s.owner,
                             sa.ACCOUNT_ACTIVE_EVALUATION.name: s.active_evaluation}
        for name in self._omit:
            if name in values:
                values[name] = None
        if values != self._search:
            workflow.upsert_search_attributes(sa.account_updates(values))
            self._search = values
