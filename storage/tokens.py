"""Patient link tokens: made here, stored only as hashes.

A token carries 144 bits from ``secrets`` (TOKEN_BYTES = 18), so a plain SHA-256 is enough to
store it: there is nothing to brute-force the way there is for a password. Only the hash is
stored, so a copy of the database cannot be turned into working links. The plain token leaves
``mint`` once, to be sent, and is never written anywhere by this app.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import NamedTuple

import sqlite_utils

from storage.audit import Entry, record_many
from storage.db import utc_iso

TOKEN_BYTES = 18


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


class LinkRequest(NamedTuple):
    """One link to mint: whose, for which timepoint, expiring when."""

    participant: dict    # needs id and study_id
    timepoint: str
    expires_at: datetime


def mint(db: sqlite_utils.Database, *, participant: dict, timepoint: str, expires_at: datetime, actor: str,
         now: datetime) -> str:
    """A new token for one participant's timepoint, stored hashed and audited; returns the token.
    Call inside the caller's write transaction, after checking that a link may be issued."""
    return mint_many(db, [LinkRequest(participant, timepoint, expires_at)], actor=actor, now=now)[0]


def mint_many(db: sqlite_utils.Database, requests: list[LinkRequest], *, actor: str, now: datetime) -> list[str]:
    """``mint`` for several links at once (one executemany for the links, one for their audit
    entries); returns the tokens in order. The same rules: inside the caller's write
    transaction, after checking that each link may be issued."""
    tokens = [secrets.token_urlsafe(TOKEN_BYTES) for _ in requests]
    stamp = utc_iso(now)
    db.conn.executemany(
        "INSERT INTO link_tokens (token_hash, participant_id, timepoint, created_at, expires_at, created_by) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(hash_token(token), r.participant["id"], r.timepoint, stamp, utc_iso(r.expires_at), actor)
         for token, r in zip(tokens, requests)])
    record_many(db, [Entry(at=now, actor=actor, action="issue_link", entity="participant",
                           entity_id=r.participant["study_id"], after={"timepoint": r.timepoint})
                     for r in requests])
    return tokens


# What a link's pages read of its three rows (services.links.resolve, web.patient.routes,
# services.answers.submit), and all that ``with_owner`` reads: a participant row has some twenty
# columns, and reading them all, their names and a dict of each, was most of a submission's lookup.
# A page that needs another column adds it here.
LINK_COLUMNS = ("expires_at", "language")
PARTICIPANT_COLUMNS = ("id", "study_id", "status", "language", "timezone")
WINDOW_COLUMNS = ("id", "timepoint", "opens_at", "closes_at")
_LINK_END = 1 + len(LINK_COLUMNS)
_PARTICIPANT_END = _LINK_END + len(PARTICIPANT_COLUMNS)
# Between the instruments answered (ids never hold it).
_BETWEEN = "\x1f"
_WITH_OWNER = ("SELECT (SELECT group_concat(n.instrument, char(31)) FROM newest_answers n "
               "WHERE n.participant_id = t.participant_id AND n.timepoint = t.timepoint), "
               + ", ".join([*(f"t.{c}" for c in LINK_COLUMNS), *(f"p.{c}" for c in PARTICIPANT_COLUMNS),
                            *(f"w.{c}" for c in WINDOW_COLUMNS)])
               + " FROM link_tokens t JOIN participants p ON p.id = t.participant_id "
               "LEFT JOIN timepoints w ON w.participant_id = t.participant_id AND w.timepoint = t.timepoint "
               "WHERE t.token_hash = ?")


class Owned(NamedTuple):
    """What a link opens, as ``with_owner`` reads it: found by the token's hash, never the token."""

    link: dict                # its row in link_tokens: LINK_COLUMNS
    participant: dict         # its participant's row: PARTICIPANT_COLUMNS
    window: dict | None       # its timepoint's row: WINDOW_COLUMNS
    answered: frozenset[str]  # the instruments answered at that timepoint, as ``responses.instruments_in`` reads them


def with_owner(db: sqlite_utils.Database, token: str) -> Owned | None:
    """A link, whose it is and what is answered at its timepoint, in one statement (a patient's
    every page starts here); None for an unknown token."""
    cursor = db.conn.execute(_WITH_OWNER, [hash_token(token)])
    row = cursor.fetchone()
    cursor.close()
    if row is None:
        return None
    window = row[_PARTICIPANT_END:]
    return Owned(dict(zip(LINK_COLUMNS, row[1:_LINK_END])),
                 dict(zip(PARTICIPANT_COLUMNS, row[_LINK_END:_PARTICIPANT_END])),
                 dict(zip(WINDOW_COLUMNS, window)) if window[0] is not None else None,
                 frozenset(row[0].split(_BETWEEN)) if row[0] else frozenset())


def move_expiry(db: sqlite_utils.Database, participant_id: int, timepoint: str, expires_at: datetime) -> None:
    """Links of a timepoint whose window moved (a new time zone) expire with the new window."""
    db.execute("UPDATE link_tokens SET expires_at = ? WHERE participant_id = ? AND timepoint = ?",
               [utc_iso(expires_at), participant_id, timepoint])


def set_language(db: sqlite_utils.Database, token: str, language: str) -> None:
    db.execute("UPDATE link_tokens SET language = ? WHERE token_hash = ?", [language, hash_token(token)])
