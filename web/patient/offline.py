"""What a form carries so that it can be answered with no connection and sent later.

Every form page holds a stamp: the time the server served it, and an HMAC (Flask's secret key,
through itsdangerous) binding that time to the link's token and the form. When JavaScript runs,
the page adds a random submission key and the time the patient answered (static/patient.js).

- The key makes a submission sent twice the same answer: "already received", never stored twice.
- The answer time is believed only between the signed time the page was served and now, so a
  stamp from another link, another form, or another server cannot carry it, and a time moved
  outside that span is refused. ``links.resolve`` then judges a late arrival by it.

A page without these fields (one opened before this existed, or sent without JavaScript) is
judged as it always was: no key, and the time it arrives.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

from flask import current_app
from itsdangerous import Signer

from web.patient.forms import posted

SALT = "spine-pro.patient-form-stamp"
KEY_PATTERN = re.compile(r"[0-9a-f]{32}")        # 128 random bits, as the page makes them
MILLISECONDS = re.compile(r"[0-9]{1,13}")   # up to the year 2286: no datetime overflow
# The phone reports when it was answered on its own clock, corrected by how far that clock was
# from the server's when the page last came from the server. What the correction cannot see (the
# time a page takes to arrive, a clock adjusted since) is allowed for, then clamped away.
CLOCK_SLACK = timedelta(minutes=5)

# Why a submission's offline fields are refused (the patient is told "this page was changed").
MALFORMED_KEY = "malformed_key"
FORGED_STAMP = "forged_stamp"
BAD_ANSWER_TIME = "bad_answer_time"


class Sent(NamedTuple):
    """What a submission says about itself; ``problem`` is set (and nothing else is to be
    believed) when one of its fields is malformed, forged or out of range. (A tuple: made for
    every submission, cheaper than a frozen dataclass.)"""

    key: str | None = None
    answered_at: datetime | None = None
    problem: str | None = None


def _signer() -> Signer:
    return Signer(current_app.config["SECRET_KEY"], salt=SALT)


def _message(token: str, instrument: str, served_ms: int) -> str:
    return f"{token}/{instrument}/{served_ms}"


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _instant(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def stamp(token: str, instrument: str, now: datetime) -> str:
    """The stamp a form page carries: '<served, ms since 1970>.<signature>'."""
    served = _ms(now)
    signature = _signer().get_signature(_message(token, instrument, served)).decode("ascii")
    return f"{served}.{signature}"


def served_at(value: str, token: str, instrument: str) -> datetime | None:
    """When the page with this stamp was served, or None if the stamp is not ours for this
    token and form."""
    served, _, signature = value.partition(".")
    if not MILLISECONDS.fullmatch(served) or not signature:
        return None
    if not _signer().verify_signature(_message(token, instrument, int(served)), signature):
        return None
    return _instant(int(served))


def read(form, token: str, instrument: str, now: datetime) -> Sent:
    """The key and answer time of a posted form, checked against its stamp and ``now``."""
    key = posted(form, "submission_key", "")
    stamp_value = posted(form, "stamp", "")
    answered = posted(form, "answered_at", "")
    if key and not KEY_PATTERN.fullmatch(key):
        return Sent(problem=MALFORMED_KEY)
    served = served_at(stamp_value, token, instrument) if stamp_value else None
    if stamp_value and served is None:
        return Sent(problem=FORGED_STAMP)
    if not answered:
        return Sent(key or None)
    if served is None or not MILLISECONDS.fullmatch(answered):
        return Sent(problem=BAD_ANSWER_TIME)
    answered_at = _instant(int(answered))
    if not served - CLOCK_SLACK <= answered_at <= now + CLOCK_SLACK:
        return Sent(problem=BAD_ANSWER_TIME)
    return Sent(key or None, min(max(answered_at, served), now))
