"""Lead scoring: fit from attributes, intent/engagement/product from events, each point explained."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta

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
    # Behavioural points halve every half-life; fit does not decay. One loop without calls per
    # item: it runs for every event over up to MAX_SCORE_ITEMS items, thousands of times in a flood.
    half = scoring.half_life.total_seconds() if scoring.half_life is not None else None
    for item in [*fit_items(scoring, fields, now), *items]:
        category = item.category
        if wanted and category not in wanted:
            continue
        if category == "fit" or half is None:
            points = item.points
        else:
            age = (now - item.at).total_seconds()
            points = item.points * 0.5 ** ((age if age > 0.0 else 0.0) / half)
        by_category[category] = by_category.get(category, 0.0) + points
    return round(sum(min(v, scoring.caps.get(k, v)) for k, v in by_category.items()))  # type: ignore[call-overload]


# A lead with no event and no timer still loses behavioural points; it wakes to bring its score
# (the CRMs' lead_score, the LeadScore search attribute) down when about a point has decayed,
# at most every MIN_DECAY_WAIT and at least every MAX_DECAY_WAIT while points remain.
MIN_DECAY_WAIT = timedelta(hours=1)
MAX_DECAY_WAIT = timedelta(days=7)


def next_decay_at(scoring: Scoring, items: Iterable[ScoreItem], now: datetime) -> datetime | None:
    """When the decaying points will have lost about one point, from `now`: with D points
    decaying (each category under its cap), D halves every half-life, so D - 1 is reached after
    half_life * log2(D / (D - 1)); under one point, when D falls below half a point. Bounded to
    [MIN_DECAY_WAIT, MAX_DECAY_WAIT]; None when nothing decays (no half-life, under half a point).
    A capped category decays more slowly at first: waking early only finds less to change."""
    if scoring.half_life is None:
        return None
    half = scoring.half_life.total_seconds()
    by_category: dict[str, float] = {}
    for item in items:
        if item.category != "fit" and item.points > 0:
            age = (now - item.at).total_seconds()
            by_category[item.category] = by_category.get(item.category, 0.0) + (
                item.points * 0.5 ** ((age if age > 0.0 else 0.0) / half))
    left = sum(min(v, scoring.caps.get(k, v)) for k, v in by_category.items())  # type: ignore[call-overload]
    if left < 0.5:
        return None
    wait = half * math.log2(left / (left - 1)) if left > 1.0 else half * math.log2(2 * left)
    wait = min(max(wait, MIN_DECAY_WAIT.total_seconds()), MAX_DECAY_WAIT.total_seconds())
    return now + timedelta(seconds=wait)


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
