"""The playbook's `routing:` section: teams (members, weights, caps, manager, calendar) and the
first-matching rules that send a lead to a team. Validated by pydantic; `check_routing` adds the
whole-section rules (every team a rule names exists, ...)."""

from __future__ import annotations

from collections import Counter
from datetime import date, time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

OwnerRole = Literal["marketing", "sdr", "ae", "cs"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TeamCalendar(_Strict):
    """When a team works: business-hours SLAs only count this time."""

    timezone: str = "UTC"
    days: list[Weekday] = Field(default=["mon", "tue", "wed", "thu", "fri"], min_length=1)
    start: time = time(9)
    end: time = time(17)
    holidays: list[date] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _hours(self) -> TeamCalendar:
        if self.start >= self.end:
            raise ValueError(f"start {self.start} must be before end {self.end}")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def works_on(self, day: date) -> bool:
        return WEEKDAYS[day.weekday()] in self.days and day not in self.holidays


class Member(_Strict):
    email: str = Field(min_length=3)
    name: str = ""
    weight: int = Field(1, ge=1)
    daily_cap: int | None = Field(None, ge=0)
    away_until: date | None = None  # back on this date

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.strip().lower()


class Team(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    roles: list[OwnerRole] = Field(default_factory=list)
    manager: str | None = None
    calendar: TeamCalendar = TeamCalendar()
    members: list[Member] = Field(default_factory=list)
    # How many leads a day an account's owner may take beyond their daily cap because the lead
    # belongs to their account (default 0: caps hold for account owners too).
    account_owner_overrides_cap: int = Field(0, ge=0)


class SizeBand(_Strict):
    min: int = 0
    max: int | None = None  # inclusive; None: no upper bound


class Territory(_Strict):
    states: list[str] = Field(default_factory=list)
    postal_prefixes: list[str] = Field(default_factory=list)


class RoutingRule(_Strict):
    """Matches when every condition given matches (an empty list means any value)."""

    team: str
    roles: list[OwnerRole] = Field(default_factory=list)
    region: list[str] = Field(default_factory=list)
    country: list[str] = Field(default_factory=list)
    industry: list[str] = Field(default_factory=list)
    size: list[str] = Field(default_factory=list)  # size band names
    product: list[str] = Field(default_factory=list)
    territory: list[str] = Field(default_factory=list)  # territory names
    named_accounts: str | None = None  # a list name under routing.named_accounts
    fit_grade: list[Literal["A", "B", "C", "D"]] = Field(default_factory=list)  # issue 19


class Routing(_Strict):
    default_team: str
    role_defaults: dict[OwnerRole, str] = Field(default_factory=dict)
    size_bands: dict[str, SizeBand] = Field(default_factory=dict)
    territories: dict[str, Territory] = Field(default_factory=dict)
    named_accounts: dict[str, list[str]] = Field(default_factory=dict)
    rules: list[RoutingRule] = Field(default_factory=list)
    teams: list[Team] = Field(min_length=1)

    def team(self, name: str) -> Team:
        for team in self.teams:
            if team.name == name:
                return team
        raise KeyError(name)


def check_routing(routing: Routing) -> list[tuple[str, str]]:
    """Whole-section rules; (field path, reason) pairs under `routing.`."""
    problems: list[tuple[str, str]] = []
    names = [t.name for t in routing.teams]
    for name, count in Counter(names).items():
        if count > 1:
            problems.append(("routing.teams", f"duplicate team {name!r}"))
    known = set(names)
    if routing.default_team not in known:
        problems.append(("routing.default_team", f"unknown team {routing.default_team!r}"))
    for role, team in routing.role_defaults.items():
        if team not in known:
            problems.append((f"routing.role_defaults.{role}", f"unknown team {team!r}"))
    for i, rule in enumerate(routing.rules):
        problems += _check_rule(routing, i, rule, known)
    for i, entry in enumerate(routing.teams):
        emails = [m.email for m in entry.members]
        for email, count in Counter(emails).items():
            if count > 1:
                problems.append((f"routing.teams[{i}].members", f"duplicate member {email!r}"))
    return problems


def _check_rule(routing: Routing, i: int, rule: RoutingRule, known: set[str]) -> list[tuple[str, str]]:
    where = f"routing.rules[{i}]"
    problems = []
    if rule.team not in known:
        problems.append((f"{where}.team", f"unknown team {rule.team!r}"))
    for band in rule.size:
        if band not in routing.size_bands:
            problems.append((f"{where}.size", f"unknown size band {band!r}"))
    for territory in rule.territory:
        if territory not in routing.territories:
            problems.append((f"{where}.territory", f"unknown territory {territory!r}"))
    if rule.named_accounts is not None and rule.named_accounts not in routing.named_accounts:
        problems.append((f"{where}.named_accounts", f"unknown account list {rule.named_accounts!r}"))
    return problems
