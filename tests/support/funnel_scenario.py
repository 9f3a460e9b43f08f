"""A fixed funnel of 50 demo-led leads driven through the real LeadWorkflow on the time-skipping
server, so every figure of the report can be worked out by hand (see test_ledger_funnel.py).

Hours are from T0, when every lead starts:
  0h   won, opp_lost, eval_lost, demo_lost, sql_stalled, mql_dq, mql_nurture (20): demo request -> MQL
       idle_* (22): two content downloads each; imported (2): start in SQL, backfilled
  2h   the first twelve confirm SQL (MQL SLA met at 2h); spam (6): disqualified from New Lead
  24h  mql_dq and mql_nurture breach the MQL SLA (24h)
  26h  won..demo_lost (8) and imported (2) book demos (SQL SLA met); mql_dq disqualified
       (student_research), mql_nurture snoozed
  50h  sql_stalled breach the SQL SLA (2 days); again at 98h, which stops the clock
  74h  won, opp_lost, eval_lost -> In Evaluation; demo_lost lost (timing)
  98h  won, opp_lost -> Opportunity Created; eval_lost lost (budget)
  122h won -> Closed Won; opp_lost lost (competitor_chosen)
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from config.playbook_loader import stock_playbook
from lifecycle.events import EventKind, LeadEvent, lead_workflow_id
from tests.support.lead_harness import Harness
from workflows.lead import LeadWorkflow
from workflows.lead_models import LeadCommand, LeadInput

# group: (leads, channel, campaign)
GROUPS: dict[str, tuple[int, str, str | None]] = {
    "won": (2, "ads", "spring"),
    "opp_lost": (1, "ads", "spring"),
    "eval_lost": (2, "webinar", "spring"),
    "demo_lost": (3, "webinar", "autumn"),
    "sql_stalled": (4, "ads", "autumn"),
    "mql_dq": (5, "webinar", "autumn"),
    "mql_nurture": (3, "ads", "spring"),
    "spam": (6, "ads", "autumn"),
    "idle_ads": (11, "ads", "spring"),
    "idle_webinar": (11, "webinar", "autumn"),
    "imported": (2, "ads", None),
}
DEMO_PATH = ["won", "opp_lost", "eval_lost", "demo_lost"]
SQL_PATH = [*DEMO_PATH, "sql_stalled"]
MQL_PATH = [*SQL_PATH, "mql_dq", "mql_nurture"]
SQL_FIELDS = {"use_case": "forecasting", "timeline": "Q3"}


@dataclass
class Funnel:
    env: WorkflowEnvironment
    harness: Harness
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    leads: dict[str, list[WorkflowHandle]] = field(default_factory=dict)
    started_at: datetime | None = None

    def email(self, group: str, i: int) -> str:
        return f"{group.replace('_', '-')}-{i}-{self.tag}@funnel.io"

    async def start(self) -> None:
        pb = stock_playbook("demo_led")
        self.started_at = await self.env.get_current_time()
        for group, (count, channel, campaign) in GROUPS.items():
            self.leads[group] = []
            for i in range(count):
                email = self.email(group, i)
                inp = LeadInput(email=email, playbook_name="demo_led", playbook=pb, source=channel,
                                fields={"campaign": campaign} if campaign else {},
                                initial_stage="SQL" if group == "imported" else None)
                handle = await self.harness.client.start_workflow(
                    LeadWorkflow.run, inp, id=lead_workflow_id(email), task_queue=self.harness.task_queue)
                self.harness.handles.append(handle)
                self.leads[group].append(handle)

    def handles(self, *groups: str) -> list[WorkflowHandle]:
        return [h for g in groups for h in self.leads[g]]

    async def at(self, hours: float) -> None:
        """Lets the server's clock run on to T0 + hours (timers fire on the way)."""
        assert self.started_at is not None
        now = await self.env.get_current_time()
        await self.env.sleep(self.started_at + timedelta(hours=hours) - now)

    async def fact(self, kind: str, *groups: str) -> None:
        handles = self.handles(*groups)
        before = await asyncio.gather(*(_applied(h) for h in handles))
        now = await self.env.get_current_time()
        await asyncio.gather(*(h.signal(LeadWorkflow.on_event, LeadEvent(
            event_id=uuid.uuid4().hex, kind=EventKind(kind), occurred_at=now)) for h in handles))
        for handle, count in zip(handles, before, strict=True):  # applied before time moves on
            while await _applied(handle) <= count:
                await asyncio.sleep(0.05)

    async def command(self, kind: str, *groups: str, **props: str) -> None:
        cmd = LeadCommand(kind=kind, properties=props)  # type: ignore[arg-type]
        await asyncio.gather(*(h.execute_update(LeadWorkflow.command, cmd) for h in self.handles(*groups)))

    async def run(self) -> None:
        await self.start()
        await self.fact("demo_requested", *MQL_PATH)
        await self.fact("content_download", "idle_ads", "idle_webinar")
        await self.fact("content_download", "idle_ads", "idle_webinar")
        await self.at(2)
        await self.command("confirm_sql", *SQL_PATH, **SQL_FIELDS)
        await self.command("disqualify", "spam", reason="spam")
        await self.at(26)
        await self.command("demo_scheduled", *DEMO_PATH, "imported")
        await self.command("disqualify", "mql_dq", reason="student_research")
        await self.command("snooze", "mql_nurture", path="not_now")
        await self.at(74)
        await self.command("discovery_completed", "won", "opp_lost", "eval_lost", stakeholders="cfo,cto")
        await self.command("lost", "demo_lost", reason="timing")
        await self.at(98)
        await self.command("opportunity_created", "won", "opp_lost")
        await self.command("lost", "eval_lost", reason="budget")
        await self.at(122)
        await self.command("won", "won")
        await self.command("lost", "opp_lost", reason="competitor_chosen")


async def _applied(handle: WorkflowHandle) -> int:
    state = await handle.query(LeadWorkflow.state)
    return state.events_applied if state else -1
