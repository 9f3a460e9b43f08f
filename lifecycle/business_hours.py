"""Business-time arithmetic on a team calendar: working days and hours in the team's time zone,
holidays skipped. Pure; instants are aware datetimes and results are in UTC.

Each working day's window is built from local wall times and converted to UTC before any
arithmetic, so a day shortened or lengthened by a DST change counts what the clock on the office
wall shows, and elapsed time across the change is exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from config.routing import TeamCalendar

# A calendar that never works would loop forever; ten years of days is the search bound.
MAX_DAYS = 3660


def add_business_time(cal: TeamCalendar, at: datetime, amount: timedelta) -> datetime:
    """The instant `amount` of working time after `at` (waiting for opening hours first)."""
    remaining = amount
    if remaining <= timedelta(0):
        return at.astimezone(UTC)
    for opens, closes in _windows(cal, at):
        begin = max(opens, at)
        if begin >= closes:
            continue
        if remaining <= closes - begin:
            return begin + remaining
        remaining -= closes - begin
    raise ValueError(f"calendar has no working time within {MAX_DAYS} days of {at.isoformat()}")


def business_time_between(cal: TeamCalendar, start: datetime, end: datetime) -> timedelta:
    """Working time elapsed from `start` to `end` (zero when end is not after start)."""
    total = timedelta(0)
    if end <= start:
        return total
    for opens, closes in _windows(cal, start):
        if opens >= end:
            break
        overlap = min(closes, end) - max(opens, start)
        if overlap > timedelta(0):
            total += overlap
    return total


def next_opening(cal: TeamCalendar, at: datetime) -> datetime:
    """`at` itself during working hours, else when the team next opens."""
    for opens, closes in _windows(cal, at):
        if at < closes:
            return max(opens, at)
    raise ValueError(f"calendar has no working time within {MAX_DAYS} days of {at.isoformat()}")


def local_date(cal: TeamCalendar, at: datetime) -> date:
    return at.astimezone(cal.zone).date()


def _windows(cal: TeamCalendar, at: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Working windows (UTC) from the local day of `at` onwards."""
    zone = cal.zone
    day = local_date(cal, at)
    for _ in range(MAX_DAYS):
        if cal.works_on(day):
            opens = datetime.combine(day, cal.start, tzinfo=zone).astimezone(UTC)
            closes = datetime.combine(day, cal.end, tzinfo=zone).astimezone(UTC)
            yield opens, closes
        day += timedelta(days=1)
