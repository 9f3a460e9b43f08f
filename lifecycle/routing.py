"""Routing: which team a lead goes to (first matching playbook rule), and which member of the
team gets it (account owner first, else weighted round robin with daily caps, away people
skipped). Pure; the team's router workflow keeps the rotation state and calls `pick_owner`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from config.playbook import Playbook
from config.routing import Member, Routing, RoutingRule
from lifecycle import effects as fx
from lifecycle.state import LeadState

MAX_ACCOUNTS = 5000  # remembered account owners per team; the oldest are forgotten first
Via = Literal["account", "rotation", "none"]
ROUTED_ROLES = ("sdr", "ae", "cs")  # marketing-owned stages stay with marketing


# -- which team ----------------------------------------------------------------------------

def choose_team(routing: Routing, role: str, fields: Mapping[str, str],
                account_domain: str | None = None) -> str:
    for rule in routing.rules:
        if (not rule.roles or role in rule.roles) and rule_matches(routing, rule, fields, account_domain):
            return rule.team
    return routing.role_defaults.get(role, routing.default_team)  # type: ignore[call-overload]


def rule_matches(routing: Routing, rule: RoutingRule, fields: Mapping[str, str],
                 account_domain: str | None) -> bool:
    checks = [
        _one_of(fields.get("region"), rule.region),
        _one_of(fields.get("country"), rule.country),
        _one_of(fields.get("industry"), rule.industry),
        not rule.size or _size_band(routing, fields.get("company_size")) in rule.size,
        not rule.product or bool(_products(fields) & {p.lower() for p in rule.product}),
        not rule.territory or any(_in_territory(routing, t, fields) for t in rule.territory),
        rule.named_accounts is None or _named(routing, rule.named_accounts, fields, account_domain),
        _one_of(fields.get("fit_grade"), rule.fit_grade),
    ]
    return all(checks)


def _one_of(value: str | None, allowed: list[str]) -> bool:
    return not allowed or (value or "").strip().lower() in {a.lower() for a in allowed}


def _size_band(routing: Routing, raw: str | None) -> str | None:
    try:
        size = int(float(raw or ""))
    except (ValueError, OverflowError):  # "abc", "nan"; "inf" and "1e400" overflow int()
        return None
    for name, band in routing.size_bands.items():
        if band.min <= size and (band.max is None or size <= band.max):
            return name
    return None


def _products(fields: Mapping[str, str]) -> set[str]:
    raw = fields.get("product_interest") or ""
    return {p.strip().lower() for p in raw.split(",") if p.strip()}


def _in_territory(routing: Routing, name: str, fields: Mapping[str, str]) -> bool:
    territory = routing.territories[name]
    state = (fields.get("state") or "").strip().upper()
    postal = (fields.get("postal_code") or "").strip().upper()
    return (bool(state) and state in {s.upper() for s in territory.states}) or (
        bool(postal) and any(postal.startswith(p.upper()) for p in territory.postal_prefixes))


def _named(routing: Routing, list_name: str, fields: Mapping[str, str], domain: str | None) -> bool:
    accounts = {a.lower() for a in routing.named_accounts[list_name]}
    candidates = {(domain or "").lower(), (fields.get("company_domain") or "").strip().lower()}
    return bool(candidates & accounts)


# -- which member --------------------------------------------------------------------------

class Person(BaseModel):
    """One person known by email in leadflow and by an id in each CRM."""

    email: str
    name: str = ""
    hubspot_id: str | None = None
    salesforce_id: str | None = None

    def ids(self) -> dict[str, str]:
        found = {"hubspot": self.hubspot_id, "salesforce": self.salesforce_id}
        return {vendor: value for vendor, value in found.items() if value}


class Seat(Person):
    """A team member as the router sees them: routing settings plus the rotation counter."""

    weight: int = 1
    daily_cap: int | None = None
    away_until: date | None = None
    active: bool = True  # false when the CRMs no longer know them
    current: int = 0  # smooth weighted round robin: the member with the highest current goes next

    @classmethod
    def of(cls, member: Member) -> Seat:
        return cls(email=member.email, name=member.name, weight=member.weight,
                   daily_cap=member.daily_cap, away_until=member.away_until)

    def away_on(self, today: date) -> bool:
        return self.away_until is not None and today < self.away_until


class Rotation(BaseModel):
    """A team's compact routing state, carried across continue-as-new."""

    seats: list[Seat] = Field(default_factory=list)
    day: date | None = None
    today: dict[str, int] = Field(default_factory=dict)  # assignments per member on `day`
    totals: dict[str, int] = Field(default_factory=dict)
    accounts: dict[str, str] = Field(default_factory=dict)  # account domain -> owner email

    def seat(self, email: str) -> Seat | None:
        email = email.strip().lower()
        return next((s for s in self.seats if s.email == email), None)


