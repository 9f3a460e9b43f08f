"""Ledger writes under failure, with the real worker on the dev server: a retried activity records
each fact once, and a database outage delays the ledger without losing facts or holding up syncs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from temporalio import activity
from temporalio.client import WorkflowExecutionStatus
from temporalio.exceptions import ApplicationError

from activities.ledger import LedgerActivities
from ledger.engine import make_engine, migrate
from ledger.store import lead_facts
from ledger.writer import LedgerWriter
from lifecycle.events import EventKind, LeadEvent, lead_workflow_id
from lifecycle.ledger_entry import LedgerBatch
from tests.support.lead_harness import until
from tests.support.ledger_db import psql
from tests.support.ledger_harness import count_facts, ledger_worker
from tests.support.vendor_stack import vendor_stack
from workflows.lead import LeadWorkflow
from workflows.lead_client import LeadClient
from workflows.lead_models import LeadCommand

TOUCHES = 150  # past the 120 history events at which the test dev server suggests continuing
SQL_FIELDS = {"use_case": "forecasting", "timeline": "Q3"}
TO_SQL = [("stage", "New Lead"), ("touch", "New Lead"), ("stage", "MQL"), ("sla_start", "MQL"),
          ("touch", "MQL"), ("stage", "SQL"), ("sla_met", "MQL"), ("sla_start", "SQL")]


def fact(kind: str) -> LeadEvent:
    return LeadEvent(event_id=uuid.uuid4().hex, kind=EventKind(kind), occurred_at=datetime.now(UTC))


class FailsOnceAfterWriting:
    """The ledger activity, losing its connection after each batch's first commit."""

    def __init__(self, writer: LedgerWriter) -> None:
        self.real = LedgerActivities(writer)
        self.attempts: list[tuple[int, int]] = []  # (attempt, facts newly written)

    @activity.defn(name="record_ledger")
    def record_ledger(self, batch: LedgerBatch) -> int:
        written = self.real.record_ledger(batch)
        self.attempts.append((activity.info().attempt, written))
        if activity.info().attempt == 1:
            raise ConnectionError("server closed the connection after commit")
        return written


class RefusesEachFirstAttempt:
    """The ledger activity, its database refusing each batch's first attempt."""

    def __init__(self, writer: LedgerWriter) -> None:
        self.real = LedgerActivities(writer)

    @activity.defn(name="record_ledger")
    def record_ledger(self, batch: LedgerBatch) -> int:
        if activity.info().attempt == 1:
            raise ApplicationError("ledger database unavailable: (test) refused", type="LedgerUnavailable")
        return self.real.record_ledger(batch)


