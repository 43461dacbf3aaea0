"""Windows in the participant's local calendar days; month ends clamp; DST is harmless."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from questionnaires import INSTRUMENTS
from questionnaires.protocol import DEFAULT_PROTOCOL_PATH, load_protocol
from scheduler.schedule import CLOSED, OPEN, UPCOMING, add_months, schedule, window_for

PROTOCOL = load_protocol(DEFAULT_PROTOCOL_PATH, INSTRUMENTS)
UTC = timezone.utc


@pytest.mark.parametrize("start,months,expected", [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2028, 1, 31), 1, date(2028, 2, 29)),
    (date(2026, 8, 31), 1, date(2026, 9, 30)),
    (date(2026, 11, 30), 3, date(2027, 2, 28)),
    (date(2026, 8, 31), 6, date(2027, 2, 28)),
    (date(2026, 3, 15), 6, date(2026, 9, 15)),
    (date(2026, 12, 1), 1, date(2027, 1, 1)),
])
def test_add_months_clamps_to_month_end(start, months, expected):
    assert add_months(start, months) == expected


def test_default_schedule_due_dates():
    windows = schedule(PROTOCOL, date(2026, 1, 31), ZoneInfo("UTC"))
    assert [(w.timepoint, w.due_date) for w in windows] == [
        ("baseline", date(2026, 1, 31)), ("day1", date(2026, 2, 1)), ("week1", date(2026, 2, 7)),
        ("month1", date(2026, 2, 28)), ("month3", date(2026, 4, 30)), ("month6", date(2026, 7, 31)),
    ]


def test_day1_window_is_three_whole_local_days_in_cairo():
    window = window_for(PROTOCOL.timepoint("day1"), date(2026, 3, 2), ZoneInfo("Africa/Cairo"))
    # Cairo is UTC+2 in March: local midnight 3 March is 22:00 UTC on 2 March.
    assert window.opens_at == datetime(2026, 3, 2, 22, 0, tzinfo=UTC)
    assert window.closes_at == datetime(2026, 3, 5, 22, 0, tzinfo=UTC)
    assert window.state(datetime(2026, 3, 2, 21, 59, tzinfo=UTC)) == UPCOMING
    assert window.state(datetime(2026, 3, 2, 22, 0, tzinfo=UTC)) == OPEN
    assert window.state(datetime(2026, 3, 5, 21, 59, 59, tzinfo=UTC)) == OPEN
    assert window.state(datetime(2026, 3, 5, 22, 0, tzinfo=UTC)) == CLOSED


def test_window_across_dst_change_keeps_local_midnights():
    # New York springs forward on 8 March 2026: the window opens at midnight EST (UTC-5)
    # and closes at midnight EDT (UTC-4), so it is 95 hours long, not 96.
    window = window_for(PROTOCOL.timepoint("week1"), date(2026, 3, 1), ZoneInfo("America/New_York"))
    assert window.due_date == date(2026, 3, 8)
    assert window.opens_at == datetime(2026, 3, 7, 5, 0, tzinfo=UTC)
    assert window.closes_at == datetime(2026, 3, 12, 4, 0, tzinfo=UTC)


def test_midnight_skipped_by_dst_starts_the_day_at_the_change():
    # Cairo's 2026 summer time starts at 00:00 on Friday 24 April (clocks go to 01:00).
    window = window_for(PROTOCOL.timepoint("day1"), date(2026, 4, 23), ZoneInfo("Africa/Cairo"))
    assert window.opens_at == datetime(2026, 4, 23, 22, 0, tzinfo=UTC)
