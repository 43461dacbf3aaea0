"""Where each participant stands at each timepoint, for the nurses. Pure: takes ``now``."""
from __future__ import annotations

from datetime import datetime

from scheduler.schedule import CLOSED as WINDOW_CLOSED
from scheduler.schedule import OPEN as WINDOW_OPEN
from scheduler.schedule import UPCOMING as WINDOW_UPCOMING
from scheduler.schedule import window_state

UPCOMING = "upcoming"
OPEN = "open"
COMPLETED = "completed"
OVERDUE = "overdue"          # open, reminded at least once, still not done
MISSED = "missed"            # the window closed before the forms were done
NOT_APPLICABLE = "not_applicable"  # withdrawn before it closed, or no schedule (no procedure date)

# Most urgent first: what a nurse can still save, then what needs a number fixed, then the rest.
URGENCY = (OVERDUE, OPEN, MISSED, UPCOMING, COMPLETED, NOT_APPLICABLE)


def timepoint_status(now: datetime, *, opens_at: datetime | None, closes_at: datetime | None,
                     completed_at: datetime | None, reminded: bool, withdrawn_at: datetime | None) -> str:
    if completed_at is not None:
        return COMPLETED
    if opens_at is None or closes_at is None:
        return NOT_APPLICABLE
    if withdrawn_at is not None and withdrawn_at < closes_at:
        return NOT_APPLICABLE
    state = window_state(now, opens_at, closes_at)
    if state == WINDOW_UPCOMING:
        return UPCOMING
    if state == WINDOW_CLOSED:
        return MISSED
    return OVERDUE if reminded else OPEN


def open_and_unfinished(now: datetime, *, opens_at: datetime | None, closes_at: datetime | None,
                        completed_at: datetime | None) -> bool:
    """Whether a timepoint's window is open now and its forms are not all in: a fresh link or a
    reminder can still help."""
    if completed_at is not None or opens_at is None or closes_at is None:
        return False
    return window_state(now, opens_at, closes_at) == WINDOW_OPEN