def summary(engine, email: str) -> list[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    """Stage, touch and SLA facts in order (owner facts land whenever the router answers)."""
    return [(f.kind, f.to_stage or f.stage) for f in lead_facts(engine, lead_workflow_id(email))
            if f.kind != "owner"]


def owner_facts(engine, email: str) -> list[str | None]:  # type: ignore[no-untyped-def]
    return [f.owner for f in lead_facts(engine, lead_workflow_id(email)) if f.kind == "owner"]


async def test_a_retried_ledger_activity_records_each_fact_once(dev_env, ledger_engine):
    flaky = FailsOnceAfterWriting(LedgerWriter(ledger_engine))
    async with ledger_worker(dev_env.client, ledger_engine, ledger=flaky.record_ledger) as h:
        email = f"retry-{uuid.uuid4().hex[:8]}@acme.io"
        leads = LeadClient(dev_env.client, h.task_queue)
        handle = await h.start_lead(email)
        await leads.send_event(email, fact("demo_requested"))
        await leads.command(email, LeadCommand(kind="confirm_sql", properties=SQL_FIELDS))
        # One wait for all of it: the AE's owner fact can land in a batch of its own after the
        # stage facts, and its retry comes after the write (CI once saw attempts [1, 2, 1]).
        await until(lambda: count_facts(ledger_engine, kind="stage") == 3
                    and len(owner_facts(ledger_engine, email)) >= 2
                    and len(flaky.attempts) % 2 == 0 and flaky.attempts[-1][0] == 2,
                    what="every batch written and retried, both routings among them")
        assert summary(ledger_engine, email) == TO_SQL
        assert len(owner_facts(ledger_engine, email)) == 2  # the SDR, then the AE: each once
        assert [a for a, _ in flaky.attempts] == [1, 2] * (len(flaky.attempts) // 2)
        assert all(n > 0 for a, n in flaky.attempts if a == 1)  # the first attempt did write
        assert all(n == 0 for a, n in flaky.attempts if a == 2)  # its retry wrote nothing again
        assert (await handle.query(LeadWorkflow.state)).stage == "SQL"


async def test_a_ledger_outage_delays_facts_without_losing_them_or_blocking_syncs(dev_env, pg_url):
    engine = make_engine(pg_url)
    migrate(engine)
    database = pg_url.rsplit("/", 1)[1]
    with vendor_stack() as stack:
        async with ledger_worker(dev_env.client, engine, vendors=["hubspot"],
                                 connectors=stack.connectors()) as h:
            email = f"outage-{uuid.uuid4().hex[:8]}@acme.io"
            leads = LeadClient(dev_env.client, h.task_queue)
            psql(f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
            psql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'")
            try:
                handle = await h.start_lead(email)
                await leads.send_event(email, fact("demo_requested"))
                await leads.command(email, LeadCommand(kind="confirm_sql", properties=SQL_FIELDS))
                # The stage reaches HubSpot while every ledger write is failing.
                await until(lambda: stack.hubspot_contact(email).get("lead_stage") == "SQL",
                            what="the SQL stage in HubSpot")
                pending = (await handle.describe()).raw_description.pending_activities
                ledger = [p for p in pending if p.activity_type.name == "record_ledger"]
                assert ledger and ledger[0].attempt >= 2
                assert "ledger database unavailable" in ledger[0].last_failure.message
                assert "not currently accepting connections" in ledger[0].last_failure.message
            finally:
                psql(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
            await until(lambda: count_facts(engine, kind="stage") == 3, timeout=60,
                        what="the ledger to catch up after the outage")
            await until(lambda: len(owner_facts(engine, email)) >= 2, what="both routings")
            assert summary(engine, email) == TO_SQL
            assert len(owner_facts(engine, email)) == 2
    engine.dispose()


async def test_a_lead_continuing_as_new_while_a_ledger_batch_waits_for_its_retry_keeps_it(dev_env, tmp_path):
    """A lead's history grows long (the dev server suggests continuing as new at 120 events) while
    the ledger refuses each batch once: the run continues as new only once every batch is written.
    It used to start a second writer as it ended and end when the first of the two finished,
    dropping the batch the other was waiting to retry (a CI flake of the queued-events test)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    migrate(engine)
    ledger = RefusesEachFirstAttempt(LedgerWriter(engine)).record_ledger
    async with ledger_worker(dev_env.client, engine, ledger=ledger) as h:
        email = f"continues-{uuid.uuid4().hex[:8]}@acme.io"
        leads = LeadClient(dev_env.client, h.task_queue)
        started = await h.start_lead(email)
        first_run = dev_env.client.get_workflow_handle(started.id, run_id=started.result_run_id)
        for i in range(TOUCHES):
            await leads.send_event(email, LeadEvent(event_id=f"note-{i}", kind=EventKind.OTHER,
                                                    name="Note Taken", occurred_at=datetime.now(UTC)))
        await until(lambda: _status(first_run, WorkflowExecutionStatus.CONTINUED_AS_NEW), timeout=60,
                    what="the first run continued as new")
        await until(lambda: count_facts(engine, lead_id=lead_workflow_id(email), kind="touch") == TOUCHES,
                    timeout=60, what="every touch in the ledger")
    engine.dispose()


async def _status(handle, status: WorkflowExecutionStatus) -> bool:  # type: ignore[no-untyped-def]
    return (await handle.describe()).status == status
