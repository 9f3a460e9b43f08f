"""An account's aggregate: what its leads report, folded into one company-level picture.

Pure and deterministic (no I/O, no Temporal): AccountWorkflow calls `apply_report` for each
stage change a lead reports and syncs what `account_fields` returns. The aggregate keeps each
lead's latest stage (a report older than the one kept is ignored, so reports may arrive out of
order), the furthest lead stage any lead reached, the active-evaluation and demo-completed flags,
the owner of record and first and last touch; the playbook's `account_rules` move the account's
own stage forward and decide whether new leads go to the account owner.

Which account a lead belongs to is `account_for`: the CRM's own association when it has one,
else the playbook's `account_domains` (alias domains and `*.` sub-domains), else the email's
domain; personal (free-mail) addresses belong to no account (lifecycle.accounts).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel, Field

from config.accounts import AccountRule
from config.playbook import Playbook, StageKind
from lifecycle.accounts import FREE_MAIL_DOMAINS, account_domain

MAX_LEADS = 2000  # leads an account remembers by email; the longest quiet are forgotten first
MAX_CHANGES = 200  # account stage changes kept in its history


# -- which account -------------------------------------------------------------------------

def canonical_domain(domain: str, domains: Mapping[str, list[str]]) -> str:
    """The account a domain belongs to by the playbook's `account_domains` (itself otherwise):
    an alias listed under an account, or a sub-domain of a `*.` pattern or of an account."""
    domain = domain.strip().lower().rstrip(".")
    if domain in domains:
        return domain
    best: tuple[int, str] | None = None  # the most specific pattern wins
    for account, aliases in domains.items():
        for alias in [f"*.{account}", *aliases]:
            if alias == domain:
                return account
            base = alias[2:] if alias.startswith("*.") else None
            if base and domain.endswith("." + base) and (best is None or len(base) > best[0]):
                best = (len(base), account)
    return best[1] if best else domain


def account_for(email: str, domains: Mapping[str, list[str]],
                crm_domain: str | None = None) -> str | None:
    """The account of a lead: the CRM's association (`crm_domain`, the associated company's
    domain) wins when present; else its email's domain; both mapped through `account_domains`.
    None for a personal address without a CRM association."""
    if crm_domain and crm_domain.strip() and crm_domain.strip().lower() not in FREE_MAIL_DOMAINS:
        return canonical_domain(_bare(crm_domain), domains)
    own = account_domain(email)
    return None if own is None else canonical_domain(own, domains)


def _bare(domain: str) -> str:
    """`https://www.acme.io/about` (a Website field) -> `acme.io`."""
    value = domain.strip().lower()
    value = value.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return value[4:] if value.startswith("www.") else value


# -- the aggregate -------------------------------------------------------------------------

class LeadReport(BaseModel):
    """One lead's stage as it stands, reported by its workflow after each change."""

    lead_id: str  # `lead:<email>`
    email: str
    stage: str
    seq: int  # grows with every change of the lead: older reports are ignored
    at: datetime
    owner: str | None = None
    owner_ids: dict[str, str] = Field(default_factory=dict)  # vendor -> the owner's CRM id
    closed: bool = False  # deleted or merged away: it no longer counts


class AccountLead(BaseModel):
    stage: str
    seq: int
    owner: str | None = None
    owner_ids: dict[str, str] = Field(default_factory=dict)
    first_at: datetime
    last_at: datetime
    reached: list[str] = Field(default_factory=list)  # stages this lead entered


class AccountChange(BaseModel):
    from_stage: str | None
    to_stage: str
    at: datetime
    cause: str  # the rule's name, or what it matched


class AccountState(BaseModel):
    domain: str
    playbook: str
    stage: str | None = None  # the account's own stage (account_stages); None without any
    leads: dict[str, AccountLead] = Field(default_factory=dict)  # email -> latest report
    reached: list[str] = Field(default_factory=list)  # lead stages any lead has entered
    reached_by: dict[str, int] = Field(default_factory=dict)  # lead stage -> leads that entered it
    furthest_stage: str | None = None
    active_evaluation: bool = False
    demo_completed: bool = False
    route_to_owner: bool = False  # an account_rule sends new leads to the owner of record
    owner: str | None = None
    owner_ids: dict[str, str] = Field(default_factory=dict)
    first_touch_at: datetime | None = None
    last_touch_at: datetime | None = None
    history: list[AccountChange] = Field(default_factory=list)
    reports: int = 0

    def leads_by_stage(self) -> dict[str, int]:
        return dict(Counter(lead.stage for lead in self.leads.values()))


def new_account(playbook: Playbook, domain: str) -> AccountState:
    return AccountState(domain=domain, playbook=playbook.name,
                        stage=playbook.account_stages[0] if playbook.account_stages else None)


def _ranks(playbook: Playbook) -> dict[str, int]:
    """The place of each open or won stage among them (the others are absent: no progress)."""
    ranked = [s.name for s in playbook.stages if s.kind in (StageKind.OPEN, StageKind.WON)]
    return {name: i for i, name in enumerate(ranked)}


