"""Durable timers of LeadWorkflow on the time-skipping test server: months run in milliseconds."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from lifecycle.events import EventKind, LeadEvent
from lifecycle.state import LeadState
from tests.support.lead_harness import running_worker, unique_email
from workflows.lead import LeadWorkflow
from workflows.lead_models import LeadCommand


async def signal(env: WorkflowEnvironment, handle: WorkflowHandle, kind: str, **props: str) -> None:
    event = LeadEvent(event_id=uuid.uuid4().hex, kind=EventKind(kind),
                      occurred_at=await env.get_current_time(), properties=props)
    await handle.signal(LeadWorkflow.on_event, event)


async def state(handle: WorkflowHandle) -> LeadState:
    return await handle.query(LeadWorkflow.state)


async def to_pql(env: WorkflowEnvironment, handle: WorkflowHandle) -> None:
    for kind in ("activated", "teammate_invited", "feature_used"):
        await signal(env, handle, kind)
    assert (await state(handle)).stage == "Product Qualified"


async def test_four_hour_sla_breaches_without_the_expected_action(ts_env):
    async with running_worker(ts_env.client) as h:
        handle = await h.start_lead(unique_email(), "trial_led")
        await to_pql(ts_env, handle)
        await ts_env.sleep(timedelta(hours=3, minutes=50))
        assert (await state(handle)).sla_outcomes == []
        await ts_env.sleep(timedelta(minutes=20))
        outcomes = (await state(handle)).sla_outcomes
        assert [(o.stage, o.outcome) for o in outcomes] == [("Product Qualified", "breached")]


async def test_four_hour_sla_met_by_the_expected_action(ts_env):
    async with running_worker(ts_env.client) as h:
        handle = await h.start_lead(unique_email(), "trial_led")
        await to_pql(ts_env, handle)
        await ts_env.sleep(timedelta(hours=1))
        await handle.execute_update(LeadWorkflow.command, LeadCommand(kind="contacted"))
        await ts_env.sleep(timedelta(hours=5))
        s = await state(handle)
        assert s.stage == "Sales Outreach"
        assert [o.outcome for o in s.sla_outcomes] == ["met"]


async def test_ninety_day_nurture_follow_up_fires(ts_env):
    async with running_worker(ts_env.client) as h:
        handle = await h.start_lead(unique_email())
        await handle.execute_update(LeadWorkflow.command,
                                    LeadCommand(kind="snooze", properties={"path": "not_now"}))
        s = await state(handle)
        assert s.stage == "Nurture"
        due = s.follow_up.due_at
        assert due - s.entered_stage_at == timedelta(days=90)
        await ts_env.sleep(timedelta(days=89))
        assert (await state(handle)).follow_up is not None
        await ts_env.sleep(timedelta(days=1, minutes=1))
        s = await state(handle)
        assert s.follow_up is None and s.stage == "Nurture"
        assert s.events_applied == 2  # the snooze, then the follow-up timer


async def test_product_activation_moves_a_waiting_lead_on(ts_env):
    async with running_worker(ts_env.client) as h:
        handle = await h.start_lead(unique_email(), "trial_led")
        await ts_env.sleep(timedelta(days=12))
        assert (await state(handle)).stage == "New Trial Signup"
        await signal(ts_env, handle, "activated")
        s = await state(handle)
        assert s.stage == "Trial Activated"
        assert s.history[-1].cause == "activated"


async def test_timer_pulled_forward_by_a_signal_fires_at_the_new_time(ts_env):
    async with running_worker(ts_env.client) as h:
        handle = await h.start_lead(unique_email(), company_size="500",
                                  industry="software", role="vp")
        await signal(ts_env, handle, "pricing_visit")
        await signal(ts_env, handle, "email_reply")
        s = await state(handle)
        assert s.stage == "MQL" and s.sla.due_at - s.entered_stage_at == timedelta(hours=24)
        await ts_env.sleep(timedelta(hours=2))
        await signal(ts_env, handle, "demo_requested")  # the SLA shrinks to one hour from now
        pulled = (await state(handle)).sla.due_at
        assert pulled < s.sla.due_at
        await ts_env.sleep(timedelta(minutes=55))
        assert (await state(handle)).sla_outcomes == []
        await ts_env.sleep(timedelta(minutes=10))
        s = await state(handle)
        assert [o.outcome for o in s.sla_outcomes] == ["breached"]
        assert timedelta(0) <= s.sla_outcomes[0].at - pulled < timedelta(seconds=1)


async def test_sla_breach_creates_owner_tasks_and_an_analytics_event(ts_env):
    from tests.support.lead_harness import until
    from tests.support.vendor_stack import VENDORS, vendor_stack

    with vendor_stack() as stack:
        async with running_worker(ts_env.client, VENDORS, stack.connectors()) as h:
            email = unique_email("breach")
            handle = await h.start_lead(email, "trial_led")
            await to_pql(ts_env, handle)
            await ts_env.sleep(timedelta(hours=4, minutes=5))
            subject = f"SLA breached: first outreach within 4 hours for {email} in Product Qualified"
            await until(lambda: any(t.properties.get("hs_task_subject") == subject
                                    for t in stack.hubspot.records("tasks")))
            await until(lambda: any(t.get("Subject") == subject
                                    for t in stack.salesforce.records["Task"].values()))
            await until(lambda: [e["properties"] for e in stack.segment.events_of("track", email)
                                 if e["event"] == "Lead SLA Breached"])
            breach = next(e for e in stack.segment.events_of("track", email)
                          if e["event"] == "Lead SLA Breached")
            assert breach["properties"] == {"stage": "Product Qualified", "breaches": "1"}


async def test_a_nurtured_lead_s_score_decays_when_its_follow_up_fires(ts_env):
    async with running_worker(ts_env.client) as h:
        handle = await h.start_lead(unique_email())
        await signal(ts_env, handle, "pricing_visit")
        await handle.execute_update(LeadWorkflow.command,
                                    LeadCommand(kind="snooze", properties={"path": "not_now"}))
        assert (await state(handle)).score == 15 + 5  # + 5 fit points for a business email
        await ts_env.sleep(timedelta(days=90, minutes=1))  # three 30-day half-lives
        s = await state(handle)
        assert (s.follow_up, s.stage, s.score) == (None, "Nurture", 2 + 5)  # LeadScore follows it


async def test_a_lead_with_no_event_and_no_timer_decays_after_the_half_life(ts_env):
    """A New Lead has no SLA and no follow-up: its decay wake-ups alone bring the score, and
    the LeadScore search attribute, down (15 intent points halve in 30 days: 8 by day 31)."""
    async with running_worker(ts_env.client) as h:
        handle = await h.start_lead(unique_email())
        await signal(ts_env, handle, "pricing_visit")
        before = await state(handle)
        assert (before.stage, before.sla, before.follow_up) == ("New Lead", None, None)
        await ts_env.sleep(timedelta(days=31))
        after = await state(handle)
        assert after.score == before.score - 7, (before.score, after.score)
        # Read raw: the SDK cannot decode this server's empty Datetime attributes (describe fails).
        raw = await ts_env.client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(namespace=ts_env.client.namespace,
                                             execution=WorkflowExecution(workflow_id=handle.id)))
        fields = raw.workflow_execution_info.search_attributes.indexed_fields
        assert json.loads(fields["LeadScore"].data) == after.score
