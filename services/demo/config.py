"""The demo trial's cast and settings: who takes part, how they are reached, what they do. Pure."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sms.gateway import ConsoleGateway

DEMO_SEED = 20260302
PARTICIPANTS = 200
# Procedures over the past eight months, and a few booked for the coming week (baseline done).
SPAN_DAYS = 240
AHEAD_DAYS = 7
# The allocation list per stratum: the 1-2 puncture stratum takes about 72 % of 200 (paper, Table 2).
PER_STRATUM = 250
# Puncture points 1-6: the paper's roots injected, 71.5 % 1-2, 23 % 3-4, 5.5 % 5-6.
PUNCTURE_WEIGHTS = (36, 35.5, 11.5, 11.5, 3, 2.5)
ZONE = ZoneInfo("Africa/Cairo")
LANGUAGE = "en"
# Made-up Egyptian mobile numbers, +20 10 0123 0001 and on (valid for libphonenumber). They may
# belong to real people: the demo is for the console gateway only (web/cli/demo.py checks).
PHONE_FORMAT = "+20100123{:04d}"
LINK_PHONE_FORMAT = "+20100129{:04d}"
GATEWAY = ConsoleGateway.name

# Demo staff accounts; their password is printed by `flask demo` (never do this in a real trial).
STAFF = (("nurse@demo.example", "nurse"), ("investigator@demo.example", "investigator"),
         ("admin@demo.example", "admin"))
PASSWORD = "demo-password-123"
NURSE, INVESTIGATOR, ADMIN = (email for email, _ in STAFF)
MARKER = "synthetic data made by `flask demo` (seed {seed})"

# Who answers: most patients answer nearly every follow-up, one in five about half of them.
RELIABLE_RATE, UNRELIABLE_RATE, UNRELIABLE_SHARE = 0.93, 0.6, 0.2
# Which SMS a patient answers after (first, second, third), and how long after.
ATTEMPT_WEIGHTS = (65, 25, 10)
DELIVERY_DELAY = timedelta(seconds=8)
SECONDS_PER_FORM = 50
OPT_OUTS = 6            # about 3 % reply STOP
REPLIES = (             # free-text SMS for the nurses' inbox
    "I can't open the link",
    "Who is this?",
    "Is this from the hospital? The pain came back last week, can someone call me?",
    "مين معايا؟",                              # Who is this?
    "اللينك مش بيفتح معايا",                    # The link does not open for me
    "ممكن حد يكلمني؟ الألم رجع تاني",            # Can someone call me? The pain is back
)
WITHDRAWALS = ("Moved abroad; asked to stop follow-up", "Had surgery at another hospital")
# The three participants whose links `flask demo` prints: (study id, punctures, procedure day
# relative to today, days enrolled before the procedure, the timepoint left open to try).
LINK_PARTICIPANTS = (("DEMO-001", 2, 0, 0, "baseline"), ("DEMO-002", 3, -1, 3, "day1"),
                     ("DEMO-003", 5, -30, 5, "month1"))
LINK_IDS = frozenset(study_id for study_id, *_ in LINK_PARTICIPANTS)



class DemoError(ValueError):
    pass


@dataclass(frozen=True)
class Person:
    """One demo participant, decided before anything is stored."""

    study_id: str
    punctures: int
    phone: str
    procedure_date: date
    enrolled_at: datetime
    answer_rate: float = 1.0
    opts_out: bool = False
    withdrawal: str | None = None       # the reason, if they withdraw
    reply: str | None = None            # a free-text SMS they send the nurses
    open_from: str | None = None        # this timepoint and later are left unanswered (the links)


@dataclass(frozen=True)
class Summary:
    per_arm: dict[str, int]
    answers: int
    enrolled: int                       # by this run


@dataclass(frozen=True)
class DemoLink:
    study_id: str
    timepoint: str
    procedure_date: date
    token: str | None
    problem: str | None = None


@dataclass
class Texts:
    """How a reminder reads: the SMS composer and the link URL of the app (as the dispatcher's)."""

    compose: Callable[[dict, str], str]
    link_url: Callable[[str], str]


def local_today(now: datetime) -> date:
    return now.astimezone(ZONE).date()


def local_instant(day: date, at: time, *, minutes: int = 0) -> datetime:
    return (datetime.combine(day, at, tzinfo=ZONE) + timedelta(minutes=minutes)).astimezone(timezone.utc)
