"""One-time links to set a staff password: made here, stored only as hashes.

A link's token is as random as a patient link's (storage.tokens.TOKEN_BYTES from ``secrets``) and
is hashed the same way (storage.tokens.hash_token), so a copy of the database holds no working
link. The plain token leaves ``issue`` once, to be shown to the admin who passes it on.

A link is open until it expires, is used, or is voided (a newer link for the same user, or the
user deactivated); the database keeps an ended link ended (m013_password_resets).
"""
from __future__ import annotations

import secrets
from datetime import datetime

import sqlite_utils

from storage.db import one, utc_iso
from storage.tokens import TOKEN_BYTES, hash_token


def issue(db: sqlite_utils.Database, *, user_id: int, expires_at: datetime, actor: str, now: datetime) -> str:
    """A new link for ``user_id``, voiding the user's older open ones; returns its token. Call
    inside the caller's write transaction."""
    void_open(db, user_id, now=now)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    db.conn.execute("INSERT INTO password_resets (user_id, token_hash, created_at, expires_at, created_by) "
                    "VALUES (?, ?, ?, ?, ?)", (user_id, hash_token(token), utc_iso(now), utc_iso(expires_at), actor))
    return token


def void_open(db: sqlite_utils.Database, user_id: int, *, now: datetime) -> int:
    """Void the user's links not yet used (expired or not); returns how many were still usable."""
    stamp = utc_iso(now)
    usable = db.conn.execute("SELECT COUNT(*) FROM password_resets WHERE user_id = ? AND used_at IS NULL "
                             "AND voided_at IS NULL AND expires_at > ?", (user_id, stamp)).fetchone()[0]
    db.conn.execute("UPDATE password_resets SET voided_at = ? WHERE user_id = ? AND used_at IS NULL "
                    "AND voided_at IS NULL", (stamp, user_id))
    return usable


def by_token(db: sqlite_utils.Database, token: str) -> dict | None:
    """The link a token opens, whatever its state, with its user's email, role and active flag."""
    return one(db, "SELECT r.*, u.email, u.role, u.active FROM password_resets r JOIN users u ON u.id = r.user_id "
                   "WHERE r.token_hash = ?", [hash_token(token)])


def mark_used(db: sqlite_utils.Database, reset_id: int, *, now: datetime) -> bool:
    """Use an open, unexpired link: True if this call used it, False if it had ended meanwhile.
    The one-time rule lives in this WHERE: of two uses of one link, only one can match."""
    stamp = utc_iso(now)
    cursor = db.conn.execute("UPDATE password_resets SET used_at = ? WHERE id = ? AND used_at IS NULL "
                             "AND voided_at IS NULL AND expires_at > ?", (stamp, reset_id, stamp))
    return cursor.rowcount == 1


def open_until(db: sqlite_utils.Database, *, now: datetime) -> dict[int, str]:
    """Each user's open link's expiry (user id -> the latest expires_at), for the accounts page."""
    rows = db.conn.execute("SELECT user_id, MAX(expires_at) FROM password_resets WHERE used_at IS NULL "
                           "AND voided_at IS NULL AND expires_at > ? GROUP BY user_id", (utc_iso(now),))
    return dict(rows.fetchall())
