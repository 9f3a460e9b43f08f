"""The playbook: a revenue team's whole stage model as data, validated by pydantic."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from config.accounts import AccountDomains, AccountRule, Accounts
from config.durations import Duration
from config.lead_fields import LeadField
from config.routing import Routing
from lifecycle.events import EventKind


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StageKind(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"
    DISQUALIFIED = "disqualified"
    NURTURE = "nurture"


TERMINAL_KINDS = frozenset({StageKind.WON, StageKind.LOST, StageKind.DISQUALIFIED})

BreachAction = Literal["notify_owner", "notify_manager", "emit_analytics"]


class Sla(Strict):
    """The expected next action in a stage and the time allowed for it."""

    expect: list[EventKind] = Field(min_length=1)
    within: Duration
    description: str = ""
    on_breach: list[BreachAction] = Field(default=["notify_owner"])
    # A hot signal shortens the clock: {demo_requested: 1h} pulls the due time forward.
    expedite: dict[EventKind, Duration] = Field(default_factory=dict)
    # Count `within` in the owning team's working hours (its routing calendar), not the wall clock.
    business_hours: bool = False


# Conditions on a lead: a field (or `fit_grade`, `icp`, `source`, `email_type`) -> allowed values.
Conditions = dict[str, list[str]]
Grade = Literal["A", "B", "C", "D"]


class Acceptance(Strict):
    """The stage's new owner must accept the lead within `within`, or reject it with a reason;
    a rejection moves the lead to `reject_to`."""

    within: Duration
    reject_to: str
    reasons: list[str] = Field(default_factory=list)  # empty: any reason, but one is required


class Stage(Strict):
    name: str = Field(min_length=1)
    kind: StageKind = StageKind.OPEN
    owner_role: Literal["marketing", "sdr", "ae", "cs"] | None = None
    required_fields: list[str] = Field(default_factory=list)
    entry_rule: str = ""
    exit_rules: list[str] = Field(default_factory=list)
    sla: Sla | None = None
    # Only a person's command may move a lead into this stage (SQL), never scoring.
    requires_confirmation: bool = False
    # A waiting stage ("waiting on customer"): the SLA clock of the stage left pauses here and
    # resumes with the time it had left when the lead returns to that stage.
    pauses_sla: bool = False
    # Handoff acceptance: the stage's new owner accepts or rejects the lead (issue 19).
    acceptance: Acceptance | None = None


class Transition(Strict):
    """`from_` lists stage names, or "*" for every open stage."""

    from_: list[str] = Field(alias="from", min_length=1)
    to: str
    when: list[EventKind | Literal["score_threshold"]] = Field(default_factory=list)
    # Richer rules (issue 19): the move happens only when every condition holds, else to `else_`
    # (or not at all); `after` moves a lead that sat that long in the stage without a touch.
    if_: Conditions = Field(default_factory=dict, alias="if")
    else_: str | None = Field(None, alias="else")
    after: Duration | None = None
    min_score: int | None = None
    # Which score categories count towards min_score (empty: all); PQL counts product only.
    score_categories: list[Literal["fit", "intent", "engagement", "product"]] = Field(
        default_factory=list
    )
    # The lead joins another playbook's motion (a trial that books a demo joins demo_led): `to`
    # names a stage of that playbook (config/playbook_catalog.py checks it).
    to_playbook: str | None = None


ScoreCategory = Literal["fit", "intent", "engagement", "product"]


class FitRule(Strict):
    attribute: str
    equals_any: list[str] = Field(default_factory=list)
    at_least: float | None = None
    points: int


class SignalRule(Strict):
    event: EventKind
    category: Literal["intent", "engagement", "product"]
    points: int


class Scoring(Strict):
    mql_threshold: int = 60
    fit: list[FitRule] = Field(default_factory=list)
    signals: list[SignalRule] = Field(default_factory=list)
    caps: dict[ScoreCategory, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    # Behavioural points halve every `half_life`; fit does not decay.
    half_life: Duration | None = None


class GradeRule(Strict):
    grade: Grade
    if_: Conditions = Field(alias="if", min_length=1)


class Grades(Strict):
    """A fit grade A-D: the first matching rule, else the highest grade whose threshold the fit
    score reaches (fit points, capped), else D."""

    thresholds: dict[Literal["A", "B", "C"], int] = Field(default_factory=dict)
    rules: list[GradeRule] = Field(default_factory=list)


class IcpRule(Strict):
    attribute: str
    equals_any: list[str] = Field(default_factory=list)
    at_least: float | None = None
    at_most: float | None = None


class Icp(Strict):
    """The ideal customer profile: a lead passes when every rule holds, fails when a known value
    breaks one, and is unknown while a value is missing. A failing lead cannot enter a `gate`
    stage: a person's command is refused, a fact or a score goes to `fail_to` (or waits)."""

    rules: list[IcpRule] = Field(min_length=1)
    gate: list[str] = Field(default_factory=list)
    fail_to: str | None = None


