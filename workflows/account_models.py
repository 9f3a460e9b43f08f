"""Everything that crosses AccountWorkflow's boundary: its input (as an operator would type it
into the Temporal UI), the signal its leads send, its view, the messages of the activities around
it and their names on the wire. Activities import these; the workflows import no activity."""

from __future__ import annotations

from pydantic import BaseModel, Field

from config.playbook import Playbook
from connectors.base import AccountSnapshot
from lifecycle.account import AccountState, LeadReport

# The signal a lead sends its account (signal-with-start needs the name as a string).
LEAD_CHANGED_SIGNAL = "lead_changed"

# Activity names on the wire: unchanged, so recorded histories replay.
JOIN_ACCOUNT = "join_account"  # a lead's report: resolve its account, signal-with-start it
SYNC_ACCOUNT = "sync_account"  # the account's fields to one CRM (vendor task queue)

# The production task queue (config.settings' default): its accounts are plain `account:<domain>`.
DEFAULT_TASK_QUEUE = "leadflow"


def account_workflow_id(domain: str, task_queue: str = DEFAULT_TASK_QUEUE) -> str:
    """`account:<domain>`; accounts of another deployment (a test's own task queue) sharing the
    namespace are kept apart by a suffix, as team routers are."""
    domain = domain.strip().lower()
    return f"account:{domain}" if task_queue == DEFAULT_TASK_QUEUE else f"account:{domain}@{task_queue}"


class AccountInput(BaseModel):
    """Start an account: `{"domain": "acme.io", "playbook_name": "demo_led"}` is enough."""

    domain: str = Field(min_length=3)
    playbook_name: str = "demo_led"
    # Carried by continue-as-new; operators leave them out.
    playbook: Playbook | None = None
    state: AccountState | None = None
    record_ids: dict[str, str] = Field(default_factory=dict)  # vendor -> company / Account id
    synced: dict[str, str] = Field(default_factory=dict)  # vendor -> fingerprint last written
    pending: list[LeadReport] = Field(default_factory=list)  # reports not folded in yet


class AccountView(BaseModel):
    """What `leadflow account show` prints."""

    domain: str
    stage: str | None
    furthest_stage: str | None
    active_evaluation: bool
    demo_completed: bool
    owner: str | None
    leads_by_stage: dict[str, int]
    leads: dict[str, str]  # email -> stage
    first_touch_at: str | None
    last_touch_at: str | None
    route_to_owner: bool
    record_ids: dict[str, str]
    sync_errors: dict[str, str]
    history: list[dict[str, str]]

    @classmethod
    def of(cls, s: AccountState, record_ids: dict[str, str], errors: dict[str, str]) -> AccountView:
        return cls(domain=s.domain, stage=s.stage, furthest_stage=s.furthest_stage,
                   active_evaluation=s.active_evaluation, demo_completed=s.demo_completed,
                   owner=s.owner, leads_by_stage=s.leads_by_stage(),
                   leads={email: lead.stage for email, lead in s.leads.items()},
                   first_touch_at=s.first_touch_at.isoformat() if s.first_touch_at else None,
                   last_touch_at=s.last_touch_at.isoformat() if s.last_touch_at else None,
                   route_to_owner=s.route_to_owner, record_ids=dict(record_ids),
                   sync_errors=dict(errors),
                   history=[{"from": c.from_stage or "", "to": c.to_stage, "at": c.at.isoformat(),
                             "cause": c.cause} for c in s.history])


class JoinAccount(BaseModel):
    """A lead's report to its account. `account` is None until the first report resolved it."""

    report: LeadReport
    playbook_name: str
    domains: dict[str, list[str]] = Field(default_factory=dict)  # the playbook's account_domains
    account: str | None = None


class AccountJoined(BaseModel):
    account: str | None  # None: no account (a personal address)


class SyncAccountInput(BaseModel):
    vendor: str
    playbook: str
    snapshot: AccountSnapshot
