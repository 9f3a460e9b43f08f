"""Reading accounts from Python: an account's view by domain, and accounts listed by stage.

    accounts = AccountClient(await config.temporal.connect(load_settings()), "leadflow")
    view = await accounts.view("acme.io")   # None: no lead of acme.io has reported yet

Leads reach their account themselves (the `join_account` activity); nothing here writes.
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from workflows.account import AccountWorkflow
from workflows.account_models import AccountView, account_workflow_id


class AccountClient:
    def __init__(self, client: Client, task_queue: str) -> None:
        self.client, self.task_queue = client, task_queue

    def workflow_id(self, domain: str) -> str:
        return account_workflow_id(domain, self.task_queue)

    async def view(self, domain: str) -> AccountView | None:
        handle = self.client.get_workflow_handle(self.workflow_id(domain))
        try:
            view: AccountView | None = await handle.query(AccountWorkflow.view)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return None
            raise
        return view

    async def domains_in_stage(self, stage: str) -> list[str]:
        """Accounts whose AccountStage is `stage` (a list query: the dev server or a cluster)."""
        escaped = stage.replace("\\", "\\\\").replace("'", "\\'")
        found = []
        async for wf in self.client.list_workflows(
                f"WorkflowType = 'AccountWorkflow' AND AccountStage = '{escaped}' "
                f"AND ExecutionStatus = 'Running' AND TaskQueue = '{self.task_queue}'"):
            found.append(wf.id)
        return found