def eligible(rot: Rotation, seat: Seat, today: date, exclude: set[str]) -> bool:
    capped = seat.daily_cap is not None and rot.today.get(seat.email, 0) >= seat.daily_cap
    return seat.active and not seat.away_on(today) and seat.email not in exclude and not capped


def pick_owner(rot: Rotation, today: date, account: str | None = None,
               exclude: set[str] | None = None,
               over_cap: int | None = 0, account_owner: str | None = None) -> tuple[Seat | None, Via]:
    """Chooses and counts one assignment (mutates `rot`). The account's owner wins unless they
    are away, gone or excluded (a reassignment), or past their daily cap by more than `over_cap`
    leads (the team's account_owner_overrides_cap; None: no limit, as routers did before).
    `account_owner`: the account's owner of record, named by an account rule; it wins over the
    owner this team remembers for the account when it is a member of the team."""
    exclude = exclude or set()
    if rot.day != today:
        rot.day, rot.today = today, {}
    named = rot.seat(account_owner) if account_owner else None
    known = named or (rot.seat(rot.accounts.get(account, "")) if account else None)
    if known and known.active and not known.away_on(today) and known.email not in exclude \
            and _within_cap(rot, known, over_cap):
        return _count(rot, known, account), "account"
    candidates = [s for s in rot.seats if eligible(rot, s, today, exclude)]
    if not candidates:
        return None, "none"
    for seat in candidates:
        seat.current += seat.weight
    chosen = max(candidates, key=lambda s: s.current)  # the first on a tie: list order
    chosen.current -= sum(s.weight for s in candidates)
    return _count(rot, chosen, account), "rotation"


def _within_cap(rot: Rotation, seat: Seat, over_cap: int | None) -> bool:
    if over_cap is None or seat.daily_cap is None:
        return True
    return rot.today.get(seat.email, 0) < seat.daily_cap + over_cap


def _count(rot: Rotation, seat: Seat, account: str | None) -> Seat:
    rot.today[seat.email] = rot.today.get(seat.email, 0) + 1
    rot.totals[seat.email] = rot.totals.get(seat.email, 0) + 1
    if account:
        rot.accounts.pop(account, None)
        rot.accounts[account] = seat.email
        while len(rot.accounts) > MAX_ACCOUNTS:
            rot.accounts.pop(next(iter(rot.accounts)))
    return seat


# -- on the lead ---------------------------------------------------------------------------

def route_on_entry(pb: Playbook, state: LeadState) -> list[fx.Effect]:
    """Entering a stage with a sales owner role: route when the rules name another team."""
    role = pb.stage(state.stage).owner_role
    if pb.routing is None or role not in ROUTED_ROLES:
        return []
    fields = state.fields if state.fit_grade is None else {**state.fields, "fit_grade": state.fit_grade}
    team = choose_team(pb.routing, role, fields, state.account_domain)
    if team == state.team:
        return []
    state.team, state.manager, state.manager_ids = team, pb.routing.team(team).manager, {}
    return [fx.RouteLead(team=team, role=role)]


def assign(state: LeadState, team: str, owner: Person | None, manager: Person | None) -> LeadState:
    """The state with the router's answer: a None owner leaves the lead in the team's queue."""
    new = state.model_copy(deep=True)
    new.team = team
    new.owner = owner.email if owner else None
    new.owner_ids = owner.ids() if owner else {}
    if manager is not None:
        new.manager, new.manager_ids = manager.email, manager.ids()
    return new