def progress_rank(playbook: Playbook, stage: str) -> int:
    """How far along a lead stage is: its place among the open and won stages (-1 for the
    off-ramps: lost, disqualified and nurture are no progress)."""
    return _ranks(playbook).get(stage, -1)


def apply_report(playbook: Playbook, state: AccountState, report: LeadReport) -> AccountState:
    """The account after one lead's report (a new object; `state` is left as it was)."""
    return apply_reports(playbook, state, [report])


def apply_reports(playbook: Playbook, state: AccountState, reports: list[LeadReport]) -> AccountState:
    """The account after `reports`, in order (a new object; `state` is left as it was): the same
    as applying each in turn, with one copy of the state for them all. perf (issue 16): a
    per-report deep copy of an account of 2,000 leads made a burst of reports (a list import at
    one company) cost minutes of workflow time."""
    new = state.model_copy(deep=True)
    for report in reports:
        _apply(playbook, new, report)
    return new


def _apply(playbook: Playbook, new: AccountState, report: LeadReport) -> None:
    email = report.email
    kept = new.leads.get(email)
    if kept is not None and report.seq <= kept.seq:
        return  # a redelivered or overtaken report
    new.reports += 1
    new.first_touch_at = min(filter(None, (new.first_touch_at, report.at)))
    new.last_touch_at = max(filter(None, (new.last_touch_at, report.at)))
    owned = bool(kept and kept.owner) or bool(report.owner and not report.closed)
    if report.closed:
        new.leads.pop(email, None)
    else:
        reached = list(kept.reached) if kept else []
        if report.stage not in reached:
            reached.append(report.stage)
            new.reached_by[report.stage] = new.reached_by.get(report.stage, 0) + 1
            if report.stage not in new.reached:
                new.reached.append(report.stage)
        new.leads.pop(email, None)  # re-inserted last: the dict's order is the quietest first
        new.leads[email] = AccountLead(
            stage=report.stage, seq=report.seq, owner=report.owner, owner_ids=report.owner_ids,
            first_at=kept.first_at if kept else report.at, last_at=report.at, reached=reached)
        while len(new.leads) > MAX_LEADS:
            forgotten = new.leads.pop(next(iter(new.leads)))
            owned = owned or bool(forgotten.owner)
    _furthest(playbook, new)
    if owned:  # a lead with no owner, before or after, cannot change the owner of record
        _owner_of_record(playbook, new)
    _apply_rules(playbook, new, report.at)


def _furthest(playbook: Playbook, state: AccountState) -> None:
    for stage in state.reached:
        if progress_rank(playbook, stage) > (
                -1 if state.furthest_stage is None else progress_rank(playbook, state.furthest_stage)):
            state.furthest_stage = stage


def _owner_of_record(playbook: Playbook, state: AccountState) -> None:
    """The owner of the furthest-along lead that has one; the current owner keeps the account
    on a tie, so it does not flip between two reps working leads in the same stage."""
    ranks = _ranks(playbook)  # one lookup per lead: an account remembers up to MAX_LEADS
    owned = [(ranks.get(lead.stage, -1), lead) for lead in state.leads.values() if lead.owner]
    if not owned:
        return
    top = max(rank for rank, _ in owned)
    leaders = [lead for rank, lead in owned if rank == top]
    keep = next((lead for lead in leaders if lead.owner == state.owner), None)
    chosen = keep or leaders[0]
    state.owner, state.owner_ids = chosen.owner, dict(chosen.owner_ids)


def _holds(rule: AccountRule, state: AccountState) -> bool:
    if rule.lead_reached:
        return sum(state.reached_by.get(s, 0) for s in rule.lead_reached) >= rule.min_leads
    return state.stage in rule.account_in


def _apply_rules(playbook: Playbook, state: AccountState, at: datetime) -> None:
    """Every rule in order, until none changes the stage (a rule on `account_in` can follow one
    that moved the account). Stages only move forward; flags, once raised, stay."""
    order = playbook.account_stages
    for _ in range(len(playbook.account_rules) + 1):
        moved = False
        route = False
        for i, rule in enumerate(playbook.account_rules):
            if not _holds(rule, state):
                continue
            for flag in rule.set_flags:
                setattr(state, flag, True)
            route = route or rule.route_to_owner
            target = rule.set_stage
            if target is not None and target in order and (
                    state.stage not in order or order.index(target) > order.index(state.stage)):
                state.history.append(AccountChange(from_stage=state.stage, to_stage=target, at=at,
                                                   cause=rule.name or f"account_rules[{i}]"))
                state.history = state.history[-MAX_CHANGES:]
                state.stage, moved = target, True
        state.route_to_owner = route
        if not moved:
            return


def account_owner_for_routing(state: AccountState | None) -> str | None:
    """Whom a new lead of this account goes to, when an account rule says so."""
    if state is None or not state.route_to_owner:
        return None
    return state.owner
