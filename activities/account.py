"""Activities around accounts: a lead joins its account, and an account's fields reach the CRMs.

`join_account` runs on the main task queue for a lead workflow (workflows cannot signal-with-start
themselves): on the lead's first report it resolves which account the lead belongs to (the CRM's
own association wins: HubSpot's contact -> company, then Salesforce's ConvertedAccountId; else
the playbook's `account_domains`, else the email's domain) and hands the report to that
AccountWorkflow by signal-with-start, so the account exists from its first lead. The answer is
recorded in the lead's history, so a replay never asks the CRMs again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from temporalio import activity
from temporalio.client import Client

from activities.batcher import Batcher, window_for
from config.vendors import CRMS, Vendor
from connectors.base import Connector
from lifecycle.account import account_for
from workflows.account import AccountWorkflow
from workflows.account_models import (
    JOIN_ACCOUNT,
    LEAD_CHANGED_SIGNAL,
    AccountInput,
    AccountJoined,
    JoinAccount,
    account_workflow_id,
)

# Which connector method reads leads' CRM associations (many at once), per vendor, in the order
# they win, and how many one batch takes: concurrent joins share batch requests (a backfill's
# leads all join at once), as lead syncs do.
ASSOCIATION_READERS = ((Vendor.HUBSPOT, "company_domains_of", 100),
                       (Vendor.SALESFORCE, "account_domains_of", 200))


class AccountActivities:
    def __init__(self, client: Client, task_queue: str, vendors: Sequence[str],
                 connectors: Callable[[str, str], Connector]) -> None:
        self._client, self._task_queue = client, task_queue
        self._vendors = [v for v in vendors if v in CRMS]
        self._connectors = connectors
        self._readers: dict[tuple[str, str], Batcher[str, str | None]] = {}

    @activity.defn(name=JOIN_ACCOUNT)
    async def join_account(self, inp: JoinAccount) -> AccountJoined:
        account = inp.account
        if account is None:
            crm = await self._crm_domain(inp.report.email, inp.playbook_name)
            account = account_for(inp.report.email, inp.domains, crm)
        if account is None:
            return AccountJoined(account=None)
        await self._client.start_workflow(
            AccountWorkflow.run, AccountInput(domain=account, playbook_name=inp.playbook_name),
            id=account_workflow_id(account, self._task_queue), task_queue=self._task_queue,
            start_signal=LEAD_CHANGED_SIGNAL, start_signal_args=[inp.report])
        return AccountJoined(account=account)

    async def _crm_domain(self, email: str, playbook: str) -> str | None:
        """The domain of the company a CRM already associates with this lead, if any."""
        for vendor, method, size in ASSOCIATION_READERS:
            if vendor in self._vendors:
                found = await self._reader(vendor, method, size, playbook).submit(email)
                if found:
                    return str(found)
        return None

    def _reader(self, vendor: str, method: str, size: int, playbook: str) -> Batcher[str, str | None]:
        reader = self._readers.get((vendor, playbook))
        if reader is None:
            connector = self._connectors(vendor, playbook)
            budget = getattr(connector, "budget_left", lambda: None)
            reader = self._readers[(vendor, playbook)] = Batcher(
                getattr(connector, method), key=lambda email: email.strip().lower(), size=size,
                window=lambda: window_for(budget()))
        return reader
