"""Lead scoring: fit from attributes, intent/engagement/product from events, each point explained."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from config.playbook import FitRule, Scoring
from lifecycle.events import EventKind, LeadEvent
from lifecycle.state import ScoreItem


def signal_items(scoring: Scoring, event: LeadEvent) -> list[ScoreItem]:
    """Points an event earns. Email opens earn nothing, whatever a playbook says."""
    if event.kind == EventKind.EMAIL_OPEN:
        return []
    return [
        ScoreItem(category=rule.category, points=rule.points, at=event.occurred_at,
                  reason=f"{event.kind.value}{_named(event)}", event_id=event.event_id)
        for rule in scoring.signals
        if rule.event == event.kind and rule.points
    ]


def fit_items(scoring: Scoring, fields: dict[str, str], at: datetime) -> list[ScoreItem]:
    return [
        ScoreItem(category="fit", points=rule.points, at=at, reason=_fit_reason(rule, fields))
        for rule in scoring.fit
        if _fits(rule, fields.get(rule.attribute))
    ]


def total_score(
    scoring: Scoring,
    fields: dict[str, str],
    items: Iterable[ScoreItem],
    now: datetime,
    categories: Iterable[str] = (),
) -> int:
    """The score at `now`: decayed behavioural points plus fit, each category under its cap."""
    wanted = set(categories)
    by_category: dict[str, float] = {}
    for item in [*fit_items(scoring, fields, now), *items]:
        if wanted and item.category not in wanted:
            continue
        by_category[item.category] = by_category.get(item.category, 0.0) + _decayed(
            scoring, item, now
        )
    return round(sum(min(v, scoring.caps.get(k, v)) for k, v in by_category.items()))  # type: ignore[call-overload]


def _decayed(scoring: Scoring, item: ScoreItem, now: datetime) -> float:
    if item.category == "fit" or scoring.half_life is None:
        return item.points
    age = max((now - item.at).total_seconds(), 0.0)
    return item.points * 0.5 ** (age / scoring.half_life.total_seconds())


def _fits(rule: FitRule, value: str | None) -> bool:
    if value is None:
        return False
    if rule.equals_any:
        return value.strip().lower() in {v.lower() for v in rule.equals_any}
    try:
        return rule.at_least is not None and float(value) >= rule.at_least
    except ValueError:
        return False


def _fit_reason(rule: FitRule, fields: dict[str, str]) -> str:
    return f"{rule.attribute} = {fields.get(rule.attribute)}"


def _named(event: LeadEvent) -> str:
    return f" ({event.name})" if event.name and event.name != event.kind.value else ""
