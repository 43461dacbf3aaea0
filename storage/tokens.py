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

import sqlite_utils

from storage.audit import record
from storage.db import utc_iso

TOKEN_BYTES = 18


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def mint(db: sqlite_utils.Database, *, participant: dict, timepoint: str, expires_at: datetime, actor: str,
         now: datetime) -> str:
    """A new token for one participant's timepoint, stored hashed and audited; returns the token.
    Call inside the caller's write transaction, after checking that a link may be issued."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    db["link_tokens"].insert({
        "token_hash": hash_token(token),
        "participant_id": participant["id"],
        "timepoint": timepoint,
        "created_at": utc_iso(now),
        "expires_at": utc_iso(expires_at),
        "created_by": actor,
    })
    record(db, at=now, actor=actor, action="issue_link", entity="participant",
           entity_id=participant["study_id"], after={"timepoint": timepoint})
    return token


def by_token(db: sqlite_utils.Database, token: str) -> dict | None:
    return next(db["link_tokens"].rows_where("token_hash = ?", [hash_token(token)]), None)


def move_expiry(db: sqlite_utils.Database, participant_id: int, timepoint: str, expires_at: datetime) -> None:
    """Links of a timepoint whose window moved (a new time zone) expire with the new window."""
    db.execute("UPDATE link_tokens SET expires_at = ? WHERE participant_id = ? AND timepoint = ?",
               [utc_iso(expires_at), participant_id, timepoint])


def set_language(db: sqlite_utils.Database, token: str, language: str) -> None:
    db.execute("UPDATE link_tokens SET language = ? WHERE token_hash = ?", [language, hash_token(token)])
