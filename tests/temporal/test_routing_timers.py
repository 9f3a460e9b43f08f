"""Business-hours SLAs, pauses and escalation of routed leads on the time-skipping server."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from config.playbook_loader import stock_playbook
from lifecycle.events import EventKind, LeadEvent
from lifecycle.state import LeadState
from tests.support.lead_harness import running_worker, unique_email
from tests.support.routing_helpers import start_pinned, with_team
from workflows.lead import LeadWorkflow
from workflows.lead_models import LeadCommand
from workflows.team_client import team_workflow_id
from workflows.team_router import TeamRouterWorkflow

NY = ZoneInfo("America/New_York")


async def state(handle: WorkflowHandle) -> LeadState:
    return await handle.query(LeadWorkflow.state)


async def owned(handle: WorkflowHandle, owner: str | None = None) -> LeadState:
    """The lead's state once its router has answered (and, if given, with this owner)."""
    for _ in range(100):
        s = await state(handle)
        if s.owner is not None and owner in (None, s.owner):
            return s
        await asyncio.sleep(0.1)
    raise AssertionError(f"no owner {owner or ''} after 10s: {s.owner}, {s.sync_errors}")


async def sleep_until(env: WorkflowEnvironment, when: datetime) -> None:
    await env.sleep(when - await env.get_current_time())


async def next_friday_4pm(env: WorkflowEnvironment) -> datetime:
    now = (await env.get_current_time()).astimezone(NY)
    day = now.date() + timedelta(days=(4 - now.weekday()) % 7 or 7)
    return datetime(day.year, day.month, day.day, 16, tzinfo=NY)


async def test_friday_4pm_lead_breaches_monday_noon_and_not_earlier(ts_env):
    async with running_worker(ts_env.client) as h:
        friday = await next_friday_4pm(ts_env)
        await sleep_until(ts_env, friday)
        handle = await h.start_lead(unique_email("friday"), "high_touch")
        s = await owned(handle)
        assert (s.team, s.owner) == ("enterprise-east", "ana.sdr@example.com")
        monday_noon = friday + timedelta(days=3, hours=-4)
        assert s.sla is not None and s.sla.business_hours
        assert abs(s.sla.due_at - monday_noon) < timedelta(seconds=5)

        await sleep_until(ts_env, monday_noon - timedelta(minutes=2))
        assert (await state(handle)).sla_outcomes == []  # the whole weekend did not count
        await ts_env.sleep(timedelta(minutes=4))
        s = await state(handle)
        assert [(o.stage, o.outcome, o.owner) for o in s.sla_outcomes] == [
            ("New Lead", "breached", "ana.sdr@example.com")]
        assert s.sla is not None and s.sla.due_at - monday_noon > timedelta(hours=3, minutes=59)


async def test_waiting_on_customer_pauses_the_sla_and_the_reply_resumes_it(ts_env):
    async with running_worker(ts_env.client) as h:
        handle = await h.start_lead(unique_email("wait"), "high_touch")
        await handle.execute_update(LeadWorkflow.command, LeadCommand(
            kind="confirm_sql", properties={"use_case": "sso", "budget": "1M", "timeline": "Q1"}))
        await ts_env.sleep(timedelta(days=1))
        await handle.execute_update(LeadWorkflow.command, LeadCommand(kind="wait_on_customer"))
        s = await state(handle)
        assert s.stage == "Waiting on Customer" and s.sla is None
        paused = s.paused_sla
        assert paused is not None and abs(paused.remaining - timedelta(days=2)) < timedelta(minutes=1)

        await ts_env.sleep(timedelta(days=10))  # far past the 3-day SLA: paused, so no breach
        assert [o.outcome for o in (await state(handle)).sla_outcomes] == ["met"]  # New Lead's
        await handle.signal(LeadWorkflow.on_event, LeadEvent(
            event_id=uuid.uuid4().hex, kind=EventKind.EMAIL_REPLY,
            occurred_at=await ts_env.get_current_time()))
        await ts_env.sleep(timedelta(days=1, hours=23))
        s = await state(handle)
        assert s.stage == "Qualified by Sales" and s.sla is not None
        assert [o.outcome for o in s.sla_outcomes] == ["met"]
        await ts_env.sleep(timedelta(hours=2))
        s = await state(handle)
        assert [(o.stage, o.outcome) for o in s.sla_outcomes][-1] == ("Qualified by Sales", "breached")


async def test_second_breach_reassigns_to_the_next_owner_in_rotation(ts_env):
    members = [{"email": f"{n}@example.com"} for n in ("ann", "ben", "cal")]
    pb = with_team("high_touch", "enterprise-east", members)
    async with running_worker(ts_env.client) as h:
        first = await start_pinned(h, unique_email("first"), pb)
        assert (await owned(first)).owner == "ann@example.com"
        await first.execute_update(LeadWorkflow.command, LeadCommand(kind="contacted"))

        lead = await start_pinned(h, "cio@" + uuid.uuid4().hex[:6] + ".io", pb)
        s = await owned(lead)
        assert s.owner == "ben@example.com" and s.manager == "mia.manager@example.com"
        await ts_env.sleep(timedelta(days=4))  # 8 business hours always fit in 4 days + a weekend
        s = await owned(lead, "cal@example.com")
        assert [o.outcome for o in s.sla_outcomes] == ["breached", "breached"]
        assert [o.owner for o in s.sla_outcomes] == ["ben@example.com", "ben@example.com"]
        assert s.sla is None and s.team == "enterprise-east"

        router = ts_env.client.get_workflow_handle(team_workflow_id("enterprise-east", h.task_queue))
        view = await router.query(TeamRouterWorkflow.view)
        assert view.totals == {"ann@example.com": 1, "ben@example.com": 1, "cal@example.com": 1}
        assert view.seats[0].email == "ann@example.com"
        h.handles.append(router)  # recorded for the replay test, then terminated


def test_stock_high_touch_is_what_these_tests_assume():
    team = stock_playbook("high_touch").routing.team("enterprise-east")  # type: ignore[union-attr]
    assert team.calendar.timezone == "America/New_York" and team.calendar.days[0] == "mon"
    assert [m.email for m in team.members][0] == "ana.sdr@example.com"
