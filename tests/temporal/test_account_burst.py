"""A burst of reports at one company (a list import of 3,000 people at one domain) never wedges
its AccountWorkflow: each workflow task folds a bounded batch, and the run continues as new
while reports keep coming (account-batches-v1). Before it, every fold deep-copied the account,
the first workflow task timed out on every attempt, and Temporal refused reports past 10,000
signals (bench/scale.py, 20,000 leads at acme.io)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from activities.account import AccountActivities
from lifecycle.account import MAX_LEADS, AccountState, LeadReport
from tests.support.lead_harness import running_worker, until
from workflows.account import AccountWorkflow
from workflows.account_client import AccountClient
from workflows.account_models import JoinAccount

PEOPLE = 3000


def no_vendor(vendor: str, playbook: str):  # type: ignore[no-untyped-def]
    raise AssertionError("no vendor is configured")


async def test_three_thousand_reports_at_one_company_are_all_folded(dev_env):
    async with running_worker(dev_env.client, accounts=True) as h:
        domain = f"burst-{uuid.uuid4().hex[:6]}.example"
        # The activity every lead reports through (signal-with-start of its account).
        join = AccountActivities(dev_env.client, h.task_queue, [], no_vendor).join_account
        gate = asyncio.Semaphore(64)

        async def report(i: int) -> None:
            email = f"person{i}@{domain}"
            lead = LeadReport(lead_id=f"lead:{email}", email=email, stage="MQL", seq=1,
                              at=datetime.now(UTC))
            async with gate:
                await join(JoinAccount(report=lead, playbook_name="demo_led", account=domain))

        await asyncio.gather(*(report(i) for i in range(PEOPLE)))
        accounts = AccountClient(dev_env.client, h.task_queue)
        h.handles.append(dev_env.client.get_workflow_handle(accounts.workflow_id(domain)))

        async def folded() -> AccountState | None:  # every report counted, in whichever run
            state: AccountState | None = await h.handles[-1].query(AccountWorkflow.state)
            return state if state is not None and state.reached_by.get("MQL") == PEOPLE else None

        state = await until(folded, timeout=120, what=f"the account folded all {PEOPLE} reports")
        assert len(state.leads) == min(PEOPLE, MAX_LEADS)  # beyond the cap the quietest go
        desc = await h.handles[-1].describe()
        first_run = desc.raw_description.workflow_execution_info.first_run_id
        assert first_run != desc.run_id, "3,000 reports in one run: it never continued as new"
        # recorded for tests/replay: the run that folded in batches and continued as new
        h.handles.insert(0, dev_env.client.get_workflow_handle(desc.id, run_id=first_run))
