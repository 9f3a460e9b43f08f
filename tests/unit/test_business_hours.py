"""Business-hours arithmetic: weekends, holidays, time zones and DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.routing import TeamCalendar
from lifecycle.business_hours import add_business_time, business_time_between, next_opening

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
H = timedelta(hours=1)


def at(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)


def nine_to_five(tz: str = "America/New_York", **kw) -> TeamCalendar:  # type: ignore[no-untyped-def]
    return TeamCalendar(timezone=tz, **kw)


def test_friday_four_pm_plus_four_business_hours_is_monday_noon():
    cal = nine_to_five()
    due = add_business_time(cal, at(NY, 2026, 11, 20, 16), 4 * H)  # a Friday
    assert due == at(NY, 2026, 11, 23, 12)
    assert due.tzinfo == UTC


def test_within_one_day():
    cal = nine_to_five()
    assert add_business_time(cal, at(NY, 2026, 11, 18, 10), 4 * H) == at(NY, 2026, 11, 18, 14)


def test_outside_hours_waits_for_opening():
    cal = nine_to_five()
    assert add_business_time(cal, at(NY, 2026, 11, 18, 20), 2 * H) == at(NY, 2026, 11, 19, 11)
    assert add_business_time(cal, at(NY, 2026, 11, 21, 10), H) == at(NY, 2026, 11, 23, 10)  # Saturday
    assert next_opening(cal, at(NY, 2026, 11, 22, 3)) == at(NY, 2026, 11, 23, 9)


def test_ending_exactly_at_closing_time_stays_that_day():
    cal = nine_to_five()
    assert add_business_time(cal, at(NY, 2026, 11, 20, 16), H) == at(NY, 2026, 11, 20, 17)


def test_holidays_are_skipped():
    cal = nine_to_five(holidays=[date(2026, 11, 26), date(2026, 11, 27)])  # Thanksgiving + Friday
    due = add_business_time(cal, at(NY, 2026, 11, 25, 15), 4 * H)
    assert due == at(NY, 2026, 11, 30, 11)


def test_custom_days_and_hours():
    cal = nine_to_five("Asia/Dubai", days=["sun", "mon", "tue", "wed", "thu"],
                       start=time(8), end=time(16))
    dubai = ZoneInfo("Asia/Dubai")
    # Thursday 15:00 + 2h: Friday and Saturday off, Sunday 09:00
    assert add_business_time(cal, at(dubai, 2026, 11, 19, 15), 2 * H) == at(dubai, 2026, 11, 22, 9)


def test_same_instant_different_time_zones():
    utc_instant = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)  # Fri 16:00 NY, Fri 22:00 Berlin
    ny = add_business_time(nine_to_five(), utc_instant, 4 * H)
    berlin = add_business_time(nine_to_five("Europe/Berlin"), utc_instant, 4 * H)
    assert ny == at(NY, 2026, 11, 23, 12)
    assert berlin == at(BERLIN, 2026, 11, 23, 13)


def test_spring_forward_weekend_counts_wall_clock_hours():
    cal = nine_to_five("Europe/Berlin")
    friday = at(BERLIN, 2026, 3, 27, 16)  # CET, DST starts Sunday 29 March
    due = add_business_time(cal, friday, 4 * H)
    assert due == at(BERLIN, 2026, 3, 30, 12)  # CEST
    assert due - friday == timedelta(hours=67)  # one real hour shorter than the wall clock says
    assert business_time_between(cal, friday, due) == 4 * H


def test_fall_back_weekend_in_new_york():
    cal = nine_to_five()
    friday = at(NY, 2026, 10, 30, 15)  # EDT, DST ends Sunday 1 November
    due = add_business_time(cal, friday, 5 * H)
    assert due == at(NY, 2026, 11, 2, 12)  # EST
    assert due - friday == timedelta(hours=70)


def test_elapsed_business_time():
    cal = nine_to_five()
    assert business_time_between(cal, at(NY, 2026, 11, 20, 16), at(NY, 2026, 11, 23, 10)) == 2 * H
    assert business_time_between(cal, at(NY, 2026, 11, 21, 10), at(NY, 2026, 11, 22, 10)) == timedelta(0)
    assert business_time_between(cal, at(NY, 2026, 11, 23, 10), at(NY, 2026, 11, 20, 10)) == timedelta(0)


def test_bad_calendars_are_refused():
    with pytest.raises(ValueError, match="unknown IANA time zone"):
        TeamCalendar(timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="must be before"):
        TeamCalendar(start=time(17), end=time(9))


instants = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31),
                        timezones=st.just(UTC))
amounts = st.integers(min_value=0, max_value=60 * 80).map(lambda m: timedelta(minutes=m))
zones = st.sampled_from(["America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata"])


@settings(max_examples=150, deadline=None)
@given(start=instants, amount=amounts, tz=zones)
def test_adding_then_measuring_gives_the_amount_back(start, amount, tz):
    cal = nine_to_five(tz, holidays=[date(2026, 12, 25), date(2027, 1, 1)])
    due = add_business_time(cal, start, amount)
    assert due >= start
    assert business_time_between(cal, start, due) == amount
    local = due.astimezone(cal.zone)
    if amount:  # a positive amount always ends inside working hours
        assert cal.works_on(local.date()) and cal.start < local.time() <= cal.end
