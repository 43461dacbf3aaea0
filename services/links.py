"""Patient links: issue one for a participant's timepoint, and say what a token opens now.

The token itself is made and stored hashed by storage.tokens; its URL shape is scheduler.links.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from scheduler.links import looks_like_token
from scheduler.schedule import CLOSED as WINDOW_CLOSED
from scheduler.schedule import OPEN as WINDOW_OPEN
from scheduler.schedule import UPCOMING as WINDOW_UPCOMING
from scheduler.schedule import window_state
from storage import participants, tokens, write
from storage.db import parse_utc

UNKNOWN = "unknown"
NOT_YET_OPEN = "not_yet_open"
CLOSED = "closed"
INACTIVE = "inactive"
VALID = "valid"
LATE = "late"          # answered inside the window, but arrived after its grace period


class LinkError(ValueError):
    pass


def issue_link(db, study_id: str, timepoint_id: str, *, actor: str, now: datetime) -> tuple[str, dict]:
    """A new token for one participant's timepoint, valid until its window closes; returns
    (token, the timepoint's window row). Raises LinkError when no link may be issued."""
    with write(db):
        participant = participants.by_study_id(db, study_id)
        if participant is None:
            raise LinkError(f"no participant {study_id!r}")
        if participant["status"] != "active":
            raise LinkError(f"{study_id} is {participant['status']}: no links are issued")
        window = participants.timepoint(db, participant["id"], timepoint_id)
        if window is None:
            if participant["procedure_date"] is None:
                raise LinkError(f"{study_id} has no procedure date, so no follow-up schedule")
            raise LinkError(f"{study_id} has no timepoint {timepoint_id!r}")
        closes_at = parse_utc(window["closes_at"])
        if window_state(now, parse_utc(window["opens_at"]), closes_at) == WINDOW_CLOSED:
            raise LinkError(f"the {timepoint_id} window for {study_id} closed at {window['closes_at']}")
        token = tokens.mint(db, participant=participant, timepoint=timepoint_id, expires_at=closes_at,
                            actor=actor, now=now)
    return token, window


class Link(NamedTuple):
    """What a token opens (``resolve``). A tuple, not a frozen dataclass: made on every patient
    request, and a frozen dataclass sets each field through object.__setattr__."""

    state: str
    participant: dict | None = None
    window: dict | None = None
    language: str | None = None     # the language of its pages: the patient's choice, else the participant's
    # The instruments answered at its timepoint when it was resolved (read with it, in one statement).
    received: frozenset[str] = frozenset()


def resolve(db, token: str, now: datetime, *, answered_at: datetime | None = None,
            grace: timedelta = timedelta(0)) -> Link:
    """What a token opens at ``now``. Anything malformed or unknown is simply UNKNOWN.

    ``answered_at`` is when a submission kept on the patient's phone was answered (checked
    against the page it was answered on by the caller). Arriving after the window closed, it
    is judged by that time instead, if it arrives within ``grace`` of the close: VALID when it
    was answered inside the window, LATE when it comes later than that.
    """
    if not looks_like_token(token):
        return Link(UNKNOWN)
    found = tokens.with_owner(db, token)
    if found is None:
        return Link(UNKNOWN)
    row, participant, window = found.link, found.participant, found.window
    return Link(_state(participant, window, row, now, answered_at, grace), participant, window,
                row["language"] or participant["language"], found.answered)


def _state(participant: dict, window: dict, row: dict, now: datetime, answered_at: datetime | None,
           grace: timedelta) -> str:
    """What a known link's token opens at ``now`` (``resolve`` says how)."""
    if participant["status"] != "active":
        return INACTIVE
    # A link expires with the window it was issued for, or earlier if the window moved.
    window_closes, expires_at = parse_utc(window["closes_at"]), parse_utc(row["expires_at"])
    if now >= expires_at and expires_at < window_closes:
        # Ended before its window, so revoked: nothing more is taken from it, not even in grace.
        return INACTIVE
    opens_at, closes_at = parse_utc(window["opens_at"]), min(window_closes, expires_at)
    state = window_state(now, opens_at, closes_at)
    if state == WINDOW_CLOSED and answered_at is not None and window_state(answered_at, opens_at, closes_at) == WINDOW_OPEN:
        return VALID if now < closes_at + grace else LATE
    if state == WINDOW_UPCOMING:
        return NOT_YET_OPEN
    if state == WINDOW_CLOSED:
        return CLOSED
    return VALID


def choose_language(db, token: str, language: str, offered: list[str], now: datetime) -> bool:
    """A patient switches the language of their link's pages; remembered for that link. False
    (and nothing changed) for a language the site does not offer or a link that cannot be used."""
    if language not in offered or resolve(db, token, now).state != VALID:
        return False
    with write(db):
        tokens.set_language(db, token, language)
    return True
