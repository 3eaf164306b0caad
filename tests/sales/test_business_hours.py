import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sales.business_hours import WorkingWeek

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
WEEK = WorkingWeek(days=frozenset(range(5)), start_hour=9, end_hour=17, tz=BERLIN)


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def test_an_sla_inside_one_working_day_is_plain_addition():
    assert WEEK.add(berlin(2026, 11, 26, 10, 0), timedelta(hours=4)) == berlin(2026, 11, 26, 14, 0)


def test_an_sla_raised_late_in_the_day_carries_into_the_next_morning():
    assert WEEK.add(berlin(2026, 11, 26, 16, 0), timedelta(hours=4)) == berlin(2026, 11, 27, 12, 0)


def test_an_sla_raised_on_friday_evening_runs_from_monday_morning():
    assert WEEK.add(berlin(2026, 11, 27, 20, 0), timedelta(hours=4)) == berlin(2026, 11, 30, 13, 0)


def test_an_sla_raised_before_opening_starts_at_opening():
    assert WEEK.add(berlin(2026, 11, 26, 6, 30), timedelta(hours=1)) == berlin(2026, 11, 26, 10, 0)


def test_the_working_hours_are_local_across_a_daylight_saving_change():
    # Sunday 29 March 2026 the clocks go forward in Berlin; Monday still opens at 9.
    assert WEEK.add(berlin(2026, 3, 27, 16, 0), timedelta(hours=2)) == berlin(2026, 3, 30, 10, 0)


def test_a_week_with_no_working_day_is_refused():
    with pytest.raises(ValueError):
        WorkingWeek(days=frozenset(), start_hour=9, end_hour=17, tz=BERLIN)


@settings(max_examples=60, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
    minutes=st.integers(min_value=0, max_value=60 * 40),
)
def test_the_due_time_is_exactly_the_working_time_asked_for(start, minutes):
    due = WEEK.add(start, timedelta(minutes=minutes))
    assert due >= start
    assert WEEK.between(start, due) == timedelta(minutes=minutes)
