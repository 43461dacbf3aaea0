"""Staff accounts and login attempts."""
from __future__ import annotations

from datetime import datetime

import sqlite_utils

from storage.db import utc_iso


def by_email(db: sqlite_utils.Database, email: str) -> dict | None:
    return next(db["users"].rows_where("email = ?", [email]), None)


def by_id(db: sqlite_utils.Database, user_id: int) -> dict | None:
    return next(db["users"].rows_where("id = ?", [user_id]), None)


def insert(db: sqlite_utils.Database, *, email: str, password_hash: str, role: str, now: datetime) -> int:
    return db["users"].insert({"email": email, "password_hash": password_hash, "role": role,
                               "created_at": utc_iso(now)}).last_pk


def listing(db: sqlite_utils.Database) -> list[dict]:
    """Every account (never its password hash), active first, then by email, with the time of its
    last sign-in (None if never)."""
    cursor = db.conn.execute(
        "SELECT u.id, u.email, u.role, u.active, u.created_at, (SELECT MAX(a.at) FROM login_attempts a "
        "WHERE a.email = u.email AND a.success = 1) AS last_login FROM users u ORDER BY u.active DESC, u.email")
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def active_admins(db: sqlite_utils.Database) -> int:
    return db.conn.execute("SELECT COUNT(*) FROM users WHERE role = 'admin' AND active = 1").fetchone()[0]


def set_active(db: sqlite_utils.Database, user_id: int, active: bool) -> None:
    db.conn.execute("UPDATE users SET active = ? WHERE id = ?", (int(active), user_id))


def set_role(db: sqlite_utils.Database, user_id: int, role: str) -> None:
    db.conn.execute("UPDATE users SET role = ? WHERE id = ?", (role, user_id))


def revoke_sessions(db: sqlite_utils.Database, user_id: int) -> None:
    """End every session of this user, on every device: their cookies' version is now old."""
    db.execute("UPDATE users SET session_version = session_version + 1 WHERE id = ?", [user_id])


def set_password_hash(db: sqlite_utils.Database, user_id: int, password_hash: str) -> None:
    db.execute("UPDATE users SET password_hash = ? WHERE id = ?", [password_hash, user_id])


def record_attempt(db: sqlite_utils.Database, *, email: str, ip: str | None, now: datetime, success: bool) -> None:
    db["login_attempts"].insert({"email": email, "ip": ip, "at": utc_iso(now), "success": int(success)})


def recent_failures(db: sqlite_utils.Database, *, email: str, ip: str | None, since: datetime) -> tuple[int, int]:
    """Failed attempts since ``since``: (for this email, from this address)."""
    stamp = utc_iso(since)
    by_email_count = db.execute("SELECT COUNT(*) FROM login_attempts WHERE email = ? AND at >= ? AND success = 0",
                                [email, stamp]).fetchone()[0]
    by_ip_count = db.execute("SELECT COUNT(*) FROM login_attempts WHERE ip = ? AND at >= ? AND success = 0",
                             [ip, stamp]).fetchone()[0] if ip else 0
    return by_email_count, by_ip_count
