"""Facts about the whole database, as key and value: for example that it holds the demo trial."""
from __future__ import annotations

from datetime import datetime

import sqlite_utils

from storage.db import utc_iso

DEMO = "demo"  # present when this database was made by `flask demo`: its data are synthetic


def get(db: sqlite_utils.Database, key: str) -> str | None:
    row = next(db.query("SELECT value FROM trial_settings WHERE key = ?", [key]), None)
    return None if row is None else row["value"]


def put(db: sqlite_utils.Database, key: str, value: str, *, actor: str, now: datetime) -> None:
    db.execute("INSERT INTO trial_settings (key, value, set_at, set_by) VALUES (?, ?, ?, ?) "
               "ON CONFLICT (key) DO UPDATE SET value = excluded.value, set_at = excluded.set_at, "
               "set_by = excluded.set_by", [key, value, utc_iso(now), actor])


def ping(db: sqlite_utils.Database) -> None:
    """Raises when the database cannot be read (missing, locked past the busy timeout, corrupt)."""
    db.execute("SELECT COUNT(*) FROM trial_settings").fetchone()
