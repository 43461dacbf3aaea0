"""When each timepoint is due and when its window opens and closes. Pure: takes ``now``.

Dates are calendar dates in the participant's IANA time zone. A window is whole local days:
it opens at local midnight at the start of its first day and closes at local midnight after
its last day, so "day1, 0 to +2 days" is open all of days 1, 2 and 3 after the procedure,
however the clocks change in between. Instants are returned in UTC.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from questionnaires.protocol import Protocol, Timepoint

UPCOMING = "upcoming"
OPEN = "open"
CLOSED = "closed"


@dataclass(frozen=True)
class Window:
    timepoint: str
    due_date: date
    opens_at: datetime   # UTC, inclusive
    closes_at: datetime  # UTC, exclusive

    def state(self, now: datetime) -> str:
        return window_state(now, self.opens_at, self.closes_at)


def window_state(now: datetime, opens_at: datetime, closes_at: datetime) -> str:
    """The one open-window rule: open from ``opens_at`` (inclusive) to ``closes_at`` (exclusive)."""
    if now < opens_at:
        return UPCOMING
    if now >= closes_at:
        return CLOSED
    return OPEN


def add_months(day: date, months: int) -> date:
    """Calendar months later, clamped to the month's end: 31 Jan + 1 month = 28/29 Feb."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_date(timepoint: Timepoint, procedure_date: date) -> date:
    return add_months(procedure_date, timepoint.offset_months) + timedelta(days=timepoint.offset_days)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant the local calendar day begins.

    Where a DST change skips midnight (clocks jump 00:00 -> 01:00), fold=0 reads 00:00 with
    the offset in force before the change, which is exactly the instant the day begins.
    """
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(timezone.utc)


def window_for(timepoint: Timepoint, procedure_date: date, zone: ZoneInfo) -> Window:
    due = due_date(timepoint, procedure_date)
    first_day = due - timedelta(days=timepoint.window_before_days)
    day_after_last = due + timedelta(days=timepoint.window_after_days + 1)
    return Window(timepoint.id, due, local_midnight(first_day, zone), local_midnight(day_after_last, zone))


def schedule(protocol: Protocol, procedure_date: date, zone: ZoneInfo) -> list[Window]:
    """Every timepoint's window for one participant, in protocol order."""
    return [window_for(tp, procedure_date, zone) for tp in protocol.timepoints]
