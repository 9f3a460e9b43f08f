"""The playbook's account sections: `account_stages`, `account_rules` and `account_domains`.

An account is a company (one business email domain, plus the sub-domains and alias domains
`account_domains` maps to it). Its stage moves forward through `account_stages` by the first
`account_rules` whose condition holds ("demo completed for any lead -> Active Evaluation");
a rule can also raise the account's flags or send new leads to the account's owner ("an account
in Opportunity routes new leads to the account owner"). Validated by pydantic field by field;
`check_accounts` adds the whole-playbook rules (stages named exist, an alias maps to one account).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

AccountFlag = Literal["active_evaluation", "demo_completed"]
# A domain name (labels of letters, digits and hyphens) or `*.` and one: every sub-domain of it.
_DOMAIN = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AccountRule(_Strict):
    """When the condition holds (any of the account's leads reached one of `lead_reached`, by
    at least `min_leads` leads; or the account is in one of `account_in`), the effects apply:
    the account moves to `set_stage` (never back), raises `set_flags`, and with
    `route_to_owner` new leads of the account go to its owner of record."""

    name: str = ""
    lead_reached: list[str] = Field(default_factory=list)
    min_leads: int = Field(1, ge=1)
    account_in: list[str] = Field(default_factory=list)
    set_stage: str | None = None
    set_flags: list[AccountFlag] = Field(default_factory=list)
    route_to_owner: bool = False

    @model_validator(mode="after")
    def _shape(self) -> AccountRule:
        if bool(self.lead_reached) == bool(self.account_in):
            raise ValueError("needs exactly one condition: lead_reached or account_in")
        if self.set_stage is None and not self.set_flags and not self.route_to_owner:
            raise ValueError("does nothing: give set_stage, set_flags or route_to_owner")
        return self


def _domain(value: str) -> str:
    value = value.strip().lower()
    if not _DOMAIN.match(value):
        raise ValueError(f"{value!r} is not a domain name (e.g. acme.io, or *.acme.io for its "
                         "sub-domains)")
    return value


def _domains(value: dict[str, list[str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for account, aliases in value.items():
        if account.startswith("*."):
            raise ValueError(f"{account!r}: an account is one domain, not a pattern")
        out[_domain(account)] = [_domain(a) for a in aliases]
    return out


# account domain -> its alias domains and `*.` sub-domain patterns
AccountDomains = Annotated[dict[str, list[str]], AfterValidator(_domains)]


class Accounts(_Strict):
    """What a playbook says about accounts (its `account_*` keys); every part is optional."""

    stages: list[str] = Field(default_factory=list)
    rules: list[AccountRule] = Field(default_factory=list)
    domains: AccountDomains = Field(default_factory=dict)


def check_accounts(accounts: Accounts, lead_stages: Collection[str],
                   free_mail: Collection[str] = ()) -> list[tuple[str, str]]:
    """Whole-playbook rules; (field path, reason) pairs, paths as the YAML names them."""
    problems: list[tuple[str, str]] = []
    known = set(accounts.stages)
    if len(known) != len(accounts.stages):
        problems.append(("account_stages", "a stage is listed twice"))
    if accounts.rules and not accounts.stages:
        problems.append(("account_rules", "rules need account_stages (the account's stages, in order)"))
    for i, rule in enumerate(accounts.rules):
        where = f"account_rules[{i}]"
        for j, stage in enumerate(rule.lead_reached):
            if stage not in lead_stages:
                problems.append((f"{where}.lead_reached[{j}]", f"unknown lead stage {stage!r}"))
        for j, stage in enumerate(rule.account_in):
            if stage not in known:
                problems.append((f"{where}.account_in[{j}]", f"unknown account stage {stage!r}"))
        if rule.set_stage is not None and rule.set_stage not in known:
            problems.append((f"{where}.set_stage", f"unknown account stage {rule.set_stage!r}"))
        if rule.account_in and rule.set_stage is not None and known and rule.set_stage in known \
                and all(s in known for s in rule.account_in) \
                and accounts.stages.index(rule.set_stage) <= min(
                    accounts.stages.index(s) for s in rule.account_in):
            problems.append((f"{where}.set_stage", f"{rule.set_stage!r} is not past "
                             f"{', '.join(rule.account_in)}: accounts only move forward"))
    seen: dict[str, str] = {}
    for account, aliases in accounts.domains.items():
        if account in free_mail:
            problems.append((f"account_domains.{account}", "a free-mail domain is no account"))
        for alias in aliases:
            if alias in free_mail:
                problems.append((f"account_domains.{account}", f"{alias!r} is a free-mail domain"))
            if alias in accounts.domains:
                problems.append((f"account_domains.{account}",
                                 f"{alias!r} is an account of its own"))
            elif alias in seen and seen[alias] != account:
                problems.append((f"account_domains.{account}",
                                 f"{alias!r} is mapped to {seen[alias]!r} already"))
            seen.setdefault(alias, account)
    return problems
