"""LeadWorkflow on the real `temporal` dev server: updates, list queries, continue-as-new."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.worker import Replayer

from activities.ledger import LedgerActivities
from config.playbook_loader import stock_playbook
from ledger.engine import make_engine, migrate
from ledger.writer import LedgerWriter
from lifecycle.events import MAX_EVENT_BYTES, EventKind, LeadEvent, lead_workflow_id
from tests.support.lead_harness import Harness, running_worker, unique_email, until, workers_on
from worker import SANDBOX, WORKFLOWS
from workflows.lead import LeadWorkflow
from workflows.lead_client import CommandRejected, LeadClient
from workflows.lead_models import EVENT_SIGNAL, LeadCommand

FIT = {"company_size": "500", "industry": "software", "role": "vp"}


def fact(kind: str, **props: str) -> LeadEvent:
    return LeadEvent(event_id=uuid.uuid4().hex, kind=EventKind(kind),
                     occurred_at=datetime.now(UTC), properties=props)


async def eventually(check, timeout: float = 10.0):  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.2)


async def test_update_with_start_creates_the_lead_and_applies_the_command(dev_env):
    async with running_worker(dev_env.client) as h:
        leads = LeadClient(dev_env.client, h.task_queue)
        email = unique_email()
        view = await leads.command(email, LeadCommand(kind="snooze", properties={"path": "too_early"}))
        h.handles.append(dev_env.client.get_workflow_handle(lead_workflow_id(email)))
        assert view.stage == "Nurture" and view.follow_up_at is not None
        history = [c.to_stage for c in (await leads.state(email)).history]
        assert history == ["New Lead", "Nurture"]


async def test_illegal_command_is_rejected_with_its_message_and_writes_nothing(dev_env):
    async with running_worker(dev_env.client) as h:
        leads = LeadClient(dev_env.client, h.task_queue)
        email = unique_email()
        handle = await h.start_lead(email)
        with pytest.raises(CommandRejected, match="cannot confirm SQL: lead is in 'New Lead'"):
            await leads.command(email, LeadCommand(kind="confirm_sql"))
        with pytest.raises(CommandRejected, match="cannot disqualify: unknown reason 'meh'"):
            await leads.command(email, LeadCommand(kind="disqualify", properties={"reason": "meh"}))
        await leads.send_event(email, fact("demo_requested"))
        with pytest.raises(CommandRejected, match="cannot confirm SQL: missing use_case, timeline"):
            await leads.command(email, LeadCommand(kind="confirm_sql"))
        state = await handle.query(LeadWorkflow.state)
        assert state.stage == "MQL" and state.events_applied == 1
        # Validator rejections never reach the history: only accepted updates are recorded.
        events = [e async for e in handle.fetch_history_events()]
        assert not any(e.HasField("workflow_execution_update_accepted_event_attributes")
                       for e in events)


async def test_search_attributes_make_leads_listable_by_stage(dev_env):
    async with running_worker(dev_env.client) as h:
        leads = LeadClient(dev_env.client, h.task_queue)
        mql, new = unique_email("mql"), unique_email("new")
        await h.start_lead(mql, **FIT)
        await h.start_lead(new)
        await leads.send_event(mql, fact("demo_requested"))
        query = f"LeadStage = 'MQL' AND TaskQueue = '{h.task_queue}'"

        async def listed() -> list[str]:
            return [w.id async for w in dev_env.client.list_workflows(query)]

        assert await eventually(listed) == [lead_workflow_id(mql)]
        desc = await dev_env.client.get_workflow_handle(lead_workflow_id(mql)).describe()
        attrs = {k.name: v for k, v in desc.typed_search_attributes}  # type: ignore[attr-defined]
        assert attrs["LeadScore"] == 70 and attrs["AccountDomain"] == "acme.io"  # 35 + 5 fit, 30 intent
        assert attrs["SlaDueAt"] is not None and attrs["SyncStatus"] == "ok"


async def test_a_deployment_can_keep_personal_search_attributes_out_of_visibility(dev_env):
    # docs/privacy.md: search attributes are not encrypted; AccountDomain and LeadOwner are personal.
    async with running_worker(dev_env.client,
                              omit_search_attributes=["AccountDomain", "LeadOwner"]) as h:
        leads = LeadClient(dev_env.client, h.task_queue)
        mql = unique_email("private")
        await h.start_lead(mql, **FIT)
        await leads.send_event(mql, fact("demo_requested"))
        in_queue = f"TaskQueue = '{h.task_queue}'"

        async def listed(query: str) -> list[str]:
            return [w.id async for w in dev_env.client.list_workflows(f"{query} AND {in_queue}")]

        assert await eventually(lambda: listed("LeadStage = 'MQL'")) == [lead_workflow_id(mql)]
        assert await listed("AccountDomain = 'acme.io'") == []
        desc = await dev_env.client.get_workflow_handle(lead_workflow_id(mql)).describe()
        attrs = {k.name: v for k, v in desc.typed_search_attributes}  # type: ignore[attr-defined]
        assert "AccountDomain" not in attrs and "LeadOwner" not in attrs
        assert attrs["LeadScore"] == 70  # the rest stay listable


def test_only_personal_search_attributes_can_be_left_out():
    from activities.lead_config import LeadConfigActivities

    with pytest.raises(ValueError,
                       match="can leave out only AccountDomain, AccountOwner, LeadOwner, not LeadStage"):
        LeadConfigActivities([], omit_search_attributes=["LeadStage"])


async def test_continue_as_new_keeps_state_and_history(dev_env):
    async with running_worker(dev_env.client) as h:
        leads = LeadClient(dev_env.client, h.task_queue)
        email = unique_email()
        handle = await h.start_lead(email)
        first_run = (await handle.describe()).run_id
        await leads.send_event(email, fact("demo_requested"))
        await leads.command(email, LeadCommand(kind="confirm_sql",
                                               properties={"use_case": "x", "timeline": "Q1"}))
        for _ in range(60):  # the dev server suggests continue-as-new past 120 history events
            await leads.send_event(email, fact("content_download"))

        async def continued() -> bool:
            return (await dev_env.client.get_workflow_handle(handle.id).describe()).run_id != first_run

        assert await eventually(continued)
        state = await leads.state(email)
        assert state.stage == "SQL" and [c.to_stage for c in state.history] == ["New Lead", "MQL", "SQL"]
        assert state.touches["SQL"] == 60
        assert state.sla is not None  # the running SLA clock came along
        old = dev_env.client.get_workflow_handle(handle.id, run_id=first_run)
        assert (await old.describe()).status == WorkflowExecutionStatus.CONTINUED_AS_NEW


async def test_bad_operator_input_fails_at_once_with_the_reason(dev_env):
    async with running_worker(dev_env.client) as h:
        with pytest.raises(WorkflowFailureError) as failure:
            await dev_env.client.execute_workflow(
                "LeadWorkflow", {"email": "not-an-email", "playbook_name": "demo_led"},
                id=f"lead:bad-{uuid.uuid4().hex[:6]}", task_queue=h.task_queue)
        cause = failure.value.cause
        assert isinstance(cause, ApplicationError) and "not an email address" in cause.message
        with pytest.raises(WorkflowFailureError) as failure:
            await dev_env.client.execute_workflow(
                "LeadWorkflow", {"email": "a@b.io", "playbook_name": "nope"},
                id=f"lead:bad-{uuid.uuid4().hex[:6]}", task_queue=h.task_queue)
        assert "no such playbook; known: demo_led, high_touch, trial_led" in str(failure.value.cause)


async def failed_within(client, handle_id: str, seconds: float = 20) -> str:  # type: ignore[no-untyped-def]
    """The workflow's failure message once it FAILED; an AssertionError if it kept RUNNING
    (a failing workflow task retries forever and the lead is wedged)."""
    handle = client.get_workflow_handle(handle_id)
    try:
        await asyncio.wait_for(handle.result(), seconds)
    except WorkflowFailureError as failure:
        assert (await handle.describe()).status == WorkflowExecutionStatus.FAILED
        return str(failure.cause)
    except TimeoutError:
        status = (await handle.describe()).status
        raise AssertionError(f"{handle_id} still {status.name if status else '?'} after {seconds}s") from None
    raise AssertionError(f"{handle_id} completed")


OK_INPUT = {"email": "ada@acme.io", "playbook_name": "demo_led"}


@pytest.mark.parametrize("args", [
    [OK_INPUT, "extra"],  # `temporal workflow start --type LeadWorkflow --input A --input B`
    [OK_INPUT, OK_INPUT, 3],
    [],
    ["garbage"],
    [42],
    [None],
    [b"\x00\xff not json"],
    [{"email": "ada@acme.io", "playbook_name": "demo_led", "fields": {"a": [1, 2]}}],
], ids=["two-args", "three-args", "no-args", "string", "int", "null", "bytes", "bad-field"])
async def test_no_start_input_wedges_a_lead(dev_env, args):
    async with running_worker(dev_env.client) as h:
        lead_id = f"lead:wedge-{uuid.uuid4().hex[:6]}"
        await dev_env.client.start_workflow("LeadWorkflow", args=args, id=lead_id, task_queue=h.task_queue)
        assert await failed_within(dev_env.client, lead_id)


async def test_a_pinned_playbook_with_half_life_zero_fails_the_workflow_not_its_task(dev_env):
    pb = stock_playbook("demo_led").model_dump(mode="json", by_alias=True)
    pb["scoring"]["half_life"] = 0
    async with running_worker(dev_env.client) as h:
        lead_id = f"lead:halflife-{uuid.uuid4().hex[:6]}"
        await dev_env.client.start_workflow(
            "LeadWorkflow", {**OK_INPUT, "playbook": pb}, id=lead_id, task_queue=h.task_queue,
            start_signal="event", start_signal_args=[fact("pricing_visit")])
        assert "half_life" in await failed_within(dev_env.client, lead_id)


async def test_lead_client_refuses_bad_emails_and_oversized_events(dev_env):
    leads = LeadClient(dev_env.client, "no-worker-needed", "demo_led")
    with pytest.raises(ValueError, match="not an email address"):
        await leads.send_event("ada\u200b@acme.io", fact("pricing_visit"))
    with pytest.raises(ValueError, match=f"{MAX_EVENT_BYTES} bytes"):
        await leads.send_event("ada@acme.io", fact("pricing_visit", notes="x" * MAX_EVENT_BYTES))


async def test_a_lead_queried_and_signalled_as_it_starts_survives_a_worker_restart(dev_env, tmp_path):
    """Issue 14: a query that reached a new lead while its lead_config ran as a local activity made
    sdk-core record the result in the first workflow task and give it to the workflow in a second
    one, after the signals that arrived meanwhile; a replay gave it in the first, before them. The
    commands (or a patch read after that point) then differed, and once a worker restart replayed
    the lead its task failed on every retry: the lead was wedged."""
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    migrate(engine)
    record = LedgerActivities(LedgerWriter(engine)).record_ledger  # a ledger: its patch is read late
    h = Harness(dev_env.client, f"test-{uuid.uuid4().hex[:8]}")
    leads = LeadClient(dev_env.client, h.task_queue)
    emails = [unique_email("queried") for _ in range(LEADS)]  # the race is won only most times

    async def signalled(handle: WorkflowHandle) -> None:
        for _ in range(SIGNALS):  # some reach the lead while its first task runs
            await handle.signal(EVENT_SIGNAL, fact("pricing_visit"))
            await asyncio.sleep(0.003)
    try:
        handles = [await h.start_lead(email) for email in emails]  # no worker polls yet: the
        first_states = [asyncio.create_task(leads.state(e)) for e in emails]  # queries wait
        await asyncio.sleep(0.5)
        async with workers_on(dev_env.client, h.task_queue, ledger=record):
            await asyncio.gather(*(signalled(handle) for handle in handles))
            assert None not in await asyncio.gather(*first_states)
            for email in emails:
                await until(lambda e=email: _applied(leads, e, SIGNALS), timeout=10, what="the events")
        async with workers_on(dev_env.client, h.task_queue, ledger=record):  # a fresh cache: replays
            for email in emails:
                await leads.send_event(email, fact("pricing_visit"))
                await until(lambda e=email: _applied(leads, e, SIGNALS + 1), timeout=10,
                            what="the event sent after the restart")
        replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter,
                            workflow_runner=SANDBOX)
        for handle in handles:
            await replayer.replay_workflow(await handle.fetch_history(), raise_on_replay_failure=True)
    finally:
        await h.close()
        engine.dispose()


LEADS = 3
SIGNALS = 30


async def _applied(leads: LeadClient, email: str, at_least: int) -> bool:
    state = await leads.state(email)
    return state is not None and state.events_applied >= at_least
