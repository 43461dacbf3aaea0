"""Patient links: an opaque random token per participant and timepoint, stored hashed.

A token carries >= 128 bits from ``secrets`` (TOKEN_BYTES = 18, 144 bits), so a plain SHA-256
is enough to store it: there is nothing to brute-force the way there is for a password. Only
the hash is stored, so a copy of the database cannot be turned into working links.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from storage import participants, tokens, write
from storage.audit import record
from storage.db import parse_utc

TOKEN_BYTES = 18
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{22,64}$")

UNKNOWN = "unknown"
NOT_YET_OPEN = "not_yet_open"
CLOSED = "closed"
INACTIVE = "inactive"
VALID = "valid"


class LinkError(ValueError):
    pass


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def issue_link(db, study_id: str, timepoint_id: str, *, actor: str, now: datetime) -> tuple[str, dict]:
    """A new token for one participant's timepoint, valid until its window closes."""
    with write(db):
        return create_link(db, study_id, timepoint_id, actor=actor, now=now)


def create_link(db, study_id: str, timepoint_id: str, *, actor: str, now: datetime) -> tuple[str, dict]:
    """As issue_link, inside the caller's write transaction."""
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
    if now >= closes_at:
        raise LinkError(f"the {timepoint_id} window for {study_id} closed at {window['closes_at']}")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    tokens.insert(db, token_hash=hash_token(token), participant_id=participant["id"],
                  timepoint=timepoint_id, created_at=now, expires_at=closes_at, created_by=actor)
    record(db, at=now, actor=actor, action="issue_link", entity="participant",
           entity_id=study_id, after={"timepoint": timepoint_id})
    return token, window


TOKEN_IN_TEXT = re.compile(r"/f/([A-Za-z0-9_-]{22,64})")


def token_in(text: str) -> str | None:
    """The first patient-link token in a text (an SMS body), if any."""
    found = TOKEN_IN_TEXT.search(text or "")
    return found.group(1) if found else None


def redact(text: str) -> str:
    """The text with every link token replaced, for storing and logging what was sent."""
    return TOKEN_IN_TEXT.sub("/f/<token>", text)


@dataclass(frozen=True)
class Link:
    state: str
    participant: dict | None = None
    window: dict | None = None


def resolve(db, token: str, now: datetime) -> Link:
    """What a token opens at ``now``. Anything malformed or unknown is simply UNKNOWN."""
    if not TOKEN_PATTERN.match(token or ""):
        return Link(UNKNOWN)
    row = tokens.by_hash(db, hash_token(token))
    if row is None:
        return Link(UNKNOWN)
    participant = participants.by_id(db, row["participant_id"])
    window = participants.timepoint(db, row["participant_id"], row["timepoint"])
    if participant["status"] != "active":
        return Link(INACTIVE, participant, window)
    if now < parse_utc(window["opens_at"]):
        return Link(NOT_YET_OPEN, participant, window)
    if now >= min(parse_utc(window["closes_at"]), parse_utc(row["expires_at"])):
        return Link(CLOSED, participant, window)
    return Link(VALID, participant, window)
