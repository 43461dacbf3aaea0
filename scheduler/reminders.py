"""What reminder SMS to plan for a timepoint, and what to do with one that falls due. Pure.

Planning: the first SMS goes on the day the window opens, at the protocol's local send time;
each repeat goes ``repeat_after_days`` later at the same local time. A planned time at or after
the window's close is dropped. Local times are made with zoneinfo, so 10:00 stays 10:00 across
DST changes.

Deciding, when a planned reminder comes due (``decide``), in this order:
  cancel if the participant withdrew, opted out, has no usable number, completed the forms (or,
  for an SMS question, answered it), or the window closed, or a later reminder of the same
  timepoint is due too (it supersedes this);
  defer to the end of quiet hours if it is quiet now where the participant lives;
  otherwise send.

SMS questions (``asks_by_sms``): a participant a nurse marked "SMS answers" is asked the pain
question at SMS_QUESTION_TIMEPOINTS by an SMS to reply to, instead of being sent a link. Such a
reminder is decided by the same rules; it is done once the question is answered.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from questionnaires.protocol import ReminderPolicy, Timepoint, in_quiet_hours

SEND = "send"
DEFER = "defer"
CANCEL = "cancel"

WITHDRAWN = "withdrawn"
OPTED_OUT = "opted_out"
NO_PHONE = "no_phone"
BAD_NUMBER = "bad_number"
COMPLETED = "completed"
WINDOW_CLOSED = "window_closed"
SUPERSEDED = "superseded"
ANSWERED = "answered"

# Answers by SMS reply (issue 16): the timepoints whose pain question a participant marked "SMS
# answers" gets as an SMS, answered with a number from 0 to 10 (the VAS's numeric rating mode).
# The first two follow-ups, a day and a week after the procedure, when the pain changes fastest
# and the patient is least likely to come to the clinic; later ones keep their link.
SMS_QUESTION_TIMEPOINTS = ("day1", "week1")
SMS_QUESTION_INSTRUMENT = "vas"


def sms_question_at(answers_by_sms: bool, timepoint: Timepoint | None) -> bool:
    """Whether a participant's reminders at this timepoint are the SMS question, not a link."""
    return (answers_by_sms and timepoint is not None and timepoint.id in SMS_QUESTION_TIMEPOINTS
            and SMS_QUESTION_INSTRUMENT in timepoint.instruments)


@dataclass(frozen=True)
class Planned:
    attempt: int
    at: datetime  # UTC


def local_at(day: date, moment: time, zone: ZoneInfo) -> datetime:
    """UTC instant of a local wall-clock time. In the hour a DST change skips, fold=0 reads the
    time with the offset before the change, i.e. the wall clock's first moment after it."""
    return datetime.combine(day, moment, tzinfo=zone).astimezone(timezone.utc)


def next_allowed(moment: datetime, zone: ZoneInfo, policy: ReminderPolicy) -> datetime:
    """``moment`` itself if it is outside quiet hours, else the local end of quiet hours."""
    local = moment.astimezone(zone)
    if not in_quiet_hours(local.time(), policy):
        return moment
    day = local.date()
    if policy.quiet_start > policy.quiet_end and local.time() >= policy.quiet_start:
        day += timedelta(days=1)  # quiet hours run past midnight: they end tomorrow morning
    return local_at(day, policy.quiet_end, zone)


def plan(policy: ReminderPolicy, opens_at: datetime, closes_at: datetime, zone: ZoneInfo) -> list[Planned]:
    """The reminder times for one window, attempt 1 first."""
    first_day = opens_at.astimezone(zone).date()
    planned = []
    for attempt, days in enumerate((0, *policy.repeat_after_days), start=1):
        at = max(local_at(first_day + timedelta(days=days), policy.send_time, zone), opens_at)
        at = next_allowed(at, zone, policy)
        if at < closes_at:
            planned.append(Planned(attempt, at))
    return planned


@dataclass(frozen=True)
class Situation:
    """Everything ``decide`` needs to know about one due reminder, read from storage."""

    now: datetime
    zone: ZoneInfo
    closes_at: datetime
    withdrawn: bool
    opted_out: bool
    phone: str | None
    phone_problem: str | None
    completed: bool
    later_attempt_due: bool
    answered: bool = False   # a planned SMS question whose answer is in: nothing is left to ask


@dataclass(frozen=True)
class Decision:
    action: str
    reason: str | None = None
    until: datetime | None = None


def decide(policy: ReminderPolicy, situation: Situation) -> Decision:
    s = situation
    for reason, applies in (
        (WITHDRAWN, s.withdrawn),
        (OPTED_OUT, s.opted_out),
        (NO_PHONE, not s.phone),
        (BAD_NUMBER, bool(s.phone_problem)),
        (COMPLETED, s.completed),
        (ANSWERED, s.answered),
        (WINDOW_CLOSED, s.now >= s.closes_at),
        (SUPERSEDED, s.later_attempt_due),
    ):
        if applies:
            return Decision(CANCEL, reason)
    allowed = next_allowed(s.now, s.zone, policy)
    if allowed > s.now:
        if allowed >= s.closes_at:
            return Decision(CANCEL, WINDOW_CLOSED)
        return Decision(DEFER, until=allowed)
    return Decision(SEND)