class NurturePath(Strict):
    name: str
    follow_up_after: Duration
    re_entry_on: list[EventKind] = Field(min_length=1)
    re_entry_stage: str


class ChangelogEntry(Strict):
    """One version's changes, in words a revenue team reads ("renamed 'Demo Scheduled' ...")."""

    version: str = Field(min_length=1)
    date: str = ""
    changes: list[str] = Field(min_length=1)


class Migration(Strict):
    """How leads of an older version move to this one: each stage this version no longer has
    (renamed, merged into another, removed) -> a stage of this version."""

    from_: str = Field(alias="from", min_length=1)  # the older `version:` (or its content hash)
    stages: dict[str, str] = Field(default_factory=dict)


class Playbook(Strict):
    name: str
    # A human version label ("v4"); every loaded playbook also has a content hash (playbook_hash).
    version: str | None = None
    description: str = ""
    initial_stage: str
    stages: list[Stage] = Field(min_length=1)
    transitions: list[Transition] = Field(min_length=1)
    scoring: Scoring = Scoring()
    disqualification_reasons: list[str] = Field(min_length=1)
    loss_reasons: list[str] = Field(default_factory=list)
    nurture_paths: list[NurturePath] = Field(default_factory=list)
    # Incoming event names (from product, Segment, forms) -> lifecycle events.
    event_map: dict[str, EventKind] = Field(default_factory=dict)
    # Who wins when a person sets a stage in a CRM that the playbook does not allow from the
    # lead's stage: leadflow (write its stage back, the default) or the CRM (adopt it anyway).
    conflict_policy: dict[Literal["hubspot", "salesforce"], Literal["leadflow_wins", "crm_wins"]] = Field(
        default_factory=dict
    )
    # Per system, per stage: the vendor fields to write (filled by the connectors).
    field_mapping: dict[Literal["hubspot", "salesforce"], dict[str, dict[str, str]]] = Field(
        default_factory=dict
    )
    # Teams and the rules that pick one when a lead enters a stage with an owner role.
    routing: Routing | None = None
    # Versions (config/playbook_versions.py): what changed, and how leads of older versions move.
    changelog: list[ChangelogEntry] = Field(default_factory=list)
    migrations: list[Migration] = Field(default_factory=list)
    # Issue 19: a fit grade beside the score, and an ICP gate.
    grades: Grades | None = None
    icp: Icp | None = None
    # Per lead field: its name in each vendor and who wins there (config/lead_fields.py). `if:`
    # conditions and grade rules may name these beside the standard fields (`{headcount: {}}`
    # declares a field no vendor carries; so does a plain list of names, `[headcount]`).
    fields: dict[str, LeadField] = Field(default_factory=dict)

    @field_validator("fields", mode="before")
    @classmethod
    def _names_declare_fields(cls, value: object) -> object:
        return {name: {} for name in value} if isinstance(value, list) else value
    # Accounts (config/accounts.py): the account's stages in order, the rules that move it and
    # route its leads, and the alias and sub-domains that belong to one account.
    account_stages: list[str] = Field(default_factory=list)
    account_rules: list[AccountRule] = Field(default_factory=list)
    account_domains: AccountDomains = Field(default_factory=dict)

    @property
    def accounts(self) -> Accounts:
        return Accounts(stages=self.account_stages, rules=self.account_rules,
                        domains=self.account_domains)

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    def nurture_path(self, name: str) -> NurturePath:
        for path in self.nurture_paths:
            if path.name == name:
                return path
        raise KeyError(name)

    def sources_of(self, transition: Transition) -> list[str]:
        if "*" in transition.from_:
            return [s.name for s in self.stages if s.kind == StageKind.OPEN]
        return transition.from_
