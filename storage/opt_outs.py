"""Numbers that replied STOP (or that the carrier reports as opted out): no SMS goes to them,
whoever is enrolled on them, until a START comes from the number."""
from __future__ import annotations

from datetime import datetime

import sqlite_utils

from storage.db import one, utc_iso

# For a query on participants p: whether p's number is blocked.
NUMBER_OPTED_OUT = "EXISTS (SELECT 1 FROM number_opt_outs o WHERE o.phone = p.phone)"


def block(db: sqlite_utils.Database, phone: str, *, reason: str, now: datetime) -> bool:
    """True when the number was not blocked before."""
    cursor = db.execute("INSERT OR IGNORE INTO number_opt_outs (phone, opted_out_at, reason) VALUES (?, ?, ?)",
                        [phone, utc_iso(now), reason])
    return cursor.rowcount == 1


def unblock(db: sqlite_utils.Database, phone: str) -> bool:
    return db.execute("DELETE FROM number_opt_outs WHERE phone = ?", [phone]).rowcount == 1


def blocked(db: sqlite_utils.Database, phone: str | None) -> dict | None:
    """The number's block (``opted_out_at``, ``reason``), or None when SMS may go to it."""
    if not phone:
        return None
    return one(db, "SELECT opted_out_at, reason FROM number_opt_outs WHERE phone = ?", [phone])
