"""The account funnel of `leadflow report`: how far the companies behind the period's leads got.

Pure, from ledger facts. Each account (the leads' company domain, mapped through the playbook's
`account_domains`; personal addresses belong to none) is rebuilt by folding its leads' stage
facts, in time order up to the end of the period, through the same `lifecycle.account.
apply_report` the AccountWorkflow uses, so the report and the running accounts agree by
construction. Definitions:
- *accounts*: accounts with at least one of the period's leads;
- *reached*: accounts whose account stage at the end of the period is this stage or a later one;
- *entered*: accounts that moved into this stage during the period;
- *conversion*: reached of a stage / reached of the stage before it;
- *active evaluation*, *demo completed*: accounts with the flag raised by the end of the period.
A CRM's own association (HubSpot contact -> company, Salesforce ConvertedAccountId) is not in the
ledger: such a lead counts under its email's domain here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from pydantic import BaseModel

from config.playbook import Playbook
from ledger import facts as k
from ledger.facts import Fact
from lifecycle.account import AccountState, LeadReport, apply_report, canonical_domain, new_account


class AccountStageFigures(BaseModel):
    stage: str
    reached: int
    entered: int
    conversion: float | None  # reached here / reached at the stage before (None for the first)


class AccountFunnel(BaseModel):
    accounts: int
    stages: list[AccountStageFigures]
    active_evaluation: int
    demo_completed: int


def account_funnel(leads: Iterable[list[Fact]], playbook: Playbook, since, until) -> AccountFunnel:  # type: ignore[no-untyped-def]
    """`leads`: each lead's facts (already filtered), in order."""
    by_account: dict[str, list[Fact]] = defaultdict(list)
    active: set[str] = set()
    for facts in leads:
        for fact in facts:
            if fact.account_domain is None:
                continue  # a personal address: no account
            account = canonical_domain(fact.account_domain, playbook.account_domains)
            if since <= fact.at < until:
                active.add(account)
            if fact.kind == k.STAGE and fact.to_stage is not None and fact.at < until:
                by_account[account].append(fact)
    states = {account: _fold(playbook, account, by_account[account]) for account in sorted(active)}
    order = playbook.account_stages
    rank = {stage: i for i, stage in enumerate(order)}
    rows: list[AccountStageFigures] = []
    for i, stage in enumerate(order):
        reached = sum(1 for s in states.values() if s.stage in rank and rank[s.stage] >= i)
        entered = sum(1 for s in states.values() for c in s.history
                      if c.to_stage == stage and since <= c.at < until)
        before = rows[-1].reached if rows else None
        rows.append(AccountStageFigures(stage=stage, reached=reached, entered=entered,
                                        conversion=(reached / before) if before else None))
    return AccountFunnel(accounts=len(states), stages=rows,
                         active_evaluation=sum(s.active_evaluation for s in states.values()),
                         demo_completed=sum(s.demo_completed for s in states.values()))


def _fold(playbook: Playbook, account: str, facts: list[Fact]) -> AccountState:
    state = new_account(playbook, account)
    for fact in sorted(facts, key=lambda f: (f.at, f.lead_id, f.seq, f.idx)):
        assert fact.to_stage is not None
        state = apply_report(playbook, state, LeadReport(
            lead_id=fact.lead_id, email=fact.email, stage=fact.to_stage, seq=fact.seq, at=fact.at,
            owner=fact.owner))
    return state
